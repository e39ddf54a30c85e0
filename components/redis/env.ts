/** An application's Redis environment (pure): what a Sentinel-aware client, or a URL client, needs. */
import type { AppConfig } from "../config/platform";
import type { RedisConfig, RedisMode } from "../config/redis";
import { appUserName, extraDatabaseUserName } from "./acl";
import { redisKeyPrefix } from "./clients";
import type { RedisLayout } from "./layout";

export const REDIS_SENTINEL_ENV_KEYS = [
    "REDIS_SENTINEL_HOSTS",
    "REDIS_SENTINEL_MASTER",
    "REDIS_USERNAME",
    "REDIS_PASSWORD",
    "REDIS_DB",
    "REDIS_KEY_PREFIX",
    "REDIS_SENTINEL_PASSWORD",
    "REDIS_TLS",
    // Through the master endpoint, for clients that do not speak Sentinel: the same user, database and TLS.
    "REDIS_URL",
    "REDIS_HOST",
    "REDIS_PORT",
] as const;
/**
 * Standalone: one URL, and its host and port for clients configured by those (seed 001); the application contract,
 * `components/envContract.ts`, fixes these key sets.
 */
export const REDIS_STANDALONE_ENV_KEYS = [
    "REDIS_URL",
    "REDIS_KEY_PREFIX",
    "REDIS_TLS",
    "REDIS_HOST",
    "REDIS_PORT",
] as const;
/** Present in either mode when the stack knows the CA of its Redis certificate (`redis.tls` with `redis.tlsCaCert`). */
export const REDIS_CA_ENV_KEY = "REDIS_CA_CERT";
/** Keys whose values contain a password. */
export const REDIS_SECRET_ENV_KEYS: readonly string[] = ["REDIS_PASSWORD", "REDIS_SENTINEL_PASSWORD", "REDIS_URL"];

/**
 * The keys an extra database (`apps[].redisExtraDatabases`) repeats as `REDIS_<NAME>_*`: the ones of one user and
 * database. The Sentinel hosts, master name, Sentinel password, TLS flag and CA are shared.
 */
export const REDIS_PER_DATABASE_ENV_KEYS: Readonly<Record<RedisMode, readonly string[]>> = {
    sentinel: ["REDIS_USERNAME", "REDIS_PASSWORD", "REDIS_DB", "REDIS_URL"],
    standalone: ["REDIS_URL"],
};

/** `REDIS_DB` of the extra database `cache` is `REDIS_CACHE_DB`. */
export function redisExtraEnvKey(baseKey: string, name: string): string {
    return baseKey.replace(/^REDIS_/, `REDIS_${name.toUpperCase()}_`);
}

/** The keys of an application's extra databases, each with the key of its own database it mirrors. */
export function redisExtraEnvKeys(
    mode: RedisMode,
    app: Pick<AppConfig, "redisExtraDatabases">,
): { readonly key: string; readonly base: string }[] {
    return app.redisExtraDatabases.flatMap((extra) =>
        REDIS_PER_DATABASE_ENV_KEYS[mode].map((base) => ({ key: redisExtraEnvKey(base, extra.name), base })),
    );
}

/** Whether applications get `REDIS_CA_CERT`. */
export function redisHandsOutCa(redis: Pick<RedisConfig, "tls" | "tlsCaCert">): boolean {
    return redis.tls && redis.tlsCaCert !== undefined;
}

export function redisEnvKeys(redis: Pick<RedisConfig, "mode" | "tls" | "tlsCaCert">): readonly string[] {
    const keys = redis.mode === "sentinel" ? REDIS_SENTINEL_ENV_KEYS : REDIS_STANDALONE_ENV_KEYS;
    return redisHandsOutCa(redis) ? [...keys, REDIS_CA_ENV_KEY] : keys;
}

