/**
 * Client profiles (`apps[].redis.clients`) on real servers, each seed's client given its application's contract from
 * the program's own rendering (`LocalRedisGroup.env`): seed 000's Celery (today's 5.5) with `global_keyprefix` from
 * `REDIS_KEY_PREFIX` on a shared group, seed 002's Node cache, sessions and rate limiter under the prefix, seed 001's
 * password-only session store on a dedicated group. Every key each wrote is under its application's prefix.
 */
import { strict as assert } from "assert";
import Redis from "ioredis";
import type { PlatformConfig } from "../../../components/config";
import { redisGroupOf, redisGroupSettings } from "../../../components/redis/groups";
import { waitFor } from "../../../testbed/servers/processes";
import { LOOPBACK, LocalRedisGroup, redisPorts } from "../../../testbed/servers/redis";
import { parseStack, sectionOverride } from "../../support/config";
import { runCeleryTask } from "../../support/consumers";
import { celeryPython } from "../../support/consumersCurrent";
import { expectError, testPasswords } from "../../support/redis";
import { rawCommands } from "../../support/redisCommands";

/** The dev stack: a shared group holding seed 002's `shop` and seed 000's `worker`, seed 001's `sessions` alone. */
const config: PlatformConfig = parseStack("dev", {
    // Three applications of 10 x 2 cost 41 connections each through PgBouncer: room beyond dev's 100.
    ...sectionOverride("dev", "postgres", { maxConnections: 150 }),
    "data-platform:redis": { mode: "standalone", groups: { store: { mode: "standalone", dedicated: true } } },
    "data-platform:apps": [
        { name: "shop", namespace: "shop", redisDb: 1, redis: { clients: ["plain"] } },
        { name: "worker", namespace: "worker", redisDb: 2, redis: { clients: ["celery"] } },
        { name: "sessions", namespace: "sessions", redisDb: 1, redis: { group: "store", clients: ["sessions"] } },
    ],
});

async function startGroup(group: string): Promise<LocalRedisGroup> {
    const redis = redisGroupSettings(config.redis, group);
    const g = new LocalRedisGroup({
        redis,
        apps: config.apps.filter((app) => redisGroupOf(app) === group),
        passwords: testPasswords(config),
        ports: await redisPorts(redis),
    });
    g.startAll();
    await waitFor(`group ${group}'s master`, 10_000, async () => ((await g.masters()).length === 1 ? true : undefined));
    return g;
}

/** Every key of the group's databases (0 to the applications' last), as the admin sees them. */
async function allKeys(g: LocalRedisGroup): Promise<string[]> {
    const admin = g.admin("data", 0);
    await admin.connect();
    try {
        const keys: string[] = [];
        for (let db = 0; db < g.options.redis.databases; db++) {
            await admin.select(db);
            keys.push(...(await admin.keys("*")).map((k) => `${db}/${k}`));
        }
        return keys.sort();
    } finally {
        admin.disconnect();
    }
}

/** Seed 000's Celery as the `celery` profile asks: the contract's prefix in both transport options, nothing else. */
const CELERY_PREFIXED = `import os

from celery import Celery

e = os.environ
options = {"global_keyprefix": e["REDIS_KEY_PREFIX"]}
app = Celery("matrix", broker=e["REDIS_URL"], backend=e["REDIS_URL"])
app.conf.update(broker_transport_options=options, result_backend_transport_options=options)


@app.task
def add(x, y):
    return x + y
`;

/**
 * A task, its stored result, the ping, then an event receiver as Flower and \`celery events\` run one: every event
 * (routing key '#'), from the worker told to send them, until a task's success comes.
 */
const CELERY_TASK_PING_EVENTS = [
    "import threading",
    "from matrix_celery import app, add",
    "r = add.delay(2, 3)",
    "value = r.get(timeout=30)",
    "stored = app.backend.client.get(app.backend.get_key_for_task(r.id)) is not None",
    "pongs = [a for reply in app.control.ping(timeout=10) for a in reply.values()]",
    "app.control.enable_events()",
    "seen = []",
    "threading.Timer(2, lambda: add.delay(1, 1)).start()",
    "with app.connection_for_read() as conn:",
    "    receiver = app.events.Receiver(conn, handlers={'*': lambda event: seen.append(event['type'])})",
    "    for _ in receiver.itercapture(timeout=20, wakeup=False):",
    "        if 'task-succeeded' in seen:",
    "            break",
    "print(value, stored, ' '.join(a.get('ok', str(a)) for a in pongs) or 'no-pong', 'task-succeeded' in seen)",
].join("\n");

