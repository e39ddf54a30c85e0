/** The credentials the PostgreSQL service needs, by id (each id is also its Key Vault secret name). Pure. */
import type { PostgresConfig } from "../config/postgres";
import type { PlatformConfig, ServerConfig } from "../config/types";
import { postgresNames, postgresServerConfig, postgresServers } from "./servers";
import type { Rotation, Rotations } from "../config/keyVault";

/** The default server's credential ids (`postgresNames`), as the tests and the testbed's single server use them. */
const DEFAULT_IDS = postgresNames({}).credentials;
export const PG_ADMIN_CREDENTIAL = DEFAULT_IDS.admin;
export const PG_REPLICATION_CREDENTIAL = DEFAULT_IDS.replication;
export const PG_AUTHENTICATOR_CREDENTIAL = DEFAULT_IDS.authenticator;
export const PG_MONITOR_CREDENTIAL = DEFAULT_IDS.monitor;

/** Whether the program runs its own postgres_exporter, with its monitoring login (StackGres runs its own sidecar). */
export function azureMonitoring(postgres: Pick<PostgresConfig, "mode" | "azure">): boolean {
    return postgres.mode === "azure" && postgres.azure.monitoring;
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

/** Every credential id of one server: its roles, and its applications' logins. */
function serverCredentialIds(config: ServerConfig): string[] {
    const ids = postgresNames(config.postgres).credentials;
    const internal = config.postgres.mode === "stackgres" ? [ids.replication, ids.authenticator] : [];
    return [
        ids.admin,
        ...internal,
        ...(azureMonitoring(config.postgres) ? [ids.monitor] : []),
        ...config.apps.flatMap((a) => [pgAppCredentialId(a.name), pgAltCredentialId(a.name)]),
    ];
}

/**
 * Every credential id of the PostgreSQL service: each server's. An application's logins keep their ids on any server
 * (`pg-app-<app>`), so a move keeps its passwords.
 */
export function postgresCredentialIds(config: PlatformConfig): string[] {
    return postgresServers(config.postgres).flatMap((server) =>
        serverCredentialIds(postgresServerConfig(config, server)),
    );
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

/**
 * The key of tenant stack `suffix`'s login Jobs (`tenantLoginSuffix`): their digests and SCRAM salts are keyed by it,
 * as the platform's are by its admin's password, which a tenant stack never reads. One per tenant stack (Key Vault
 * names are shared by every stack of the vault).
 */
export function pgTenantKeyCredentialId(suffix: string): string {
    return `pg-tenant-key-${suffix}`;
}
