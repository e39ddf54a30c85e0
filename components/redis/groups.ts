/**
 * Redis groups: the section's own (`default`) and the named ones of `redis.groups`, and which one each application
 * uses (`apps[].redis.group`). Pure; the module, the config rules and the credential ids read groups through here.
 */
import { type Move, sectionMove } from "../config/placement";
import type { AppConfig } from "../config/platform";
import type { RedisConfig, RedisSection } from "../config/redis";
import { PROJECT } from "../config/types";
import { DEFAULT_INSTANCE, instancePrefix } from "../serviceModule";

/** Every group of the stack, the default first. */
export function redisGroups(redis: RedisSection): string[] {
    return [DEFAULT_INSTANCE, ...Object.keys(redis.groups)];
}

/** The group an application uses. */
export function redisGroupOf(app: AppConfig): string {
    return app.redis?.group ?? DEFAULT_INSTANCE;
}

/**
 * The group an application's databases are being moved from (`apps[].redis.movedFrom`), and whether that old copy is
 * being dropped (`retireOld`); undefined when it is not moving.
 */
export function redisMoveOf(app: AppConfig): Move | undefined {
    return sectionMove(app.redis && { from: app.redis.movedFrom, retireOld: app.redis.retireOld });
}

/** The settings of one group: the section's own (without `groups`: what a stack had before groups) or a named one. */
export function redisGroupSettings(redis: RedisSection, group: string): RedisConfig {
    if (group === DEFAULT_INSTANCE) {
        const { groups: _named, ...own } = redis;
        return own;
    }
    const named = redis.groups[group];
    if (named === undefined) {
        throw new Error(`no Redis group ${group}`);
    }
    return { ...named, group };
}

/** The config key of a group's settings, as errors name it. */
export function redisGroupPath(group: string): string {
    return group === DEFAULT_INSTANCE ? `${PROJECT}:redis` : `${PROJECT}:redis.groups.${group}`;
}

/** The first word of every Kubernetes object, credential and Key Vault secret of a group (`redis-<group>-...`). */
export function redisPrefix(redis: Pick<RedisConfig, "group">): string {
    return instancePrefix("redis", redis.group ?? DEFAULT_INSTANCE);
}
