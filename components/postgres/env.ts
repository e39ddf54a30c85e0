/**
 * The PostgreSQL connection contract, as plain strings: what every implementation (Azure Flexible Server,
 * StackGres) hands an application, and how it is rendered into environment variables and a URL.
 * Pure: the same functions feed the deployed Secrets, the tests against a real server and the sandbox.
 */
import type { AppConfig, UrlFormat } from "../config/platform";

/**
 * libpq `sslmode` values the platform hands out: never weaker than `require`, but `disable` to an application that
 * asked (`apps[].postgres.tls: false`).
 */
export type SslMode = "disable" | "require" | "verify-ca" | "verify-full";

/** Where a PostgreSQL service listens. */
export interface PostgresEndpoint {
    readonly host: string;
    /** Port of PostgreSQL itself (administration, migrations that need session state). */
    readonly port: number;
    /** Port of the connection pooler, when the service has one; applications use it. */
    readonly poolerPort?: number;
    readonly sslMode: SslMode;
    /**
     * PEM of the CA(s) the server certificate chains to, when known (Azure's public roots, the cert-manager
     * issuer's CA on StackGres); without it clients cannot verify the server and `DB_CA_CERT` is not handed out.
     */
    readonly caCert?: string;
    /** The CA is a public root clients' own stores hold (Azure's); unset: a private issuer's. */
    readonly caIsPublic?: boolean;
}

/**
 * The URL's `sslmode`. For node-postgres: `verify-full` where its store holds the CA; else `no-verify`, encrypted and
 * unverified as libpq's `require` is (pg-connection-string's own word, which both its 2.6 in knex and 2.14 read;
 * libpq refuses it).
 */
function urlSslMode(endpoint: PostgresEndpoint, format: UrlFormat): string {
    if (format === "libpq" || endpoint.sslMode === "disable") {
        return endpoint.sslMode;
    }
    return endpoint.caIsPublic ? "verify-full" : "no-verify";
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
    "DB_POOL_IDLE_TIMEOUT",
    "DB_POOL_CONNECTION_TIMEOUT",
    "DATABASE_URL",
    "DB_DIRECT_PORT",
    "DATABASE_DIRECT_URL",
    "PGHOST",
    "PGPORT",
    "PGDATABASE",
    "PGUSER",
    "PGPASSWORD",
    "PGSSLMODE",
] as const;
/** Keys only some endpoints have: the CA exists only where the server's issuer is known. */
export const POSTGRES_OPTIONAL_ENV_KEYS = ["DB_CA_CERT"] as const;
export type PostgresEnvKey = (typeof POSTGRES_ENV_KEYS)[number] | (typeof POSTGRES_OPTIONAL_ENV_KEYS)[number];

/** The keys an endpoint hands out: every `POSTGRES_ENV_KEYS`, and `DB_CA_CERT` when its CA is known. */
export function postgresEnvKeys(withCaCert: boolean): readonly PostgresEnvKey[] {
    return withCaCert ? [...POSTGRES_ENV_KEYS, ...POSTGRES_OPTIONAL_ENV_KEYS] : POSTGRES_ENV_KEYS;
}

export type PostgresEnv = Record<(typeof POSTGRES_ENV_KEYS)[number], string> & { readonly DB_CA_CERT?: string };

/** Keys whose values carry the password. */
export const POSTGRES_SECRET_ENV_KEYS: readonly PostgresEnvKey[] = [
    "DB_PASSWORD",
    "DATABASE_URL",
    "DATABASE_DIRECT_URL",
    "PGPASSWORD",
];

/**
 * Pool timeouts handed out in milliseconds under seed 003's names, so its node-postgres Pool reads them unchanged:
 * idle connections go back after 10 minutes (PgBouncer's own `server_idle_timeout` default is the same 600 s), and a
 * connection attempt gives up after 30 s, long enough for a PgBouncer or Patroni restart, short of a hung request.
 */
export const POOL_IDLE_TIMEOUT_MS = 600_000;
export const POOL_CONNECTION_TIMEOUT_MS = 30_000;

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

/**
 * `postgresql://user:password@host:port/database?sslmode=...`, user, password and database percent-encoded;
 * `port` defaults to the application port.
 */
export function databaseUrl(
    endpoint: PostgresEndpoint,
    login: PostgresLogin,
    port = applicationPort(endpoint),
    format: UrlFormat = "libpq",
): string {
    const host = endpoint.host.includes(":") ? `[${endpoint.host}]` : endpoint.host;
    return (
        `postgresql://${percentEncode(login.user)}:${percentEncode(login.password)}@${host}:${port}` +
        `/${percentEncode(login.database)}?sslmode=${urlSslMode(endpoint, format)}`
    );
}

/**
 * What an application says of its clients (`apps[].postgres`): who reads its URLs, and whether they speak TLS (not with
 * `tls: false`, again with `retirePlain`).
 */
export type PostgresClients = Pick<NonNullable<AppConfig["postgres"]>, "urlFormat" | "tls" | "retirePlain">;

/**
 * The application's PostgreSQL environment. `poolMax` is the size of one replica's connection pool; `clients` who
 * reads its URLs (the other keys are libpq's words whatever it is) and whether they go without TLS.
 */
export function postgresEnv(
    server: PostgresEndpoint,
    login: PostgresLogin,
    poolMax: number,
    clients: PostgresClients = {},
): PostgresEnv {
    const plain = clients.tls === false && !clients.retirePlain;
    const endpoint: PostgresEndpoint = plain ? { ...server, sslMode: "disable" } : server;
    const urlFormat = clients.urlFormat ?? "libpq";
    return {
        DB_HOST: endpoint.host,
        DB_PORT: String(applicationPort(endpoint)),
        DB_NAME: login.database,
        DB_USER: login.user,
        DB_PASSWORD: login.password,
        DB_SSL_MODE: endpoint.sslMode,
        DB_POOL_MAX: String(poolMax),
        DB_POOL_IDLE_TIMEOUT: String(POOL_IDLE_TIMEOUT_MS),
        DB_POOL_CONNECTION_TIMEOUT: String(POOL_CONNECTION_TIMEOUT_MS),
        DATABASE_URL: databaseUrl(endpoint, login, applicationPort(endpoint), urlFormat),
        // PostgreSQL itself, past the pooler: session state (advisory locks, LISTEN, SET) survives between statements.
        DB_DIRECT_PORT: String(endpoint.port),
        DATABASE_DIRECT_URL: databaseUrl(endpoint, login, endpoint.port, urlFormat),
        // libpq's own variables, so psql, pg_dump and libpq programs need nothing else (libpq-envars). Its tools keep
        // session state (pg_dump's snapshot, psql's SET), so they reach PostgreSQL itself, past the pooler.
        PGHOST: endpoint.host,
        PGPORT: String(endpoint.port),
        PGDATABASE: login.database,
        PGUSER: login.user,
        PGPASSWORD: login.password,
        PGSSLMODE: endpoint.sslMode,
        ...(endpoint.caCert !== undefined ? { DB_CA_CERT: endpoint.caCert } : {}),
    };
}
