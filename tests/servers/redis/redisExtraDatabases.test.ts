/**
 * Seed 001's shape on a real redis-server with the rendered ACL: sessions in the application's own database, a cache
 * in an extra one (`apps[].redisExtraDatabases`), each user reached only through its contract URL. Neither user
 * reaches the other's database, nor another application's keys or channels.
 */
import { strict as assert } from "assert";
import Redis from "ioredis";
import { loadStackConfig } from "../../../offline/stackConfig";
import { waitFor } from "../../../testbed/servers/processes";
import { LocalRedisGroup, redisPorts } from "../../../testbed/servers/redis";
import { parseStack } from "../../support/config";
import { expectError, testPasswords } from "../../support/redis";

const APPS_KEY = "data-platform:apps";
const CACHE_DB = 5;

describe("extra Redis databases on a real server: a session store and a cache of one application (dev)", function () {
    this.timeout(30_000);
    const apps = JSON.parse(loadStackConfig("dev").config[APPS_KEY]) as Record<string, unknown>[];
    const config = parseStack("dev", {
        [APPS_KEY]: [{ ...apps[0], redisExtraDatabases: [{ name: "cache", db: CACHE_DB }] }, ...apps.slice(1)],
    });
    const [orders, billing] = config.apps;
    let g: LocalRedisGroup;
    const clients: Redis[] = [];

    function connect(url: string): Redis {
        const c = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        c.on("error", () => undefined);
        clients.push(c);
        return c;
    }

    before(async () => {
        g = new LocalRedisGroup({
            redis: config.redis,
            apps: config.apps,
            passwords: testPasswords(config),
            ports: await redisPorts(config.redis),
        });
        g.startAll();
        await waitFor("the standalone master", 10_000, async () =>
            (await g.masters()).length === 1 ? true : undefined,
        );
    });
    after(async () => {
        clients.forEach((c) => c.disconnect());
        await g?.stop();
    });

    it("hands out one URL per database, each with its own user", () => {
        const env = g.env().orders;
        assert.equal(decodeURIComponent(new URL(env.REDIS_URL).username), "orders");
        assert.equal(new URL(env.REDIS_URL).pathname, `/${orders.redisDb}`);
        assert.equal(decodeURIComponent(new URL(env.REDIS_CACHE_URL).username), "orders-cache");
        assert.equal(new URL(env.REDIS_CACHE_URL).pathname, `/${CACHE_DB}`);
        assert.equal(g.env().billing.REDIS_CACHE_URL, undefined);
    });

    it("lets the session user write only its database, and the cache user only its own", async () => {
        const env = g.env().orders;
        const sessions = connect(env.REDIS_URL);
        const cache = connect(env.REDIS_CACHE_URL);
        await Promise.all([sessions.connect(), cache.connect()]);

        // Separate TTL policies, each in its own database.
        assert.equal(await sessions.set("orders:session:1", "s", "EX", 3600), "OK");
        assert.equal(await cache.set("orders:cache:1", "c", "EX", 86400), "OK");
        for (const [client, other] of [
            [sessions, CACHE_DB],
            [cache, orders.redisDb],
            [sessions, billing.redisDb],
            [cache, billing.redisDb],
        ] as const) {
            await expectError(client.select(other), /NOPERM/);
            await expectError(client.copy("orders:cache:1", "orders:x", "DB", String(other)), /NOPERM/);
            await expectError(client.move("orders:session:1", other), /NOPERM/);
            await expectError(client.set("billing:x", "1"), /NOPERM/);
            await expectError(client.get("billing:x"), /NOPERM/);
        }
        // Channels are global: each user has its own.
        assert.equal(await cache.publish("orders-cache:invalidate", "k"), 0);
        await expectError(cache.publish("orders:events", "k"), /NOPERM/);
        await expectError(sessions.publish("orders-cache:invalidate", "k"), /NOPERM/);
        await expectError(cache.publish("billing:events", "k"), /NOPERM/);

        const admin = g.admin("data", 0);
        clients.push(admin);
        await admin.connect();
        const keysOf = async (db: number) => {
            await admin.select(db);
            return ((await admin.call("KEYS", "*")) as string[]).sort();
        };
        assert.deepEqual(await keysOf(orders.redisDb), ["orders:session:1"]);
        assert.deepEqual(await keysOf(CACHE_DB), ["orders:cache:1"]);
        assert.deepEqual(await keysOf(billing.redisDb), []);
        assert.deepEqual(await keysOf(0), []);
    });

    it("keeps another application out of both databases", async () => {
        const other = connect(g.env().billing.REDIS_URL);
        await other.connect();
        for (const db of [orders.redisDb, CACHE_DB]) {
            await expectError(other.select(db), /NOPERM/);
        }
        await expectError(other.get("orders:cache:1"), /NOPERM/);
        await expectError(other.publish("orders-cache:invalidate", "k"), /NOPERM/);
    });
});
