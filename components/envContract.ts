/**
 * The application contract as data: which environment variables every application gets, where they come
 * from, and how they are assembled, checked and stored. README, tests and components all use these lists.
 * No resource code here.
 */
import * as pulumi from "@pulumi/pulumi";
import type { Env } from "./interfaces";
import type { AppConfig } from "./config/platform";
import type { PlatformConfig } from "./config/types";
import type { RedisMode } from "./config/redis";
import { POSTGRES_SECRET_ENV_KEYS, PostgresEnvKey, postgresEnvKeys } from "./postgres/env";
import {
    REDIS_CA_ENV_KEY,
    REDIS_PER_DATABASE_ENV_KEYS,
    REDIS_SECRET_ENV_KEYS,
    REDIS_SENTINEL_ENV_KEYS,
    REDIS_STANDALONE_ENV_KEYS,
    redisExtraEnvKey,
    redisExtraEnvKeys,
    redisHandsOutCa,
} from "./redis/env";

export type ContractService = "postgres" | "redis";

/** What decides a stack's key set: the Redis mode, and which services' CAs are known. */
export interface ContractShape {
    readonly redisMode: RedisMode;
    /** `DB_CA_CERT`: always on Azure, with `postgres.stackgres.tls` on StackGres. */
    readonly postgresCaCert: boolean;
    /** `REDIS_CA_CERT`: `redis.tls` with `redis.tlsCaCert`. */
    readonly redisCaCert: boolean;
}

export function contractShape(config: Pick<PlatformConfig, "postgres" | "redis">): ContractShape {
    return {
        redisMode: config.redis.mode,
        postgresCaCert: config.postgres.mode === "azure" || config.postgres.stackgres.tls !== undefined,
        redisCaCert: redisHandsOutCa(config.redis),
    };
}

export interface ContractKey {
    readonly key: string;
    readonly service: ContractService;
    /** Holds a password (or a URL containing one): always a secret value. */
    readonly secret: boolean;
    readonly description: string;
    readonly example: string;
}

type KeyDocs = Omit<ContractKey, "key" | "service" | "secret">;

const PEM_EXAMPLE = "-----BEGIN CERTIFICATE-----\\n...";

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
        description: "The same as one URI; user, password and database percent-encoded, `sslmode` set.",
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
    DB_CA_CERT: {
        description:
            "PEM of the CA(s) the server certificate chains to, for `verify-full` (Azure's public roots; the issuer's CA on StackGres).",
        example: PEM_EXAMPLE,
    },
};

type RedisEnvKey =
    | (typeof REDIS_SENTINEL_ENV_KEYS)[number]
    | (typeof REDIS_STANDALONE_ENV_KEYS)[number]
    | typeof REDIS_CA_ENV_KEY;

/** What the README says about each Redis key; typed by the redis contract, so keys cannot drift. */
const REDIS_DOCS: Readonly<Record<RedisEnvKey, KeyDocs>> = {
    REDIS_SENTINEL_HOSTS: {
        description: "Comma-separated `host:port` of every Sentinel.",
        example: "redis-sentinel-0.redis-sentinel.data-platform.svc.cluster.local:26379,...",
    },
    REDIS_SENTINEL_MASTER: { description: "Master group name to ask the Sentinels for.", example: "redis-primary" },
    REDIS_USERNAME: { description: "The application's ACL user.", example: "orders" },
    REDIS_PASSWORD: { description: "Its password.", example: "(generated)" },
    REDIS_DB: { description: "Its logical database index (`apps[].redisDb`, never 0).", example: "1" },
    REDIS_SENTINEL_PASSWORD: { description: "Password the Sentinels require from clients.", example: "(generated)" },
    REDIS_TLS: { description: "`true` when Redis (and Sentinel) require TLS.", example: "true" },
    REDIS_URL: {
        description: "`redis[s]://user:password@host:port/db`, user and password percent-encoded.",
        example: "redis://orders:p%40ss@redis.data-platform.svc.cluster.local:6379/1",
    },
    REDIS_CA_CERT: {
        description: "PEM of the CA that signs the Redis and Sentinel certificates (`redis.tlsCaCert`).",
        example: PEM_EXAMPLE,
    },
};

