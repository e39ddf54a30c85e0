/**
 * Redis client profiles (`apps[].redis.clients`): what each kind of client needs under its application's isolation,
 * the prefix `<name>:` (`REDIS_KEY_PREFIX`). Application names are DNS labels, which hold no `:`, so no two
 * applications' prefixes overlap and nothing derived here reaches another application's keys or channels. A client
 * that cannot be kept under the prefix needs a group of its own (`redis.groups.<name>.dedicated`). Pure.
 */
import { type AppConfig, DEFAULT_REDIS_CLIENTS, type RedisClient } from "../config/platform";

/** Where an application's keys and channels live, as the contract hands it out (`REDIS_KEY_PREFIX`). */
export function redisKeyPrefix(app: Pick<AppConfig, "name">): string {
    return `${app.name}:`;
}

/** The client kinds of an application (`apps[].redis.clients`, default `DEFAULT_REDIS_CLIENTS`). */
export function redisClientsOf(app: Pick<AppConfig, "redis">): readonly RedisClient[] {
    return app.redis?.clients ?? DEFAULT_REDIS_CLIENTS;
}

export interface RedisClientProfile {
    /**
     * Channel patterns beyond `<prefix>*`, all under the prefix. Redis admits a PSUBSCRIBE only for a pattern that is
     * literally one of the user's (redis `src/acl.c` `ACLCheckChannelAgainstList`: "the pattern provided in PSUBSCRIBE
     * can only be matched as a literal against an ACL pattern"), so each pattern a client subscribes to is listed as it
     * sends it.
     */
    readonly channelPatterns: (app: Pick<AppConfig, "name" | "redisDb">) => string[];
    /** Why it cannot share a group, when its keys cannot be put under the prefix. */
    readonly needsDedicatedGroup?: string;
    /** On its dedicated group the application is also the group's `default` user: the client sends a password alone. */
    readonly defaultUser?: boolean;
}

/**
 * The channels kombu subscribes to by pattern with `global_keyprefix` set: the prefix, then `keyprefix_fanout`
 * (`/{db}.`: kombu 5.2 leaves `{db}` as is, 5.5 writes the database number), the exchange, `/` and the binding's
 * routing key with `#` as `*` (celery/kombu `kombu/transport/redis.py`: `_queue_bind`, `_get_publish_topic`,
 * `PrefixedRedisPubSub` prefixes PSUBSCRIBE). Exchanges: `celery.pidbox` (remote control: `inspect`, `control.ping()`,
 * fanout, no routing key), `celeryev` (fanout on Redis, celery `celery/events/event.py` `get_exchange`) bound with
 * `worker.#` by the worker's gossip (`celery/worker/consumer/gossip.py`) and with `#` by an event receiver such as
 * Flower or `celery events` (`celery/events/receiver.py`).
 */
export function celeryFanoutChannels(app: Pick<AppConfig, "name" | "redisDb">): string[] {
    return ["{db}", String(app.redisDb)].flatMap((db) =>
        ["celery.pidbox", "celeryev/worker.*", "celeryev/*"].map((topic) => `${redisKeyPrefix(app)}/${db}.${topic}`),
    );
}

/**
 * Per seed: 000's Celery is `celery` (kombu and, from Celery 5.3, the result backend prefix every key and channel
 * with `global_keyprefix`); 002's Node clients are `plain` (a cache, connect-redis and rate-limit-redis each take a
 * key prefix); 001's session store names its keys itself and logs in with a password alone: `sessions`.
 */
export const REDIS_CLIENT_PROFILES: Readonly<Record<RedisClient, RedisClientProfile>> = {
    plain: { channelPatterns: () => [] },
    // kombu prefixes the keys of the commands it sends (GlobalKeyPrefixMixin: queues, `_kombu.binding.*`, `unacked`,
    // reply queues `<uuid>.reply.celery.pidbox`, the restore mutex; EXISTS, only sent by a passive queue declare such as
    // `celery amqp queue.declare ... passive`, is not) and Celery's result backend its task, group and chord keys
    // (celery `celery/backends/base.py` `_add_global_keyprefix`, from `result_backend_transport_options`; celery#7620,
    // first in 5.3.0), whose keys are also its result channels.
    celery: { channelPatterns: celeryFanoutChannels },
    sessions: {
        channelPatterns: () => [],
        needsDedicatedGroup:
            "it names its keys itself (session:*), and a key pattern outside the application's prefix would reach " +
            "another application's keys in database 0, where every connection starts",
        defaultUser: true,
    },
};

/** The profiles of an application's clients. */
export function redisClientProfiles(app: Pick<AppConfig, "redis">): RedisClientProfile[] {
    return redisClientsOf(app).map((client) => REDIS_CLIENT_PROFILES[client]);
}
