/** The credentials the PostgreSQL service needs, by id (each id is also its Key Vault secret name). Pure. */
import type { PlatformConfig } from "../config/types";
import type { Rotation, Rotations } from "../config/keyVault";

/** The administrator: Azure's admin login, or the StackGres superuser. */
export const PG_ADMIN_CREDENTIAL = "pg-admin";
/** StackGres' streaming-replication role. */
export const PG_REPLICATION_CREDENTIAL = "pg-replication";
/** StackGres' PgBouncer `auth_user`. */
export const PG_AUTHENTICATOR_CREDENTIAL = "pg-authenticator";
/** The monitoring login postgres_exporter connects as (azure mode, `postgres.azure.monitoring`). */
export const PG_MONITOR_CREDENTIAL = "pg-monitor";

/** Whether the program runs its own postgres_exporter, with its monitoring login (StackGres runs its own sidecar). */
export function azureMonitoring(config: PlatformConfig): boolean {
    return config.postgres.mode === "azure" && config.postgres.azure.monitoring;
}

/**
 * The password of an application's first login (its owning role itself). Its rotation value
 * (`keyVault.rotations.pg-app-<app>`) is the login generation of the application (see `loginGeneration`).
 */
export function pgAppCredentialId(appName: string): string {
    return `pg-app-${appName}`;
}

/**
 * The password of an application's alternate login (`<role>_alt`). Never rotated by its own key: it follows the
 * generation of `pg-app-<app>`. `pg-alt-` cannot clash with `pg-app-<name>` for any application name.
 */
export function pgAltCredentialId(appName: string): string {
    return `pg-alt-${appName}`;
}

/** Every credential id of the PostgreSQL service for this configuration. */
export function postgresCredentialIds(config: PlatformConfig): string[] {
    const internal =
        config.postgres.mode === "stackgres" ? [PG_REPLICATION_CREDENTIAL, PG_AUTHENTICATOR_CREDENTIAL] : [];
    return [
        PG_ADMIN_CREDENTIAL,
        ...internal,
        ...(azureMonitoring(config) ? [PG_MONITOR_CREDENTIAL] : []),
        ...config.apps.flatMap((a) => [pgAppCredentialId(a.name), pgAltCredentialId(a.name)]),
    ];
}

/**
 * The login generation of an application: 0 until its `pg-app-<app>` rotation value is first set, then that number.
 * Generation n hands out login n mod 2 (0: the owning role, 1: `<role>_alt`) with a password new in generation n; the
 * other login keeps the password of generation n-1. So raising the number by one changes only the password of the
 * login no running consumer uses, and the previous login keeps working until the next rotation (alternating users).
 */
export function loginGeneration(rotations: Rotations, appName: string): number {
    return rotations[pgAppCredentialId(appName)]?.generation ?? 0;
}

/**
 * The generation whose password login `slot` (0 or 1) holds at generation `generation`: the latest one at or before it
 * that handed out that slot (generation 0 hands out slot 0, and slot 1 holds its never-used initial password).
 */
function slotGeneration(generation: number, slot: 0 | 1): number {
    const latest = generation % 2 === slot ? generation : generation - 1;
    return Math.max(latest, 0);
}

/**
 * The rotation values to give `Credentials` (its `RandomPassword` keepers): `keyVault.rotations` with each application's
 * two login passwords keyed by the generation they hold instead of the raw generation. A slot holding generation 0 has
 * no entry (never rotated), so the keepers of stacks that never rotated stay as they were; the owning role's login
 * keeps the free-form value it had before generations (`legacyValue`), so its password in use stays too.
 */
export function credentialRotations(config: PlatformConfig): Record<string, Rotation> {
    const rotations: Record<string, Rotation> = { ...config.keyVault.rotations };
    for (const app of config.apps) {
        const own = config.keyVault.rotations[pgAppCredentialId(app.name)];
        const generation = own?.generation ?? 0;
        [pgAppCredentialId(app.name), pgAltCredentialId(app.name)].forEach((id, slot) => {
            const g = slotGeneration(generation, slot as 0 | 1);
            if (g > 0) {
                rotations[id] = { generation: g };
            } else if (slot === 0 && own?.legacyValue !== undefined) {
                rotations[id] = { generation: 0, legacyValue: own.legacyValue };
            } else {
                delete rotations[id];
            }
        });
    }
    return rotations;
}
