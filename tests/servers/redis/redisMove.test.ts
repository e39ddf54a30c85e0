/**
 * Moving an application between two Redis groups (`apps[].redis.movedFrom`) on real servers: the rendered move Job
 * (`components/redis/moveSpec.ts`, `scripts/move.sh`) between two local groups. Every type of value arrives as it was
 * (DUMP bytes compared; a set's members), with the same absolute expiry; keys outside the application's patterns and other tenants'
 * databases are not copied; the old users are frozen (off, their clients killed) and keep their keys; a second run is a
 * no-op; a target already holding the application's keys is never written over; no acknowledged write is lost while
 * the application writes through the move.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import Redis from "ioredis";
import * as path from "path";
import type { PlatformConfig } from "../../../components/config";
import type { AppConfig } from "../../../components/config/platform";
import { redisGroupSettings } from "../../../components/redis/groups";
import { moveMarkKey } from "../../../components/redis/moveSpec";
import { waitFor } from "../../../testbed/servers/processes";
import { LOOPBACK, LocalRedisGroup, redisPorts } from "../../../testbed/servers/redis";
import { runRedisMoveJob } from "../../../testbed/servers/redisMove";
import { parseStack } from "../../support/config";
import { testPasswords } from "../../support/redis";

/** `orders` moves from the default group to `b`; `billing` stays on the default group. */
function stack(): PlatformConfig {
    return parseStack("dev", {
        "data-platform:redis": { mode: "standalone", groups: { b: { mode: "standalone" } } },
        "data-platform:apps": [
            { name: "orders", namespace: "orders", redisDb: 1, redis: { group: "b", movedFrom: "default" } },
            { name: "billing", namespace: "billing", redisDb: 2 },
        ],
    });
}

async function startGroup(
    config: PlatformConfig,
    group: string,
    apps: readonly AppConfig[],
    movedOutApps: readonly AppConfig[] = [],
) {
    const redis = redisGroupSettings(config.redis, group);
    const passwords = testPasswords(config);
    const g = new LocalRedisGroup({ redis, apps, movedOutApps, passwords, ports: await redisPorts(redis) });
    g.startAll();
    await waitFor(`group ${group}'s master`, 10_000, async () => ((await g.masters()).length === 1 ? true : undefined));
    return g;
}

/**
 * Groups `from` and `to` of the `groups` given (dev's standalone default beside them) started, with `orders`
 * (database 1) moving from one to the other (`apps[].redis.movedFrom`).
 */
async function movingBetween(groups: Record<string, unknown>, from: string, to: string) {
    const config = parseStack("dev", {
        "data-platform:redis": { mode: "standalone", groups },
        "data-platform:apps": [
            { name: "orders", namespace: "orders", redisDb: 1, redis: { group: to, movedFrom: from } },
        ],
    });
    const app = config.apps[0];
    const [source, target] = await startMove(config, app, from, to);
    return { app, source, target };
}

/** Groups `from` (`app` moved out) and `to` (`app` on it) of `config` started. */
function startMove(config: PlatformConfig, app: AppConfig, from: string, to: string) {
    return Promise.all([startGroup(config, from, [], [app]), startGroup(config, to, [app])]);
}

function client(g: LocalRedisGroup, user: string, db: number): Redis {
    return new Redis({
        host: LOOPBACK,
        port: g.port("data", 0),
        username: user,
        password: user === "admin" ? g.options.passwords.admin : g.options.passwords.apps[user],
        db,
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
    });
}

/** Every key of a database with its type, serialized value (hex) and absolute expiry. */
async function snapshot(admin: Redis, db: number): Promise<Map<string, string>> {
    await admin.select(db);
    const out = new Map<string, string>();
    for (const key of (await admin.keys("*")).sort()) {
        const type = await admin.type(key);
        // A set's serialized members come in hash table order, which a RESTORE may change: compared as members.
        const value =
            type === "set"
                ? JSON.stringify((await admin.smembers(key)).sort())
                : (await admin.dumpBuffer(key))?.toString("hex");
        out.set(key, `${type} ${value} ${await admin.call("PEXPIRETIME", key)}`);
    }
    return out;
}

