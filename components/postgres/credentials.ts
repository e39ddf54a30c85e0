/** The credentials the PostgreSQL service needs, by id (each id is also its Key Vault secret name). Pure. */
import type { PlatformConfig } from "../config/types";

/** The administrator: Azure's admin login, or the StackGres superuser. */
export const PG_ADMIN_CREDENTIAL = "pg-admin";
/** StackGres' streaming-replication role. */
export const PG_REPLICATION_CREDENTIAL = "pg-replication";
/** StackGres' PgBouncer `auth_user`. */
export const PG_AUTHENTICATOR_CREDENTIAL = "pg-authenticator";

/** The login of one application. */
export function pgAppCredentialId(appName: string): string {
    return `pg-app-${appName}`;
}

/** Every credential id of the PostgreSQL service for this configuration. */
export function postgresCredentialIds(config: PlatformConfig): string[] {
    const internal =
        config.postgres.mode === "stackgres" ? [PG_REPLICATION_CREDENTIAL, PG_AUTHENTICATOR_CREDENTIAL] : [];
    return [PG_ADMIN_CREDENTIAL, ...internal, ...config.apps.map((a) => pgAppCredentialId(a.name))];
}