/** What the README says about the keys of an extra database, by the key of the application's own database they mirror. */
const REDIS_EXTRA_DOCS: Readonly<Record<string, KeyDocs>> = {
    REDIS_USERNAME: {
        description: "ACL user of the extra database `<name>` (`<app>-<name>`).",
        example: "orders-cache",
    },
    REDIS_PASSWORD: { description: "Its password.", example: "(generated)" },
    REDIS_DB: { description: "Its database index (`apps[].redisExtraDatabases[].db`).", example: "5" },
    REDIS_URL: {
        description: "`REDIS_URL` of the extra database `<name>`, with its user.",
        example: "redis://orders-cache:p%40ss@redis.data-platform.svc.cluster.local:6379/5",
    },
};

/** Placeholder of an extra database's name in the README's rows. */
const EXTRA_NAME_PLACEHOLDER = "<NAME>";

function contractKey(service: ContractService, key: string, secret: boolean, docs: KeyDocs): ContractKey {
    return { key, service, secret, ...docs };
}

/** The PostgreSQL keys of a shape. */
export function postgresContract(shape: ContractShape): readonly ContractKey[] {
    return postgresEnvKeys(shape.postgresCaCert).map((key) =>
        contractKey("postgres", key, POSTGRES_SECRET_ENV_KEYS.includes(key), POSTGRES_DOCS[key]),
    );
}

/** The Redis keys of a shape. */
export function redisContract(shape: ContractShape): readonly ContractKey[] {
    const modeKeys: readonly RedisEnvKey[] =
        shape.redisMode === "sentinel" ? REDIS_SENTINEL_ENV_KEYS : REDIS_STANDALONE_ENV_KEYS;
    const keys: readonly RedisEnvKey[] = shape.redisCaCert ? [...modeKeys, REDIS_CA_ENV_KEY] : modeKeys;
    return keys.map((key) => contractKey("redis", key, REDIS_SECRET_ENV_KEYS.includes(key), REDIS_DOCS[key]));
}

/** The keys of an application's extra databases (none without `apps[].redisExtraDatabases`). */
export function redisExtraContract(shape: ContractShape, app: Pick<AppConfig, "redisExtraDatabases">): ContractKey[] {
    return redisExtraEnvKeys(shape.redisMode, app).map(({ key, base }) =>
        contractKey("redis", key, REDIS_SECRET_ENV_KEYS.includes(base), REDIS_EXTRA_DOCS[base]),
    );
}

/** One application's contract: its shape's keys, then those of its extra Redis databases. */
export function appContract(shape: ContractShape, app: Pick<AppConfig, "redisExtraDatabases">): ContractKey[] {
    return [...contractFor(shape), ...redisExtraContract(shape, app)];
}

/** The exact key set one application's Secret holds. */
export function appContractKeys(shape: ContractShape, app: Pick<AppConfig, "redisExtraDatabases">): string[] {
    return appContract(shape, app).map((k) => k.key);
}

/** The contract of a shape: PostgreSQL keys then Redis keys. */
export function contractFor(shape: ContractShape): readonly ContractKey[] {
    return [...postgresContract(shape), ...redisContract(shape)];
}

/** The exact key set an application's Secret holds in a shape. */
export function contractKeys(shape: ContractShape): string[] {
    return contractFor(shape).map((k) => k.key);
}

/** Every shape, widest first (the README table lists each key once, in this order). */
export const CONTRACT_SHAPES: readonly ContractShape[] = (["sentinel", "standalone"] as const).flatMap((redisMode) =>
    [true, false].flatMap((postgresCaCert) =>
        [true, false].map((redisCaCert) => ({ redisMode, postgresCaCert, redisCaCert })),
    ),
);