describe("moving an application between Redis groups on real servers (move Job: freeze, DUMP/RESTORE, mark)", function () {
    this.timeout(120_000);
    const config = stack();
    const orders = config.apps.find((a) => a.name === "orders")!;
    let source: LocalRedisGroup;
    let target: LocalRedisGroup;
    const clients: Redis[] = [];
    const connect = async (g: LocalRedisGroup, user: string, db: number) => {
        const c = client(g, user, db);
        clients.push(c);
        await c.connect();
        return c;
    };
    const run = () =>
        runRedisMoveJob({
            app: orders,
            source: { group: source, name: "default", adminPassword: source.options.passwords.admin },
            target: { group: target, name: "b", adminPassword: target.options.passwords.admin },
        });

    before(async () => {
        // Before the move the source serves both applications; the target already has `orders`' user.
        source = await startGroup(config, "default", config.apps);
        target = await startGroup(config, "b", [orders]);
    });
    after(async () => {
        clients.forEach((c) => c.disconnect());
        await Promise.all([source, target].filter(Boolean).map((g) => g.stop()));
    });

    it("copies strings (binary), hashes, lists, sets, zsets, streams and expiries exactly (key names with spaces, newlines, quotes), nothing else; freezes the old user; 0 acknowledged writes lost", async () => {
        const app = await connect(source, "orders", 1);
        const binary = Buffer.from([0, 1, 2, 10, 13, 255, 254, 32, 10]);
        await app.set("orders:bin", binary);
        await app.set("orders:ttl", "soon", "PX", 600_000);
        await app.set(Buffer.from("orders:key with spaces \xff"), binary, "PX", 900_000);
        // Quoted by redis-cli on the way (`move-keys.sh`): a newline, a quote and a backslash in a name.
        await app.set('orders:new\nline "quoted" \\ end', binary);
        await app.hset("orders:hash", { a: "1", b: binary });
        await app.rpush("orders:list", "x", "y", binary);
        await app.sadd("orders:set", "p", "q");
        await app.zadd("orders:zset", 1.5, "one", 2, "two");
        await app.xadd("orders:stream", "*", "field", "value");
        await app.pexpire("orders:hash", 500_000);
        for (let i = 0; i < 200; i++) {
            await app.set(`orders:many:${i}`, String(i));
        }
        // Outside its patterns in its own database (the admin's), and another tenant's database.
        const admin = await connect(source, "admin", 1);
        await admin.set("stray", "not the application's");
        const billing = await connect(source, "billing", 2);
        await billing.set("billing:invoice", "42");
        const before1 = await snapshot(admin, 1);
        const before2 = await snapshot(admin, 2);

        // The application writes through the move: every acknowledged INCR must be in the copy.
        const writer = await connect(source, "orders", 1);
        let acked = 0;
        let refusedAt: number | undefined;
        let writing = true;
        const writes = (async () => {
            while (writing) {
                try {
                    acked = await writer.incr("orders:counter");
                } catch {
                    refusedAt ??= Date.now();
                    return;
                }
            }
        })();
        await new Promise((r) => setTimeout(r, 200));
        const started = Date.now();
        // The `up` of the move: the old group's users file keeps orders, off (its open connections keep writing), and
        // the Job waits for that before it kills them.
        const job = run();
        await source.reconfigure({ apps: config.apps.filter((a) => a !== orders), movedOutApps: [orders] });
        const result = await job;
        writing = false;
        await writes;
        assert.equal(result.code, 0, result.output);
        const match = /copied (\d+) keys .* frozen for (\d+)s/.exec(result.output);
        assert.ok(match, result.output);
        console.log(
            `      keys copied: ${match[1]}; freeze: ${match[2]} s (job ${Date.now() - started} ms, writes refused ` +
                `${refusedAt === undefined ? "never" : `from ${refusedAt - started} ms`}); acknowledged INCRs: ${acked}`,
        );
        assert.ok(refusedAt !== undefined, "the frozen application's writes were refused");

        const tadmin = await connect(target, "admin", 1);
        const copied = await snapshot(tadmin, 1);
        assert.equal(copied.get(moveMarkKey(orders))?.split(" ")[0], "string");
        copied.delete(moveMarkKey(orders));
        const expected = new Map([...before1].filter(([k]) => k.startsWith("orders:")));
        expected.set("orders:counter", copied.get("orders:counter")!);
        assert.deepEqual(copied, expected);
        // Every acknowledged INCR is there; the one the freeze cut off may have run without its reply (not acknowledged).
        const counted = Number(await tadmin.get("orders:counter"));
        assert.ok(counted === acked || counted === acked + 1, `${counted} copied, ${acked} acknowledged`);
        assert.equal(Number(match[1]), expected.size);
        assert.equal((await snapshot(tadmin, 2)).size, 0, "another tenant's database is not copied");
        assert.ok(!(await tadmin.exists("stray")));

        // The old copy stays; its user is off and cannot log in again.
        const after1 = await snapshot(admin, 1);
        assert.deepEqual(
            new Map([...after1].filter(([k]) => k !== "orders:counter")),
            new Map([...before1].filter(([k]) => k !== "orders:counter")),
        );
        assert.deepEqual(await snapshot(admin, 2), before2);
        const flags = (await admin.call("ACL", "GETUSER", "orders")) as unknown[];
        assert.ok((flags[1] as string[]).includes("off"), JSON.stringify(flags));
        await assert.rejects(connect(source, "orders", 1));
        // The target's application user reads its data.
        const moved = await connect(target, "orders", 1);
        assert.deepEqual(await moved.getBuffer("orders:bin"), binary);
        assert.deepEqual(await moved.zrange("orders:zset", 0, -1, "WITHSCORES"), ["one", "1.5", "two", "2"]);
    });

    it("a second run is a no-op", async () => {
        const tadmin = await connect(target, "admin", 1);
        const before = await snapshot(tadmin, 1);
        const again = await run();
        assert.equal(again.code, 0, again.output);
        assert.match(again.output, /already copied from default/);
        assert.deepEqual(await snapshot(tadmin, 1), before);
    });

    it("an attempt that stopped (mark 'copying') is deleted and copied again whole", async () => {
        const tadmin = await connect(target, "admin", 1);
        const before = await snapshot(tadmin, 1);
        await tadmin.set(moveMarkKey(orders), "copying from default");
        await tadmin.del("orders:hash", "orders:many:7");
        await tadmin.set("orders:partial-leftover", "x");
        const again = await run();
        assert.equal(again.code, 0, again.output);
        assert.deepEqual(await snapshot(tadmin, 1), before);
    });

    it("retireOld deletes the old copy: not before the copy is marked complete nor while a user is on; then exactly the application's keys, every other key as it was (DUMP bytes); a rerun deletes nothing", async () => {
        const billing = config.apps.find((a) => a.name === "billing")!;
        const admin = await connect(source, "admin", 1);
        const tadmin = await connect(target, "admin", 1);
        // Another tenant's prefix in orders' database (only the admin can put it there): not orders' key.
        await admin.set("billing:in-db-1", "kept");
        const snapshots = async () => ({
            db1: await snapshot(admin, 1),
            db2: await snapshot(admin, 2),
            target: await snapshot(tadmin, 1),
        });
        const before = await snapshots();
        const ordersKeys = [...before.db1.keys()].filter((k) => k.startsWith("orders:"));
        assert.ok(ordersKeys.length > 200, `${ordersKeys.length} keys of orders on the old group`);
        const retire = () =>
            runRedisMoveJob({
                step: "retire",
                app: orders,
                source: { group: source, name: "default", adminPassword: source.options.passwords.admin },
                target: { group: target, name: "b", adminPassword: target.options.passwords.admin },
            });

        await tadmin.set(moveMarkKey(orders), "copying from default");
        const early = await retire();
        assert.notEqual(early.code, 0, early.output);
        assert.match(early.output, /not marked "copied from default".*nothing is deleted/);
        await tadmin.set(moveMarkKey(orders), "copied from default");
        // A users file that has orders on again (a rollback): nothing is deleted either.
        await source.reconfigure({ apps: config.apps, movedOutApps: [] });
        const on = await retire();
        assert.notEqual(on.code, 0, on.output);
        assert.match(on.output, /orders is still on .* nothing is deleted/);
        assert.deepEqual(await snapshots(), before);

        // retireOld: the old group's users file without orders.
        await source.reconfigure({ apps: [billing], movedOutApps: [] });
        const result = await retire();
        assert.equal(result.code, 0, result.output);
        assert.match(result.output, new RegExp(`deleted ${ordersKeys.length} keys of the application from default`));
        const after = await snapshots();
        assert.deepEqual(after.db1, new Map([...before.db1].filter(([k]) => !k.startsWith("orders:"))));
        assert.ok(after.db1.has("stray") && after.db1.has("billing:in-db-1"));
        assert.deepEqual(after.db2, before.db2, "another tenant's database is untouched");
        assert.deepEqual(after.target, before.target, "the copy is untouched");

        const again = await retire();
        assert.equal(again.code, 0, again.output);
        assert.match(again.output, /deleted 0 keys/);
        assert.deepEqual(await snapshots(), after);
    });

    it("a target holding the application's keys without a mark is never written over", async () => {
        const tadmin = await connect(target, "admin", 1);
        await tadmin.del(moveMarkKey(orders));
        const before = await snapshot(tadmin, 1);
        const refused = await run();
        assert.notEqual(refused.code, 0);
        assert.match(refused.output, /already holds keys of the application not copied from default/);
        assert.deepEqual(await snapshot(tadmin, 1), before);
    });

    for (const { what, sourceTls } of [
        {
            what: "over TLS (the groups of prod): the same copy, and the old copy's deletion, with each group's CA",
            sourceTls: true,
        },
        {
            what: "from a dedicated group without TLS to one with it (going back to TLS): each side as its group speaks",
            sourceTls: false,
        },
    ]) {
        it(what, async () => {
            const prod = parseStack("prod").redis;
            const tls = { mode: "standalone", tls: true, tlsCaCert: prod.tlsCaCert, dedicated: true };
            const source = sourceTls ? tls : { mode: "standalone", tls: false, dedicated: true };
            const { app, source: from, target: to } = await movingBetween({ a: source, b: tls }, "a", "b");
            const groupClients: Redis[] = [];
            try {
                const admin = (g: LocalRedisGroup) =>
                    new Redis({
                        host: LOOPBACK,
                        port: g.port("data", 0),
                        username: "admin",
                        password: g.options.passwords.admin,
                        db: 1,
                        ...(g.options.redis.tls
                            ? {
                                  tls: {
                                      ca: fs.readFileSync(path.join(g.layout.dirs.tls, "ca.crt")),
                                      servername: "localhost",
                                  },
                              }
                            : {}),
                        maxRetriesPerRequest: 0,
                    });
                const [a, b] = [admin(from), admin(to)];
                groupClients.push(a, b);
                await a.set("orders:bin", Buffer.from([0, 10, 255]), "PX", 600_000);
                const result = await runRedisMoveJob({
                    app,
                    source: { group: from, name: "a", adminPassword: from.options.passwords.admin },
                    target: { group: to, name: "b", adminPassword: to.options.passwords.admin },
                });
                assert.equal(result.code, 0, result.output);
                assert.match(result.output, /copied 1 keys/);
                assert.deepEqual(await b.getBuffer("orders:bin"), Buffer.from([0, 10, 255]));
                assert.equal(await b.call("PEXPIRETIME", "orders:bin"), await a.call("PEXPIRETIME", "orders:bin"));
                // retireOld: the old copy is deleted.
                await from.reconfigure({ apps: [], movedOutApps: [] });
                const retired = await runRedisMoveJob({
                    step: "retire",
                    app,
                    source: { group: from, name: "a", adminPassword: from.options.passwords.admin },
                    target: { group: to, name: "b", adminPassword: to.options.passwords.admin },
                });
                assert.equal(retired.code, 0, retired.output);
                assert.match(retired.output, /deleted 1 keys/);
                assert.equal(await a.exists("orders:bin"), 0);
                assert.deepEqual(await b.getBuffer("orders:bin"), Buffer.from([0, 10, 255]));
            } finally {
                // Before the groups stop: a client left connected would retry them through the next test.
                groupClients.forEach((c) => c.disconnect());
                await Promise.all([from.stop(), to.stop()]);
            }
        });
    }
});

