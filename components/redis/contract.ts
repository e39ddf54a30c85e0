/**
 * Redis's part of the application contract: which keys each mode hands out, those of extra databases, and what the
 * README says about each. Pure; the values are rendered by `env.ts`.
 */
import type { AppConfig } from "../config/platform";
import type { RedisMode } from "../config/redis";
import { type ContractKey, type KeyDocs, PEM_EXAMPLE, type ServiceContract } from "../serviceModule";
import { redisGroupSettings } from "./groups";
import {
    REDIS_CA_ENV_KEY,
    REDIS_PER_DATABASE_ENV_KEYS,
    REDIS_SECRET_ENV_KEYS,
    REDIS_SENTINEL_ENV_KEYS,
    REDIS_STANDALONE_ENV_KEYS,
    redisExtraEnvKey,
    redisExtraEnvKeys,
    redisHandsOutCa,
} from "./env";

/** What decides Redis's key set: its mode, and whether the CA of its certificates is known. */
export interface RedisShape {
    readonly redisMode: RedisMode;
    /** `REDIS_CA_CERT`: `redis.tls` with `redis.tlsCaCert`. */
    readonly redisCaCert: boolean;
}

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
    REDIS_KEY_PREFIX: {
        description:
            "Prefix of every key and channel of the application's ACL user (`<name>:`, and `apps[].redis.clients`): its client's key prefix, e.g. Celery's `global_keyprefix` in `broker_transport_options` and `result_backend_transport_options`, ioredis `keyPrefix`.",
        example: "orders:",
    },
    REDIS_SENTINEL_PASSWORD: { description: "Password the Sentinels require from clients.", example: "(generated)" },
    REDIS_TLS: { description: "`true` when Redis (and Sentinel) require TLS.", example: "true" },
    REDIS_URL: {
        description:
            "`redis[s]://user:password@host:port/db`, user and password percent-encoded: the standalone pod, or in Sentinel mode the master endpoint (a Service that always reaches the current master; same user, database and TLS).",
        example: "redis://orders:p%40ss@redis.data-platform.svc.cluster.local:6379/1",
    },
    REDIS_HOST: {
        description:
            "`REDIS_URL`'s host, for clients configured by host and port: the standalone pod, or in Sentinel mode the master endpoint.",
        example: "redis-master.data-platform.svc.cluster.local",
    },
    REDIS_PORT: { description: "`REDIS_URL`'s port.", example: "6379" },
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

function redisKey(key: string, base: string, docs: KeyDocs): ContractKey {
    return { key, service: "redis", secret: REDIS_SECRET_ENV_KEYS.includes(base), ...docs };
}

const MODES: readonly RedisMode[] = ["sentinel", "standalone"];

export const redisContract: ServiceContract<RedisShape> = {
    shapes: MODES.flatMap((redisMode) => [true, false].map((redisCaCert) => ({ redisMode, redisCaCert }))),
    shape: (config, group) => {
        const redis = redisGroupSettings(config.redis, group);
        return { redisMode: redis.mode, redisCaCert: redisHandsOutCa(redis) };
    },
    keys: (shape) => {
        const modeKeys: readonly RedisEnvKey[] =
            shape.redisMode === "sentinel" ? REDIS_SENTINEL_ENV_KEYS : REDIS_STANDALONE_ENV_KEYS;
        const keys: readonly RedisEnvKey[] = shape.redisCaCert ? [...modeKeys, REDIS_CA_ENV_KEY] : modeKeys;
        return keys.map((key) => redisKey(key, key, REDIS_DOCS[key]));
    },
    appKeys: (shape, app: Pick<AppConfig, "redisExtraDatabases">) =>
        redisExtraEnvKeys(shape.redisMode, app).map(({ key, base }) => redisKey(key, base, REDIS_EXTRA_DOCS[base])),
    // One row per key pattern of an extra database, with the modes that hand it out.
    appKeyRows: [...new Set(MODES.flatMap((mode) => REDIS_PER_DATABASE_ENV_KEYS[mode]))].map((base) => {
        const modes = MODES.filter((mode) => REDIS_PER_DATABASE_ENV_KEYS[mode].includes(base));
        const where = modes.length === MODES.length ? "Either Redis mode" : `Redis ${modes[0]} mode`;
        return {
            key: redisKey(redisExtraEnvKey(base, EXTRA_NAME_PLACEHOLDER), base, REDIS_EXTRA_DOCS[base]),
            present: `${where}, per \`apps[].redisExtraDatabases\` entry (\`<NAME>\`: its name in capitals)`,
        };
    }),
    conditions: [
        ...MODES.map((mode) => ({
            present: `Redis ${mode} mode`,
            holds: (shape: RedisShape) => shape.redisMode === mode,
        })),
        { present: "`redis.tls` with `redis.tlsCaCert`", holds: (shape) => shape.redisCaCert },
    ],
    label: (shape) => `${shape.redisMode} mode`,
};