export interface RedisEnvArgs {
    readonly redis: RedisConfig;
    readonly layout: Pick<RedisLayout, "dataNodes" | "sentinels" | "standaloneService" | "masterEndpoint">;
    readonly app: Pick<AppConfig, "name" | "redisDb" | "redisExtraDatabases">;
    readonly password: string;
    /** Passwords of the extra databases' users, by extra database name (needed with `app.redisExtraDatabases`). */
    readonly extraPasswords?: Readonly<Record<string, string>>;
    /** Sentinel's client password (sentinel mode). */
    readonly sentinelPassword: string;
}

/** How `redisUrl` percent-encodes user and password: it keeps `!*'()`, sub-delims RFC 3986 allows in userinfo. */
export const redisUrlEncode: (value: string) => string = encodeURIComponent;

/** `redis[s]://<user>:<password>@<host>:<port>/<db>` with user and password percent-encoded. */
export function redisUrl(tls: boolean, user: string, password: string, host: string, port: number, db: number): string {
    return `${tls ? "rediss" : "redis"}://${redisUrlEncode(user)}:${redisUrlEncode(password)}@${host}:${port}/${db}`;
}

export function redisEnv(args: RedisEnvArgs): Record<string, string> {
    const { redis, app } = args;
    const env = userEnv(args, appUserName(app), args.password, app.redisDb);
    for (const extra of app.redisExtraDatabases) {
        const password = args.extraPasswords?.[extra.name];
        if (password === undefined) {
            throw new Error(`no Redis password for ${extraDatabaseUserName(app, extra)}`);
        }
        const own = userEnv(args, extraDatabaseUserName(app, extra), password, extra.db);
        for (const base of REDIS_PER_DATABASE_ENV_KEYS[redis.mode]) {
            env[redisExtraEnvKey(base, extra.name)] = own[base];
        }
    }
    return env;
}

/**
 * Where clients connect, without credentials: every Sentinel's `host:port` (Sentinel mode), or the one address of the
 * standalone node. Also a stack output (`redisEndpoints`).
 */
export function redisClientEndpoints(
    redis: Pick<RedisConfig, "mode">,
    layout: Pick<RedisLayout, "dataNodes" | "sentinels" | "standaloneService">,
): string {
    if (redis.mode === "sentinel") {
        return layout.sentinels.map((s) => `${s.host}:${s.port}`).join(",");
    }
    const node = layout.standaloneService ?? layout.dataNodes[0];
    return `${node.host}:${node.port}`;
}

/** The contract of one ACL user and database. */
function userEnv(args: RedisEnvArgs, user: string, password: string, db: number): Record<string, string> {
    const { redis, layout } = args;
    const tls = String(redis.tls);
    // The CA is public: clients need it to verify both the Sentinels and the data nodes (one issuer signs both).
    const ca: Record<string, string> = redisHandsOutCa(redis) ? { [REDIS_CA_ENV_KEY]: redis.tlsCaCert as string } : {};
    if (redis.mode === "sentinel") {
        const endpoint = layout.masterEndpoint;
        if (endpoint === undefined) {
            throw new Error("a Sentinel group's layout names its master endpoint");
        }
        return {
            REDIS_SENTINEL_HOSTS: redisClientEndpoints(redis, layout),
            REDIS_SENTINEL_MASTER: redis.masterName,
            REDIS_USERNAME: user,
            REDIS_PASSWORD: password,
            REDIS_DB: String(db),
            REDIS_KEY_PREFIX: redisKeyPrefix(args.app),
            REDIS_SENTINEL_PASSWORD: args.sentinelPassword,
            REDIS_TLS: tls,
            REDIS_URL: redisUrl(redis.tls, user, password, endpoint.host, endpoint.port, db),
            REDIS_HOST: endpoint.host,
            REDIS_PORT: String(endpoint.port),
            ...ca,
        };
    }
    const node = layout.standaloneService ?? layout.dataNodes[0];
    return {
        REDIS_URL: redisUrl(redis.tls, user, password, node.host, node.port, db),
        REDIS_KEY_PREFIX: redisKeyPrefix(args.app),
        REDIS_TLS: tls,
        REDIS_HOST: node.host,
        REDIS_PORT: String(node.port),
        ...ca,
    };
}
