/**
 * The rendered Redis files run on real redis-server / redis-sentinel (loopback, ports 27000-27899):
 * cold start, kill -9 and SIGSTOP of the master under writes, ACLs, Sentinel-aware clients with and
 * without TLS. Timings are the production defaults (down-after 5 s), not shortened.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import Redis from "ioredis";
import { PlatformConfig } from "../../components/config";
import type { RedisConfig } from "../../components/config/redis";
import { FILES, promisedFailoverSeconds } from "../../components/redis/files";
import { LOOPBACK, LocalRedisGroup, startRedis, waitFor, waitHealthy } from "../../tools/sandbox/redis";
import { byType, runStack } from "../support/program";
import { Writer, appClient, sentinelMaster, sleep, stackConfig, testPasswords } from "./redisHarness";

const prod = stackConfig("prod");

function group(basePort: number, overrides: Partial<RedisConfig> = {}, config: PlatformConfig = prod): LocalRedisGroup {
    const redis = { ...config.redis, ...overrides };
    return new LocalRedisGroup({ redis, apps: config.apps, passwords: testPasswords(config), basePort });
}

async function expectError(what: Promise<unknown>, pattern: RegExp): Promise<void> {
    await assert.rejects(what, (e: Error) => pattern.test(e.message), `expected ${pattern}`);
}

/** Waits until data node `ordinal` is a replica of `master` with its link up (its readiness probe passes). */
async function waitReplicaOf(g: LocalRedisGroup, ordinal: number, master: number, timeoutMs: number): Promise<void> {
    await waitFor(
        `redis-${ordinal} replicating from redis-${master}`,
        timeoutMs,
        async () => {
            const role = await g.command("data", ordinal, "ROLE");
            const ok =
                Array.isArray(role) &&
                role[0] === "slave" &&
                Number(role[2]) === g.port("data", master) &&
                (await g.runScript("data", ordinal, FILES.readyRedis)).code === 0;
            return ok ? true : undefined;
        },
        250,
    );
}

/** Runs `test`; on failure adds what the Sentinels did and the data nodes' last log lines. */
async function withDiagnostics(g: LocalRedisGroup, test: () => Promise<void>): Promise<void> {
    try {
        await test();
    } catch (e) {
        const events = g.layout.sentinels.map((_, i) =>
            g
                .log("sentinel", i)
                .split("\n")
                .filter((l) => /failover|switch|elected|promoted|reconf|convert|tilt|sdown|odown/.test(l))
                .join("\n"),
        );
        const nodes = g.layout.dataNodes.map(
            (_, i) => `redis-${i}:\n${g.log("data", i).split("\n").slice(-30).join("\n")}`,
        );
        (e as Error).message += `\n--- Sentinel events\n${events.join("\n")}\n--- data nodes\n${nodes.join("\n")}`;
        throw e;
    }
}

