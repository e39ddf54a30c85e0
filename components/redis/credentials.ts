/**
 * The credentials the Redis service needs (pure: no resource code). The list of all platform credentials
 * (`vault/credentialIds.ts`) imports `redisCredentialIds`; the component reads the passwords by these ids.
 */
import type { PlatformConfig } from "../config/types";
import { appRedisUserNames } from "./acl";

/** Break-glass superuser; also what the preStop hook uses to pause writes and ask for a failover. */
export const REDIS_ADMIN_CREDENTIAL = "redis-admin";
/** Read-only user of probes and redis_exporter, on data nodes and Sentinels. */
export const REDIS_MONITOR_CREDENTIAL = "redis-monitor";
/** `masteruser` of every data node (each one may become a replica). */
export const REDIS_REPLICATION_CREDENTIAL = "redis-replication";
/** Sentinel's user on the data nodes and between Sentinels (`auth-user`, `sentinel-user`). */
export const REDIS_SENTINEL_CREDENTIAL = "redis-sentinel";
/** What clients give Sentinel (`REDIS_SENTINEL_PASSWORD`): its `default` user, limited to discovery. */
export const REDIS_SENTINEL_CLIENT_CREDENTIAL = "redis-sentinel-auth";

/** Password of an application's Redis ACL user (`appRedisUserNames`: `<app>`, or `<app>-<name>` for an extra database). */
export function redisAppCredentialId(user: string): string {
    return `redis-app-${user}`;
}

/** Every credential id the Redis service reads, for the configured mode. */
export function redisCredentialIds(config: Pick<PlatformConfig, "redis" | "apps">): string[] {
    const sentinel =
        config.redis.mode === "sentinel"
            ? [REDIS_REPLICATION_CREDENTIAL, REDIS_SENTINEL_CREDENTIAL, REDIS_SENTINEL_CLIENT_CREDENTIAL]
            : [];
    return [
        REDIS_ADMIN_CREDENTIAL,
        REDIS_MONITOR_CREDENTIAL,
        ...sentinel,
        ...config.apps.flatMap(appRedisUserNames).map(redisAppCredentialId),
    ];
}

/** Which credential each ACL role (admin, monitor, ... as `RedisPasswords` names them) and application user reads. */
export function aclCredentialIds(config: {
    readonly redis: Pick<PlatformConfig["redis"], "mode">;
    readonly apps: readonly PlatformConfig["apps"][number][];
}): { readonly roles: Readonly<Record<string, string>>; readonly apps: Readonly<Record<string, string>> } {
    const roles: Record<string, string> = { admin: REDIS_ADMIN_CREDENTIAL, monitor: REDIS_MONITOR_CREDENTIAL };
    if (config.redis.mode === "sentinel") {
        Object.assign(roles, {
            replication: REDIS_REPLICATION_CREDENTIAL,
            sentinel: REDIS_SENTINEL_CREDENTIAL,
            sentinelClient: REDIS_SENTINEL_CLIENT_CREDENTIAL,
        });
    }
    const users = config.apps.flatMap(appRedisUserNames);
    return { roles, apps: Object.fromEntries(users.map((user) => [user, redisAppCredentialId(user)])) };
}