describe("retireOld from a dedicated group to another on real servers: the application's databases whole", function () {
    this.timeout(120_000);

    it("copies and then deletes every key of its database, unprefixed ones included; the group's other databases stay as they were", async () => {
        const dedicated = { mode: "standalone", dedicated: true };
        const {
            app: orders,
            source: from,
            target: to,
        } = await movingBetween({ solo: dedicated, solo2: dedicated }, "solo", "solo2");
        const admin = client(from, "admin", 1);
        try {
            await admin.connect();
            // Celery's unprefixed keys (a dedicated group's application needs no prefix), and a key of database 3.
            await admin.set("celery", "queue");
            await admin.set("_kombu.binding.celery", "binding", "PX", 600_000);
            await admin.set("orders:x", "1");
            await admin.select(3);
            await admin.set("elsewhere", "kept");
            const other = await snapshot(admin, 3);
            const sides = {
                app: orders,
                source: { group: from, name: "solo", adminPassword: from.options.passwords.admin },
                target: { group: to, name: "solo2", adminPassword: to.options.passwords.admin },
            };
            const copied = await runRedisMoveJob(sides);
            assert.equal(copied.code, 0, copied.output);
            assert.match(copied.output, /copied 3 keys/);
            await from.reconfigure({ apps: [], movedOutApps: [] });
            const retired = await runRedisMoveJob({ ...sides, step: "retire" });
            assert.equal(retired.code, 0, retired.output);
            assert.match(retired.output, /deleted 3 keys/);
            assert.equal((await snapshot(admin, 1)).size, 0);
            assert.deepEqual(await snapshot(admin, 3), other);
        } finally {
            admin.disconnect();
            await Promise.all([from.stop(), to.stop()]);
        }
    });
});

