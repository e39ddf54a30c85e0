/**
 * Names the pack shares with the program. The pack is published alone (`pulumi policy publish` packs only this
 * folder), so it cannot import them from components/; tests/unit/policy/policy.test.ts asserts each equals the program's.
 */

/** Namespace annotation with the PostgreSQL connections an application may open (components/labels.ts). */
export const CONNECTION_DEMAND_ANNOTATION = "data-platform.io/connection-demand";

/**
 * Each PostgreSQL server's login Job Secret (the admin's password and every login's SCRAM verifier), which is also the
 * name of its service account (components/postgres/servers.ts `postgresNames(...).logins`): `postgres-logins`, and
 * `postgres-<server>-logins` for a named server.
 */
export const LOGIN_JOB_SECRET_PATTERN = /^postgres(-[a-z][a-z0-9]*)?-logins$/;

/**
 * The Key Vault secret of a Redis group's Sentinel client password (components/redis/credentials.ts
 * `redisRoleCredentials(...).sentinelClient`, after the vault's prefix): `redis-sentinel-auth`, `redis-<group>-...`.
 */
export const SENTINEL_CLIENT_SECRET_PATTERN = /(^|-)redis(-[a-z][a-z0-9-]*)?-sentinel-auth$/;

/** Namespace annotation with the PostgreSQL server an application's database is on (a named one; unset: the stack's
 *  own), and the tag (Azure) or label (StackGres) of that server's resources (components/labels.ts). */
export const POSTGRES_SERVER_ANNOTATION = "data-platform.io/postgres-server";
/** The same on a named server's Azure resource: Azure tag names cannot contain `/` (Microsoft, "Use tags to organize
 *  your Azure resources": limitations). */
export const POSTGRES_SERVER_TAG = "data-platform-postgres-server";