/** Keys whose values are secret in any shape. */
export const SECRET_CONTRACT_KEYS: readonly string[] = [
    ...new Set(
        CONTRACT_SHAPES.flatMap(contractFor)
            .filter((k) => k.secret)
            .map((k) => k.key),
    ),
];

/**
 * One application's Env from what PostgreSQL and Redis contribute. Each part must hold exactly its keys of
 * the contract's shape (Redis: with those of the application's extra databases); secret keys are made secret whatever the services gave.
 * Throws a RunError naming the missing and unexpected keys.
 */
export function assembleEnv(app: AppConfig, shape: ContractShape, postgres: Env, redis: Env): Env {
    checkKeys(
        Object.keys(postgres),
        postgresContract(shape).map((k) => k.key),
        `application ${app.name}: postgres env`,
    );
    checkKeys(
        Object.keys(redis),
        [...redisContract(shape), ...redisExtraContract(shape, app)].map((k) => k.key),
        `application ${app.name}: redis env (${shape.redisMode} mode)`,
    );
    const merged: Env = { ...postgres, ...redis };
    return Object.fromEntries(
        appContract(shape, app).map((k) => [k.key, k.secret ? pulumi.secret(merged[k.key]) : merged[k.key]]),
    );
}

function checkKeys(given: readonly string[], expected: readonly string[], what: string): void {
    const missing = expected.filter((k) => !given.includes(k));
    const unexpected = given.filter((k) => !expected.includes(k));
    if (missing.length > 0 || unexpected.length > 0) {
        const parts = [
            missing.length ? `missing ${missing.join(", ")}` : "",
            unexpected.length ? `unexpected ${unexpected.join(", ")}` : "",
        ];
        throw new pulumi.RunError(`${what} does not match the contract: ${parts.filter(Boolean).join("; ")}`);
    }
}

/** Where a key is present, from the shapes that hold it. */
function presence(key: string): string {
    const holding = CONTRACT_SHAPES.filter((shape) => contractKeys(shape).includes(key));
    if (holding.length === CONTRACT_SHAPES.length) {
        return "always";
    }
    const conditions: string[] = [];
    if (holding.every((s) => s.redisMode === holding[0].redisMode)) {
        conditions.push(`Redis ${holding[0].redisMode} mode`);
    }
    if (holding.every((s) => s.postgresCaCert)) {
        conditions.push("PostgreSQL CA known (Azure; StackGres with `postgres.stackgres.tls`)");
    }
    if (holding.every((s) => s.redisCaCert)) {
        conditions.push("`redis.tls` with `redis.tlsCaCert`");
    }
    return conditions.join(", ");
}

/** The contract as a markdown table (every shape), for the README; a test keeps README.md in step. */
export function renderContractTable(): string {
    const keys = new Map<string, ContractKey>();
    for (const shape of CONTRACT_SHAPES) {
        for (const key of contractFor(shape)) {
            keys.set(key.key, keys.get(key.key) ?? key);
        }
    }
    const lines = ["| Key | Present | Secret | Meaning | Example |", "| --- | --- | --- | --- | --- |"];
    const row = (key: ContractKey, present: string) =>
        `| \`${key.key}\` | ${present} | ${key.secret ? "yes" : "no"} | ${key.description} | \`${key.example}\` |`;
    for (const key of keys.values()) {
        lines.push(row(key, presence(key.key)));
    }
    // One row per key pattern of an extra database.
    for (const mode of ["sentinel", "standalone"] as const) {
        for (const base of REDIS_PER_DATABASE_ENV_KEYS[mode]) {
            const key = redisExtraEnvKey(base, EXTRA_NAME_PLACEHOLDER);
            lines.push(
                row(
                    contractKey("redis", key, REDIS_SECRET_ENV_KEYS.includes(base), REDIS_EXTRA_DOCS[base]),
                    `Redis ${mode} mode, per \`apps[].redisExtraDatabases\` entry (\`<NAME>\`: its name in capitals)`,
                ),
            );
        }
    }
    return lines.join("\n");
}
