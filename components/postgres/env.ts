/**
 * The PostgreSQL connection contract, as plain strings: what every implementation (Azure Flexible Server,
 * StackGres) hands an application, and how it is rendered into environment variables and a URL.
 * Pure: the same functions feed the deployed Secrets, the tests against a real server and the sandbox.
 */

/** libpq `sslmode` values the platform hands out (never weaker than `require`). */
export type SslMode = "require" | "verify-ca" | "verify-full";

/** Where a PostgreSQL service listens. */
export interface PostgresEndpoint {
    readonly host: string;
    /** Port of PostgreSQL itself (administration, migrations that need session state). */
    readonly port: number;
    /** Port of the connection pooler, when the service has one; applications use it. */
    readonly poolerPort?: number;
    readonly sslMode: SslMode;
}

/** One application's login and database. */
export interface PostgresLogin {
    readonly database: string;
    readonly user: string;
    readonly password: string;
}

/** The environment keys of the contract, in the order they are documented. */
export const POSTGRES_ENV_KEYS = [
    "DB_HOST",
    "DB_PORT",
    "DB_NAME",
    "DB_USER",
    "DB_PASSWORD",
    "DB_SSL_MODE",
    "DB_POOL_MAX",
    "DATABASE_URL",
] as const;
export type PostgresEnvKey = (typeof POSTGRES_ENV_KEYS)[number];

/** Keys whose values carry the password. */
export const POSTGRES_SECRET_ENV_KEYS: readonly PostgresEnvKey[] = ["DB_PASSWORD", "DATABASE_URL"];

/** The port applications connect to: the pooler when there is one. */
export function applicationPort(endpoint: PostgresEndpoint): number {
    return endpoint.poolerPort ?? endpoint.port;
}

/**
 * Percent-encodes everything but RFC 3986 unreserved characters, so any password survives in the userinfo
 * part of a URL for every parser (libpq, node-postgres, JDBC wrappers, Go's net/url).
 */
export function percentEncode(value: string): string {
    return Array.from(new TextEncoder().encode(value), (byte) => {
        const c = String.fromCharCode(byte);
        return /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    }).join("");
}

/** `postgresql://user:password@host:port/database?sslmode=...`, user, password and database percent-encoded. */
export function databaseUrl(endpoint: PostgresEndpoint, login: PostgresLogin): string {
    const host = endpoint.host.includes(":") ? `[${endpoint.host}]` : endpoint.host;
    return (
        `postgresql://${percentEncode(login.user)}:${percentEncode(login.password)}@${host}:${applicationPort(endpoint)}` +
        `/${percentEncode(login.database)}?sslmode=${endpoint.sslMode}`
    );
}

/** The application's PostgreSQL environment. `poolMax` is the size of one replica's connection pool. */
export function postgresEnv(
    endpoint: PostgresEndpoint,
    login: PostgresLogin,
    poolMax: number,
): Record<PostgresEnvKey, string> {
    return {
        DB_HOST: endpoint.host,
        DB_PORT: String(applicationPort(endpoint)),
        DB_NAME: login.database,
        DB_USER: login.user,
        DB_PASSWORD: login.password,
        DB_SSL_MODE: endpoint.sslMode,
        DB_POOL_MAX: String(poolMax),
        DATABASE_URL: databaseUrl(endpoint, login),
    };
}