describe("Redis Sentinel group on real servers (rendered prod config)", function () {
    this.timeout(90_000);
    const promise = promisedFailoverSeconds(prod.redis);

    describe("cold start of 3 data nodes and 3 Sentinels at once, and ACLs", () => {
        const g = group(27000, { tls: false });
        before(async () => {
            g.startAll();
            await waitHealthy(g, 30_000);
        });
        after(() => g.stop());

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
            assert.deepEqual(
                addresses,
                [1, 2].map((i) => `${LOOPBACK}:${g.port("data", i)}`),
            );
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
                assert.equal(await client.get("orders:1"), null);
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
            const auth = g.layout.dirs.auth;
            for (const file of ["users.acl", "sentinel-users.acl"]) {
                const text = fs.readFileSync(path.join(auth, file), "utf8");
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

    describe("start-up rule when no Sentinel answers", () => {
        const g = group(27850, { tls: false });
        after(() => g.stop());

        it("only ordinal 0 without persisted data bootstraps as master; the others start as its replicas; with data it waits", async () => {
            [0, 1, 2].forEach((i) => g.start("data", i));
            await waitReplicaOf(g, 1, 0, 20_000);
            await waitReplicaOf(g, 2, 0, 20_000);
            assert.deepEqual(await g.masters(), [0]);
            assert.match(g.log("data", 0), /bootstrapping a new group as master/);
            assert.match(g.log("data", 1), /starting as replica of the bootstrap node/);
            // Restarted with its AOF and still no Sentinel: it must not claim the master role on its own.
            const client = appClient(g, "orders", 0);
            await client.connect();
            await client.set("orders:persisted", "1");
            client.disconnect();
            await g.kill("data", 0, "SIGTERM");
            g.start("data", 0);
            await waitFor("the waiting message", 15_000, async () =>
                /waiting for the Sentinels/.test(g.log("data", 0)) ? true : undefined,
            );
            assert.equal(await g.role(0), undefined, "redis-0 serves although no Sentinel named a master");
            assert.ok(g.pid("data", 0), "the start script keeps waiting (bounded by START_WAIT_SECONDS)");
        });
    });

    describe("kill -9 of the master under continuous writes", () => {
        const g = group(27150, { tls: false });
        after(() => g.stop());

        it(`promotes a replica within ${promise} s, loses no write acknowledged by WAIT 1, and the old master rejoins as a replica with its data`, () =>
            withDiagnostics(g, async () => {
                g.startAll();
                const first = await waitHealthy(g, 30_000);
                const writer = new Writer(g, "orders", "orders:kill");
                await waitFor("acknowledged writes", 10_000, async () =>
                    writer.acknowledged.length >= 50 ? true : undefined,
                );
                const killedAt = Date.now();
                await g.kill("data", first);
                const next = await waitFor("a new master named by the Sentinels", promise * 1000 + 5000, async () => {
                    const m = await sentinelMaster(g);
                    return m >= 0 && m !== first ? m : undefined;
                });
                const acceptedAt = await waitFor(
                    "a write accepted by the new master",
                    promise * 1000 + 5000,
                    async () => writer.firstAcceptedOn(next, killedAt),
                );
                await sleep(500);
                await writer.stop();
                const seconds = (acceptedAt - killedAt) / 1000;
                assert.ok(
                    seconds <= promise,
                    `first write on the new master after ${seconds} s; promised ${promise} s`,
                );

                const client = appClient(g, "orders", next);
                await client.connect();
                const values = await client.mget(writer.acknowledged);
                client.disconnect();
                const lost = writer.acknowledged.filter((_, i) => values[i] === null);
                assert.deepEqual(lost, [], `acknowledged writes lost: ${lost.length} of ${writer.acknowledged.length}`);

                // The old master restarts from its own persisted data and the rendered start script.
                g.start("data", first);
                await waitReplicaOf(g, first, next, 30_000);
                assert.deepEqual(await g.masters(), [next]);
                const old = appClient(g, "orders", first);
                await old.connect();
                const onOld = await old.mget(writer.acknowledged);
                old.disconnect();
                assert.equal(onOld.filter((v) => v === null).length, 0, "the rejoined node misses acknowledged writes");
                assert.match(g.log("data", first), /Sentinels name 127\.0\.0\.1:\d+ as master/);

                // A restarted Sentinel keeps its state from its volume: it names the new master at once.
                await g.kill("sentinel", 0);
                g.start("sentinel", 0);
                await waitFor("the restarted Sentinel", 10_000, async () => (await g.sentinelViews())[0] ?? undefined);
                assert.equal((await g.sentinelViews())[0], `${LOOPBACK}:${g.port("data", next)}`);
                assert.match(
                    g.log("sentinel", 0),
                    new RegExp(`persisted state: master 127\\.0\\.0\\.1:${g.port("data", next)}`),
                );
            }));
    });

    describe("a master restarted at once with its volume lost", () => {
        const g = group(27020, { tls: false });
        after(() => g.stop());

        it("does not come back as an empty master: the Sentinels fail over to a replica with the data", () =>
            withDiagnostics(g, async () => {
                g.startAll();
                const first = await waitHealthy(g, 30_000);
                const client = appClient(g, "orders", first);
                await client.connect();
                const keys = Array.from({ length: 100 }, (_, i) => `orders:kept:${i}`);
                await client.mset(...keys.flatMap((k) => [k, "1"]));
                assert.ok(Number(await client.call("WAIT", "2", "2000")) >= 1);
                client.disconnect();
                await g.kill("data", first);
                fs.rmSync(g.dirsFor(`redis-${first}`).data, { recursive: true, force: true });
                g.start("data", first);
                const next = await waitFor(
                    "a failover away from the emptied node",
                    promise * 1000 + 10_000,
                    async () => {
                        const m = await sentinelMaster(g);
                        return m >= 0 && m !== first ? m : undefined;
                    },
                );
                assert.match(g.log("data", first), /my data is gone and other nodes hold data: waiting for a failover/);
                await waitReplicaOf(g, first, next, 30_000);
                for (const ordinal of [next, first]) {
                    const reader = appClient(g, "orders", ordinal);
                    await reader.connect();
                    const values = await reader.mget(keys);
                    reader.disconnect();
                    assert.equal(values.filter((v) => v === "1").length, keys.length, `redis-${ordinal} lost data`);
                }
            }));
    });

    describe("a master frozen (SIGSTOP) past down-after, then resumed", () => {
        const g = group(27300, { tls: false });
        after(() => g.stop());

        it("refuses writes after it is resumed (min-replicas-to-write), loses no acknowledged write, and ends as a replica", () =>
            withDiagnostics(g, async () => {
                g.startAll();
                const first = await waitHealthy(g, 30_000);
                const writer = new Writer(g, "orders", "orders:stop");
                await waitFor("acknowledged writes", 10_000, async () =>
                    writer.acknowledged.length >= 50 ? true : undefined,
                );
                g.signal("data", first, "SIGSTOP");
                const frozenAt = Date.now();
                const next = await waitFor("a new master named by the Sentinels", promise * 1000 + 5000, async () => {
                    const m = await sentinelMaster(g);
                    return m >= 0 && m !== first ? m : undefined;
                });
                // Stay frozen past min-replicas-max-lag as well, as a partitioned master would.
                await sleep(Math.max(0, frozenAt + 11_000 - Date.now()));
                g.signal("data", first, "SIGCONT");
                await sleep(300);
                const stale = appClient(g, "orders", first);
                await stale.connect();
                await expectError(stale.set("orders:stale", "lost?"), /NOREPLICAS|READONLY/);
                stale.disconnect();
                await writer.stop();

                await waitReplicaOf(g, first, next, 30_000);
                assert.deepEqual(await g.masters(), [next]);
                const client = appClient(g, "orders", next);
                await client.connect();
                const values = await client.mget(writer.acknowledged);
                assert.equal(await client.get("orders:stale"), null);
                client.disconnect();
                assert.deepEqual(
                    writer.acknowledged.filter((_, i) => values[i] === null),
                    [],
                );
            }));
    });

    for (const tls of [false, true]) {
        describe(`a Sentinel-aware client (ioredis) configured only from the contract, TLS ${tls ? "on" : "off"}`, () => {
            const g = group(tls ? 27600 : 27450, { tls });
            after(() => g.stop());

            it("follows a failover to the new master", async () => {
                g.startAll();
                const first = await waitHealthy(g, 30_000);
                const env = g.env().billing;
                assert.equal(env.REDIS_TLS, String(tls));
                // Only contract values (plus the CA the application trusts).
                const tlsOptions = env.REDIS_TLS === "true" ? { ca: g.caCertificate() } : undefined;
                const client = new Redis({
                    sentinels: env.REDIS_SENTINEL_HOSTS.split(",").map((hp) => ({
                        host: hp.slice(0, hp.lastIndexOf(":")),
                        port: Number(hp.slice(hp.lastIndexOf(":") + 1)),
                    })),
                    name: env.REDIS_SENTINEL_MASTER,
                    sentinelPassword: env.REDIS_SENTINEL_PASSWORD,
                    username: env.REDIS_USERNAME,
                    password: env.REDIS_PASSWORD,
                    db: Number(env.REDIS_DB),
                    tls: tlsOptions,
                    sentinelTLS: tlsOptions,
                    enableTLSForSentinelMode: tlsOptions !== undefined,
                    maxRetriesPerRequest: 1,
                    retryStrategy: () => 200,
                });
                client.on("error", () => undefined);
                try {
                    assert.equal(await client.set("billing:before", "1"), "OK");
                    // Acknowledged by a replica, so it must survive the failover.
                    assert.ok(Number(await client.call("WAIT", "1", "2000")) >= 1);
                    const killedAt = Date.now();
                    await g.kill("data", first);
                    let lastError = "";
                    const seconds = await waitFor(
                        "a write through the client after the failover",
                        promise * 1000 + 10_000,
                        async () => {
                            try {
                                await client.set("billing:after", "2");
                                const role = (await client.call("ROLE")) as string[];
                                return role[0] === "master" && (await sentinelMaster(g)) !== first
                                    ? (Date.now() - killedAt) / 1000
                                    : undefined;
                            } catch (e) {
                                lastError = String(e);
                                return undefined;
                            }
                        },
                        100,
                    ).catch((e: Error) => {
                        throw new Error(`${e.message}; last client error: ${lastError}`);
                    });
                    assert.ok(seconds <= promise + 2, `client wrote again after ${seconds} s`);
                    assert.equal(await client.get("billing:before"), "1");
                    assert.equal(await client.get("billing:after"), "2");
                } finally {
                    client.disconnect();
                }
            });
        });
    }
});

describe("standalone Redis on a real server (rendered dev config)", function () {
    this.timeout(30_000);
    const dev = stackConfig("dev");
    const g = group(27750, {}, dev);
    after(() => g.stop());

    it("serves each application through REDIS_URL only, in its own database", async () => {
        g.startAll();
        await waitFor("the standalone master", 10_000, async () =>
            (await g.masters()).length === 1 ? true : undefined,
        );
        const env = g.env().billing;
        const billingDb = dev.apps.find((a) => a.name === "billing")!.redisDb;
        assert.match(
            env.REDIS_URL,
            new RegExp(`^redis://billing:[^@]*%[0-9A-F]{2}[^@]*@127\\.0\\.0\\.1:27750/${billingDb}$`),
        );
        const client = new Redis(env.REDIS_URL, { lazyConnect: true, retryStrategy: () => null });
        client.on("error", () => undefined);
        try {
            await client.connect();
            assert.equal(await client.set("billing:x", "1"), "OK");
            await expectError(client.set("orders:x", "1"), /NOPERM/);
            // Writes are not held back waiting for replicas that standalone mode does not have.
            assert.equal(await client.call("CONFIG", "GET", "min-replicas-to-write").catch(() => "denied"), "denied");
        } finally {
            client.disconnect();
        }
        assert.equal(
            await g.command("data", 0, "CONFIG", "GET", "min-replicas-to-write").then((r) => (r as string[])[1]),
            "0",
        );
    });
});

describe("sandbox: startRedis from a stack's mock run", function () {
    this.timeout(60_000);

    for (const [stack, basePort] of [
        ["dev", 27760],
        ["prod", 27770],
    ] as const) {
        it(`starts ${stack}'s Redis on loopback with each application's contract`, async () => {
            const run = await runStack(stack);
            const config = stackConfig(stack);
            const passwords = Object.fromEntries(
                byType(run, "random:index/randomPassword:RandomPassword").map((r) => [
                    r.name.replace(/^credentials-/, ""),
                    String(r.outputs.result),
                ]),
            );
            const started = await startRedis({ run, apps: config.apps, passwords, basePort });
            try {
                const expected = config.redis.mode === "sentinel" ? config.redis.replicas + config.redis.sentinels : 1;
                assert.equal(started.processes.length, expected);
                assert.ok(started.processes.every((p) => p.pid > 0 && p.port >= basePort));
                const env = started.env[config.apps[0].name];
                const tls = env.REDIS_TLS === "true" ? { ca: fs.readFileSync(started.tlsCaFile!) } : undefined;
                const client = env.REDIS_URL
                    ? new Redis(env.REDIS_URL, { lazyConnect: true, retryStrategy: () => null })
                    : new Redis({
                          sentinels: env.REDIS_SENTINEL_HOSTS.split(",").map((hp) => ({
                              host: hp.split(":")[0],
                              port: Number(hp.split(":")[1]),
                          })),
                          name: env.REDIS_SENTINEL_MASTER,
                          sentinelPassword: env.REDIS_SENTINEL_PASSWORD,
                          username: env.REDIS_USERNAME,
                          password: env.REDIS_PASSWORD,
                          db: Number(env.REDIS_DB),
                          tls,
                          sentinelTLS: tls,
                          enableTLSForSentinelMode: tls !== undefined,
                          lazyConnect: true,
                          retryStrategy: () => null,
                      });
                client.on("error", () => undefined);
                await client.connect();
                assert.equal(await client.set(`${config.apps[0].name}:sandbox`, "1"), "OK");
                client.disconnect();
            } finally {
                await started.stop();
            }
            assert.throws(() => process.kill(started.processes[0].pid, 0));
        });
    }
});