/** Seed 002's Node clients as the `plain` profile asks: ioredis with the prefix, connect-redis's and rate-limit-redis's keys under it. */
async function seed002(env: Record<string, string>, keyPrefix?: string): Promise<string[]> {
    const redis = new Redis(env.REDIS_URL, { keyPrefix, lazyConnect: true, maxRetriesPerRequest: 0 });
    redis.defineCommand("hit", {
        numberOfKeys: 1,
        // rate-limit-redis's shape: count and expire in one script (EVALSHA, SCRIPT LOAD when not cached).
        lua: "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n",
    });
    await redis.connect();
    try {
        await redis.set("sess:u1", JSON.stringify({ user: 1 }), "EX", 3600);
        await redis.set("cache:page", "<html>");
        const hits = [
            await (redis as unknown as { hit(k: string, ms: number): Promise<number> }).hit("rl:10.0.0.1", 60_000),
            await (redis as unknown as { hit(k: string, ms: number): Promise<number> }).hit("rl:10.0.0.1", 60_000),
        ];
        return [String(await redis.get("sess:u1")), String(await redis.get("cache:page")), hits.join(",")];
    } finally {
        redis.disconnect();
    }
}

describe("Redis client profiles on real servers (apps[].redis.clients)", function () {
    this.timeout(180_000);
    let shared: LocalRedisGroup;
    let store: LocalRedisGroup;
    before(async () => {
        [shared, store] = await Promise.all([startGroup("default"), startGroup("store")]);
    });
    after(async () => {
        await Promise.all([shared?.stop(), store?.stop()]);
    });

    it("celery on a shared group: Celery 5.5.3 / kombu 5.5.4 with global_keyprefix = REDIS_KEY_PREFIX runs a task, stores its result, answers control.ping() and an event receiver (Flower, celery events) gets the worker's events; every key under the prefix", async () => {
        const env = shared.env().worker;
        assert.equal(env.REDIS_KEY_PREFIX, "worker:");
        const { result, worker } = await runCeleryTask(celeryPython(), env, CELERY_PREFIXED, CELERY_TASK_PING_EVENTS);
        assert.equal(result, "5 True pong True", worker);
        const keys = await allKeys(shared);
        assert.ok(keys.includes("2/worker:_kombu.binding.celery"), keys.join(", "));
        assert.ok(
            keys.some((k) => k.startsWith("2/worker:celery-task-meta-")),
            keys.join(", "),
        );
        assert.deepEqual(
            keys.filter((k) => !k.startsWith("2/worker:")),
            [],
        );
    });

    it("plain on a shared group: seed 002's cache, sessions and rate limiter under REDIS_KEY_PREFIX (ioredis keyPrefix, scripts included); without the prefix refused", async () => {
        const env = shared.env().shop;
        assert.equal(env.REDIS_KEY_PREFIX, "shop:");
        assert.deepEqual(await seed002(env, env.REDIS_KEY_PREFIX), ['{"user":1}', "<html>", "1,2"]);
        assert.deepEqual(
            (await allKeys(shared)).filter((k) => k.startsWith("1/")),
            ["1/shop:cache:page", "1/shop:rl:10.0.0.1", "1/shop:sess:u1"],
        );
        await expectError(seed002(env), /NOPERM/);
    });

    it("sessions on a dedicated group: seed 001's password-only client (AUTH <password>, no user) writes its own key names in its database; nowhere else is the password-only login accepted", async () => {
        const env = store.env().sessions;
        const password = store.options.passwords.apps.sessions;
        const port = store.port("data", 0);
        const client = new Redis({ host: LOOPBACK, port, password, db: 1, lazyConnect: true, maxRetriesPerRequest: 0 });
        await client.connect();
        try {
            await client.set("session:abc", "u1", "EX", 3600);
            await client.sadd("user_sessions:u1", "abc");
            assert.equal(await client.get("session:abc"), "u1");
            assert.match(String(await client.call("CLIENT", "INFO")), / user=default /);
            await expectError(client.select(0), /NOPERM/);
        } finally {
            client.disconnect();
        }
        assert.equal(env.REDIS_URL.startsWith("redis://sessions:"), true, "the named user stays the contract's");
        assert.deepEqual(await allKeys(store), ["1/session:abc", "1/user_sessions:u1"]);
        // The shared group keeps `default` off: the same login is refused there.
        const replies = await rawCommands(LOOPBACK, shared.port("data", 0), [["AUTH", password]]);
        assert.match(replies[0], /^-WRONGPASS/);
    });
});
