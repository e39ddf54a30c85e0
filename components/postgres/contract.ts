/**
 * PostgreSQL's part of the application contract: when `DB_CA_CERT` is handed out, and what the README says about
 * each key. Pure; the keys themselves and their rendering are `env.ts`'s.
 */
import type { PostgresConfig } from "../config/postgres";
import { type ContractKey, type KeyDocs, PEM_EXAMPLE, type ServiceContract } from "../serviceModule";
import { azureRootCertificates } from "./azureSpec";
import { postgresServerSettings } from "./servers";
import { POSTGRES_SECRET_ENV_KEYS, type PostgresEnvKey, postgresEnvKeys } from "./env";

/** What decides PostgreSQL's key set: whether the server's CA is known. */
export interface PostgresShape {
    /** `DB_CA_CERT`: always on Azure, with `postgres.stackgres.tls` on StackGres. */
    readonly postgresCaCert: boolean;
}

/**
 * The PEM of the CA(s) the server's certificate chains to, when known: Azure's public roots, or the cert-manager
 * issuer's CA on StackGres (`postgres.stackgres.tls`; without it the operator signs its own and no CA is handed out).
 */
export function postgresCaCert(postgres: Pick<PostgresConfig, "mode" | "stackgres">): string | undefined {
    return postgres.mode === "azure" ? azureRootCertificates() : postgres.stackgres.tls?.caCert;
}

/** Whether applications get `DB_CA_CERT`. */
export function postgresHandsOutCa(postgres: Pick<PostgresConfig, "mode" | "stackgres">): boolean {
    return postgresCaCert(postgres) !== undefined;
}

/** What the README says about each PostgreSQL key; typed by the postgres contract, so keys cannot drift. */
const POSTGRES_DOCS: Readonly<Record<PostgresEnvKey, KeyDocs>> = {
    DB_HOST: { description: "Server host name.", example: "appdb.data-platform.svc.cluster.local" },
    DB_PORT: { description: "Port to connect to (the pooler's when there is one).", example: "5432" },
    DB_NAME: { description: "The application's database.", example: "orders" },
    DB_USER: { description: "The application's login role (owner of its database).", example: "orders" },
    DB_PASSWORD: { description: "Its password (raw, not encoded).", example: "(generated)" },
    DB_SSL_MODE: { description: "libpq `sslmode` the client must use.", example: "require" },
    DB_POOL_MAX: {
        description:
            "Connections one replica may open (`apps[].poolSize`); the server's connection budget counts on it.",
        example: "10",
    },
    DB_POOL_IDLE_TIMEOUT: {
        description: "Milliseconds an idle pooled connection is kept (node-postgres `idleTimeoutMillis`).",
        example: "600000",
    },
    DB_POOL_CONNECTION_TIMEOUT: {
        description: "Milliseconds to wait for a new connection (node-postgres `connectionTimeoutMillis`).",
        example: "30000",
    },
    DATABASE_URL: {
        description:
            "The same as one libpq URI; user, password and database percent-encoded, `sslmode` set and nothing else (what each client adds to verify the server: `DATABASE_URL` per client). With `apps[].postgres.urlFormat: node-postgres`, node-postgres' own `sslmode` instead.",
        example: "postgresql://orders:p%40ss@appdb.data-platform.svc.cluster.local:5432/orders?sslmode=require",
    },
    DB_DIRECT_PORT: {
        description:
            "Port of PostgreSQL itself, past any pooler, for sessions that keep state: migrations with advisory locks, `LISTEN`.",
        example: "5433",
    },
    DATABASE_DIRECT_URL: {
        description: "`DATABASE_URL` with `DB_DIRECT_PORT` (equal to it when there is no pooler).",
        example: "postgresql://orders:p%40ss@appdb.data-platform.svc.cluster.local:5433/orders?sslmode=require",
    },
    PGHOST: { description: "libpq's `PGHOST`: `DB_HOST`.", example: "appdb.data-platform.svc.cluster.local" },
    PGPORT: {
        description:
            "libpq's `PGPORT`: `DB_DIRECT_PORT`, PostgreSQL itself (psql and pg_dump keep session state a pooler would lose).",
        example: "5433",
    },
    PGDATABASE: { description: "libpq's `PGDATABASE`: `DB_NAME`.", example: "orders" },
    PGUSER: { description: "libpq's `PGUSER`: `DB_USER`.", example: "orders" },
    PGPASSWORD: {
        description: "libpq's `PGPASSWORD`: `DB_PASSWORD`, so psql and pg_dump never prompt.",
        example: "(generated)",
    },
    PGSSLMODE: { description: "libpq's `PGSSLMODE`: `DB_SSL_MODE`.", example: "require" },
    DB_CA_CERT: {
        description:
            "PEM of the CA(s) the server certificate chains to, for `verify-full` (Azure's public roots; the issuer's CA on StackGres).",
        example: PEM_EXAMPLE,
    },
};

export const postgresContract: ServiceContract<PostgresShape> = {
    shapes: [{ postgresCaCert: true }, { postgresCaCert: false }],
    shape: (config, server) => ({
        postgresCaCert: postgresHandsOutCa(postgresServerSettings(config.postgres, server)),
    }),
    keys: (shape): ContractKey[] =>
        postgresEnvKeys(shape.postgresCaCert).map((key) => ({
            key,
            service: "postgres",
            secret: POSTGRES_SECRET_ENV_KEYS.includes(key),
            ...POSTGRES_DOCS[key],
        })),
    conditions: [
        {
            present: "PostgreSQL CA known (Azure; StackGres with `postgres.stackgres.tls`)",
            holds: (shape) => shape.postgresCaCert,
        },
    ],
};