describe("a copy that cannot read the old group fails on real servers, never marks the copy done", function () {
    this.timeout(120_000);

    it("a SCAN the old group refuses fails the Job; the target stays marked 'copying' (so retireOld deletes nothing)", async () => {
        const config = stack();
        const orders = config.apps.find((a) => a.name === "orders")!;
        const [from, to] = await startMove(config, orders, "default", "b");
        const admin = client(from, "admin", 1);
        const tadmin = client(to, "admin", 1);
        try {
            await Promise.all([admin.connect(), tadmin.connect()]);
            await admin.set("orders:a", "1");
            // The old group's admin loses SCAN only (the Job still finds the master and reads the mark).
            assert.equal(await admin.call("ACL", "SETUSER", "admin", "-scan"), "OK");
            const result = await runRedisMoveJob({
                app: orders,
                source: { group: from, name: "default", adminPassword: from.options.passwords.admin },
                target: { group: to, name: "b", adminPassword: to.options.passwords.admin },
            });
            assert.notEqual(result.code, 0, result.output);
            assert.match(result.output, /SCAN of orders:\* in database 1 .* failed/);
            assert.equal(await tadmin.get(moveMarkKey(orders)), "copying from default");
        } finally {
            admin.disconnect();
            tadmin.disconnect();
            await Promise.all([from.stop(), to.stop()]);
        }
    });
});

