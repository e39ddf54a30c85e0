/**
 * The rendered prod Redis files on real redis-server / redis-sentinel: cold start of the whole group at once,
 * ACLs of every user, passwords only as hashes on disk, and the preStop hand-over (stack timers).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import Redis from "ioredis";
import { FILES, promisedFailoverSeconds } from "../../../components/redis/files";
import { waitFor } from "../../../testbed/servers/processes";
import { LOOPBACK, LocalRedisGroup } from "../../../testbed/servers/redis";
import { waitHealthy } from "../../../testbed/servers/redisStack";
import { Writer, appClient, sentinelMaster } from "../../../testbed/servers/redisClients";
import { parseStack } from "../../support/config";
import { expectError, localGroup, testPasswords, waitReplicaOf, withDiagnostics } from "../../support/redis";

const prod = parseStack("prod");
const promise = promisedFailoverSeconds(prod.redis);

describe("Redis Sentinel group on real servers (rendered prod config)", function () {
    this.timeout(90_000);

    describe("cold start of 3 data nodes and 3 Sentinels at once, and ACLs", () => {
        let g: LocalRedisGroup;
        before(async () => {
            g = await localGroup("prod", { tls: false });
            g.startAll();
            await waitHealthy(g, 30_000);
        });
        after(() => g?.stop());

        it("has exactly one master, ordinal 0, named by every Sentinel, with both replicas linked", async () => {
            assert.deepEqual(await g.masters(), [0]);
            assert.deepEqual(
                await g.sentinelViews(),
                [0, 0, 0].map(() => `${LOOPBACK}:${g.port("data", 0)}`),
            );
            assert.equal((await g.runScript("data", 1, FILES.readyRedis)).code, 0);
            assert.equal((await g.runScript("data", 2, FILES.readyRedis)).code, 0);
            assert.equal((await g.runScript("data", 0, FILES.liveRedis)).code, 0);
            // Sentinels found each other through the peer user: a failover could be authorised.
            assert.match(
                String(await g.command("sentinel", 0, "SENTINEL", "CKQUORUM", prod.redis.masterName)),
                /^OK 3 usable Sentinels/,
            );
            assert.equal((await g.runScript("sentinel", 1, FILES.readySentinel)).code, 0);
        });

        it("announces addresses given in the layout, never anything else", async () => {
            const replicas = (await g.command(
                "sentinel",
                0,
                "SENTINEL",
                "REPLICAS",
                prod.redis.masterName,
            )) as string[][];
            const addresses = replicas.map((r) => `${r[r.indexOf("ip") + 1]}:${r[r.indexOf("port") + 1]}`).sort();
            assert.deepEqual(addresses, [1, 2].map((i) => `${LOOPBACK}:${g.port("data", i)}`).sort());
        });

        it("the monitor user reads but cannot write", async () => {
            const client = new Redis({
                host: LOOPBACK,
                port: g.port("data", 0),
                username: "monitor",
                password: g.options.passwords.monitor,
                lazyConnect: true,
                retryStrategy: () => null,
            });
            client.on("error", () => undefined);
            try {
                await client.connect();
                assert.match(await client.info("replication"), /role:master/);
                await expectError(client.set("x", "1"), /NOPERM/);
                await expectError(client.call("FLUSHALL"), /NOPERM/);
            } finally {
                client.disconnect();
            }
        });

        it("an application user cannot touch another application's database or keys", async () => {
            const [orders, billing] = ["orders", "billing"].map((name) => prod.apps.find((a) => a.name === name)!);
            const billingClient = appClient(g, "billing", 0);
            const ordersClient = appClient(g, "orders", 0);
            try {
                await billingClient.connect();
                await ordersClient.connect();
                assert.equal(await billingClient.set("billing:1", "x"), "OK");
                await expectError(billingClient.set("orders:1", "x"), /NOPERM/);
                await expectError(billingClient.select(orders.redisDb), /NOPERM/);
                await expectError(ordersClient.select(billing.redisDb), /NOPERM/);
                await expectError(ordersClient.call("FLUSHALL"), /NOPERM/);
                await expectError(ordersClient.call("KEYS", "*"), /NOPERM/);
                await expectError(ordersClient.call("CONFIG", "GET", "*"), /NOPERM/);
                assert.equal(await ordersClient.set("orders:1", "x"), "OK");
            } finally {
                billingClient.disconnect();
                ordersClient.disconnect();
            }
        });

        it("an application without key patterns starts in database 0, which holds no application data (why config refuses redisDb 0)", async () => {
            assert.ok(prod.apps.some((a) => a.name === "search" && a.redisKeyPatterns.length === 0));
            assert.ok(prod.apps.every((a) => a.redisDb !== 0));
            const client = new Redis({
                host: LOOPBACK,
                port: g.port("data", 0),
                username: "search",
                password: g.options.passwords.apps.search,
                lazyConnect: true,
                retryStrategy: () => null,
            });
            client.on("error", () => undefined);
            try {
                await client.connect();
                // No SELECT: the connection is in database 0. ACLs cannot keep it out, but no application keeps data there.
                assert.equal(await client.dbsize(), 0);
                assert.equal(await client.get("search:1"), null);
                // Key names keep it from other applications' keys there too.
                await expectError(client.get("orders:1"), /NOPERM/);
                await expectError(client.select(prod.apps.find((a) => a.name === "orders")!.redisDb), /NOPERM/);
            } finally {
                client.disconnect();
            }
        });

        it("the default user cannot log in; Sentinel rejects unauthenticated clients", async () => {
            for (const [role, port] of [
                ["data", g.port("data", 0)],
                ["sentinel", g.port("sentinel", 0)],
            ] as const) {
                const anonymous = new Redis({
                    host: LOOPBACK,
                    port,
                    lazyConnect: true,
                    retryStrategy: () => null,
                    enableReadyCheck: false,
                });
                anonymous.on("error", () => undefined);
                try {
                    await anonymous.connect();
                    await expectError(anonymous.ping(), /NOAUTH/);
                    if (role === "data") {
                        await expectError(anonymous.call("AUTH", "default", g.options.passwords.admin), /WRONGPASS/);
                        await expectError(anonymous.call("AUTH", "default", ""), /WRONGPASS/);
                    }
                } finally {
                    anonymous.disconnect();
                }
            }
            // Clients' Sentinel password discovers the master but cannot steer the group.
            const client = new Redis({
                host: LOOPBACK,
                port: g.port("sentinel", 0),
                password: g.options.passwords.sentinelClient,
                lazyConnect: true,
                retryStrategy: () => null,
                enableReadyCheck: false,
            });
            client.on("error", () => undefined);
            try {
                await client.connect();
                assert.deepEqual(await client.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", prod.redis.masterName), [
                    LOOPBACK,
                    String(g.port("data", 0)),
                ]);
                await expectError(client.call("SENTINEL", "FAILOVER", prod.redis.masterName), /NOPERM/);
                await expectError(client.call("SENTINEL", "SET", prod.redis.masterName, "quorum", "1"), /NOPERM/);
            } finally {
                client.disconnect();
            }
        });

        it("keeps passwords out of the rendered files and ACL files (hashes only)", () => {
            const { apps, ...roles } = testPasswords(prod);
            const secrets = [...Object.values(roles), ...Object.values(apps)].filter(
                (v): v is string => typeof v === "string",
            );
            const acl = g.layout.dirs.acl;
            for (const file of ["users.acl", "sentinel-users.acl"]) {
                const text = fs.readFileSync(path.join(acl, file), "utf8");
                assert.ok(
                    secrets.every((s) => !text.includes(s)),
                    `${file} contains a password`,
                );
                assert.match(text, /#[0-9a-f]{64}/);
            }
            const config = g.dirsFor("redis-0").config;
            for (const file of fs.readdirSync(config)) {
                const text = fs.readFileSync(path.join(config, file), "utf8");
                assert.ok(
                    secrets.every((s) => !text.includes(s)),
                    `${file} contains a password`,
                );
            }
        });

        it("preStop on the master pauses writes, hands over to a replica and waits for it; no acknowledged write is lost", () =>
            withDiagnostics(g, async () => {
                const first = (await g.masters())[0];
                const writer = new Writer(g, "orders", "orders:prestop");
                await waitFor("acknowledged writes", 10_000, async () =>
                    writer.acknowledged.length >= 20 ? true : undefined,
                );
                const started = Date.now();
                const hook = await g.runScript("data", first, FILES.preStopRedis);
                assert.equal(hook.code, 0, hook.output);
                assert.match(hook.output, /Sentinels now name/);
                const next = await sentinelMaster(g);
                assert.ok(next >= 0 && next !== first, `Sentinels name redis-${next}`);
                assert.ok(
                    Date.now() - started < promise * 1000,
                    "a planned hand-over is faster than failure detection",
                );
                await waitFor("a write on the new master", 10_000, async () => writer.firstAcceptedOn(next, started));
                await writer.stop();
                // Then the kubelet stops the container and the pod starts again: the start script makes it a replica.
                await g.kill("data", first, "SIGTERM");
                g.start("data", first);
                await waitReplicaOf(g, first, next, 30_000);
                const client = appClient(g, "orders", next);
                await client.connect();
                const values = await client.mget(writer.acknowledged);
                client.disconnect();
                const lost = writer.acknowledged.filter((_, i) => values[i] === null);
                assert.deepEqual(
                    lost,
                    [],
                    `${lost.length} of ${writer.acknowledged.length} acknowledged writes lost; redis-${first} -> redis-${next}`,
                );
            }));

        it("preStop on a replica does nothing", async () => {
            const masters = await g.masters();
            const replica = [0, 1, 2].find((i) => !masters.includes(i))!;
            const hook = await g.runScript("data", replica, FILES.preStopRedis);
            assert.equal(hook.code, 0, hook.output);
            assert.equal(hook.output, "");
            assert.deepEqual(await g.masters(), masters);
        });
    });
});
