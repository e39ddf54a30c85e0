/**
 * The credentials the Redis service needs (pure: no resource code). The list of all platform credentials
 * (`vault/credentialIds.ts`) imports `redisCredentialIds`; the component reads the passwords by these ids.
 */
import type { AppConfig } from "../config/platform";
import type { RedisConfig } from "../config/redis";
import type { PlatformConfig } from "../config/types";
import { appRedisUserNames } from "./acl";
import { redisGroupOf, redisGroupSettings, redisGroups, redisPrefix } from "./groups";

/**
 * The credential ids of a group's roles: `<prefix>-<role>` (`redis-admin` for the default group, `redis-<group>-admin`
 * for a named one).
 */
export function redisRoleCredentials(redis: Pick<RedisConfig, "group">) {
    const prefix = redisPrefix(redis);
    return {
        /** Break-glass superuser; also what the preStop hook uses to pause writes and ask for a failover. */
        admin: `${prefix}-admin`,
        /** Read-only user of probes and redis_exporter, on data nodes and Sentinels. */
        monitor: `${prefix}-monitor`,
        /** `masteruser` of every data node (each one may become a replica). */
        replication: `${prefix}-replication`,
        /** Sentinel's user on the data nodes and between Sentinels (`auth-user`, `sentinel-user`). */
        sentinel: `${prefix}-sentinel`,
        /** What clients give Sentinel (`REDIS_SENTINEL_PASSWORD`): its `default` user, limited to discovery. */
        sentinelClient: `${prefix}-sentinel-auth`,
        /** `redis.backup`: the ACL user of the RDB copy. */
        backup: `${prefix}-backup`,
    } as const;
}

/** Password of an application's Redis ACL user (`appRedisUserNames`: `<app>`, or `<app>-<name>` for an extra database). */
export function redisAppCredentialId(user: string): string {
    return `redis-app-${user}`;
}

/** Every credential id of one group, for its mode and applications. */
export function redisGroupCredentialIds(
    redis: Pick<RedisConfig, "group" | "mode" | "backup">,
    apps: readonly AppConfig[],
): string[] {
    const { roles, apps: users } = aclCredentialIds({ redis, apps });
    return [...Object.values(roles), ...Object.values(users)];
}

/** Every credential id the Redis service reads: each group's roles, and each application's users. */
export function redisCredentialIds(config: Pick<PlatformConfig, "redis" | "apps">): string[] {
    return redisGroups(config.redis).flatMap((group) =>
        redisGroupCredentialIds(
            redisGroupSettings(config.redis, group),
            config.apps.filter((app) => redisGroupOf(app) === group),
        ),
    );
}

/** Which credential each ACL role (admin, monitor, ... as `RedisPasswords` names them) and application user reads. */
export function aclCredentialIds(config: {
    readonly redis: Pick<RedisConfig, "mode" | "group" | "backup">;
    readonly apps: readonly AppConfig[];
}): { readonly roles: Readonly<Record<string, string>>; readonly apps: Readonly<Record<string, string>> } {
    const { admin, monitor, replication, sentinel, sentinelClient, backup } = redisRoleCredentials(config.redis);
    const roles: Record<string, string> = { admin, monitor };
    if (config.redis.mode === "sentinel") {
        Object.assign(roles, { replication, sentinel, sentinelClient });
    }
    if (config.redis.backup) {
        roles.backup = backup;
    }
    const users = config.apps.flatMap(appRedisUserNames);
    return { roles, apps: Object.fromEntries(users.map((user) => [user, redisAppCredentialId(user)])) };
}