describe("the copy's speed on real servers: 2,000 keys under a write freeze", function () {
    this.timeout(300_000);
    const KEYS = 2000;
    /** Keys a second, at least: 40 ms a key (a redis-cli process per DUMP, RESTORE and PEXPIREAT) froze 10,000 keys ~7 min. */
    const AT_LEAST = 400;

    it(`copies ${KEYS} keys (half with an expiry) at ${AT_LEAST} keys/s or more`, async () => {
        const config = stack();
        const orders = config.apps.find((a) => a.name === "orders")!;
        // Already frozen on the old group (its users file keeps orders off): the Job's time is the copy's.
        const [from, to] = await startMove(config, orders, "default", "b");
        const admin = client(from, "admin", 1);
        try {
            await admin.connect();
            const pipeline = admin.pipeline();
            for (let i = 0; i < KEYS; i++) {
                if (i % 2 === 0) {
                    pipeline.set(`orders:k:${i}`, `value ${i}`, "PX", 600_000);
                } else {
                    pipeline.hset(`orders:h:${i}`, { field: String(i) });
                }
            }
            await pipeline.exec();
            const started = Date.now();
            const result = await runRedisMoveJob({
                app: orders,
                source: { group: from, name: "default", adminPassword: from.options.passwords.admin },
                target: { group: to, name: "b", adminPassword: to.options.passwords.admin },
            });
            const ms = Date.now() - started;
            assert.equal(result.code, 0, result.output);
            assert.match(result.output, new RegExp(`copied ${KEYS} keys`));
            const perSecond = Math.round((KEYS * 1000) / ms);
            console.log(`      ${KEYS} keys: job ${ms} ms (the freeze and the copy within it), ${perSecond} keys/s`);
            assert.ok(perSecond >= AT_LEAST, `${perSecond} keys/s`);
        } finally {
            admin.disconnect();
            await Promise.all([from.stop(), to.stop()]);
        }
    });
});
