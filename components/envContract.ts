/**
 * The application contract as data: which environment variables every application gets, where they come
 * from, and how they are assembled, checked and stored. README, tests and components all use these lists.
 * No resource code here.
 */
import * as pulumi from "@pulumi/pulumi";
import type { Env } from "./interfaces";
import type { AppConfig } from "./config/platform";
import type { RedisMode } from "./config/redis";
import { POSTGRES_ENV_KEYS, POSTGRES_SECRET_ENV_KEYS, PostgresEnvKey } from "./postgres/env";
import { REDIS_SECRET_ENV_KEYS, REDIS_SENTINEL_ENV_KEYS, REDIS_STANDALONE_ENV_KEYS } from "./redis/env";

export type ContractService = "postgres" | "redis";

export interface ContractKey {
    readonly key: string;
    readonly service: ContractService;
    /** Holds a password (or a URL containing one): always a secret value. */
    readonly secret: boolean;
    readonly description: string;
    readonly example: string;
}

/** What the README says about each PostgreSQL key; typed by the postgres contract, so keys cannot drift. */
const POSTGRES_DOCS: Readonly<Record<PostgresEnvKey, Omit<ContractKey, "key" | "service" | "secret">>> = {
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
    DATABASE_URL: {
        description: "The same as one URI; user, password and database percent-encoded, `sslmode` set.",
        example: "postgresql://orders:p%40ss@appdb.data-platform.svc.cluster.local:5432/orders?sslmode=require",
    },
};

/** PostgreSQL keys, the same for both database modes. */
export const POSTGRES_CONTRACT: readonly ContractKey[] = POSTGRES_ENV_KEYS.map((key) => ({
    key,
    service: "postgres",
    secret: POSTGRES_SECRET_ENV_KEYS.includes(key),
    ...POSTGRES_DOCS[key],
}));

type RedisEnvKey = (typeof REDIS_SENTINEL_ENV_KEYS)[number] | (typeof REDIS_STANDALONE_ENV_KEYS)[number];

/** What the README says about each Redis key; typed by the redis contract, so keys cannot drift. */
const REDIS_DOCS: Readonly<Record<RedisEnvKey, Omit<ContractKey, "key" | "service" | "secret">>> = {
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
};

function redisContract(keys: readonly RedisEnvKey[]): readonly ContractKey[] {
    return keys.map((key) => ({
        key,
        service: "redis",
        secret: REDIS_SECRET_ENV_KEYS.includes(key),
        ...REDIS_DOCS[key],
    }));
}

/** Redis keys per Redis mode. */
export const REDIS_CONTRACT: Readonly<Record<RedisMode, readonly ContractKey[]>> = {
    sentinel: redisContract(REDIS_SENTINEL_ENV_KEYS),
    standalone: redisContract(REDIS_STANDALONE_ENV_KEYS),
};

/** The contract of a Redis mode: PostgreSQL keys then Redis keys. */
export function contractFor(mode: RedisMode): readonly ContractKey[] {
    return [...POSTGRES_CONTRACT, ...REDIS_CONTRACT[mode]];
}

/** The exact key set an application's Secret holds in a Redis mode. */
export function contractKeys(mode: RedisMode): string[] {
    return contractFor(mode).map((k) => k.key);
}

/** Keys whose values are secret in any mode. */
export const SECRET_CONTRACT_KEYS: readonly string[] = [
    ...new Set(
        [...POSTGRES_CONTRACT, ...REDIS_CONTRACT.sentinel, ...REDIS_CONTRACT.standalone]
            .filter((k) => k.secret)
            .map((k) => k.key),
    ),
];

/**
 * One application's Env from what PostgreSQL and Redis contribute. Each part must hold exactly its keys of
 * the contract (the redis part those of `mode`); secret keys are made secret whatever the services gave.
 * Throws a RunError naming the missing and unexpected keys.
 */
export function assembleEnv(app: AppConfig, mode: RedisMode, postgres: Env, redis: Env): Env {
    checkKeys(
        Object.keys(postgres),
        POSTGRES_CONTRACT.map((k) => k.key),
        `application ${app.name}: postgres env`,
    );
    checkKeys(
        Object.keys(redis),
        REDIS_CONTRACT[mode].map((k) => k.key),
        `application ${app.name}: redis env (${mode} mode)`,
    );
    const merged: Env = { ...postgres, ...redis };
    return Object.fromEntries(
        contractFor(mode).map((k) => [k.key, k.secret ? pulumi.secret(merged[k.key]) : merged[k.key]]),
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

/** The contract as a markdown table (both Redis modes), for the README; a test keeps README.md in step. */
export function renderContractTable(): string {
    const rows = new Map<string, { key: ContractKey; modes: RedisMode[] }>();
    for (const mode of ["sentinel", "standalone"] as const) {
        for (const key of contractFor(mode)) {
            const row = rows.get(key.key) ?? { key, modes: [] };
            row.modes.push(mode);
            rows.set(key.key, row);
        }
    }
    const lines = ["| Key | Present | Secret | Meaning | Example |", "| --- | --- | --- | --- | --- |"];
    for (const { key, modes } of rows.values()) {
        const present = modes.length === 2 ? "always" : `Redis ${modes[0]} mode`;
        lines.push(
            `| \`${key.key}\` | ${present} | ${key.secret ? "yes" : "no"} | ${key.description} | \`${key.example}\` |`,
        );
    }
    return lines.join("\n");
}
