/**
 * Day-2 changes reach the running servers without a restart (rendered prod config, real servers): a new
 * application's user, and a rotation of every Redis credential at once while clients keep running. The Secret
 * changes as the kubelet changes a mounted Secret (one atomic swap); only the pods' sidecars act on it.
 */
import { strict as assert } from "assert";
import Redis from "ioredis";
import type { RedisPasswords } from "../../../components/redis/acl";
import { FILES } from "../../../components/redis/files";
import { waitFor } from "../../../testbed/servers/processes";
import { LOOPBACK, LocalRedisGroup, redisPorts } from "../../../testbed/servers/redis";
import { waitHealthy } from "../../../testbed/servers/redisStack";
import { Writer, appClient, sentinelMaster } from "../../../testbed/servers/redisClients";
import { parseStack } from "../../support/config";
import { testPasswords, waitReplicaOf, withDiagnostics } from "../../support/redis";

const prod = parseStack("prod", {});

/** Every data node and Sentinel accepts `user`/`password` (Sentinel: its `default` user when `user` is undefined). */
async function accepts(
    g: LocalRedisGroup,
    role: "data" | "sentinel",
    ordinal: number,
    user: string | undefined,
    password: string,
): Promise<boolean> {
    const client = new Redis({
        host: LOOPBACK,
        port: g.port(role, ordinal),
        username: user,
        password,
        tls: g.options.redis.tls ? { ca: g.caCertificate() } : undefined,
        lazyConnect: true,
        retryStrategy: () => null,
        enableReadyCheck: false,
        maxRetriesPerRequest: 0,
    });
    client.on("error", () => undefined);
    try {
        await client.connect();
        return (await client.ping()) === "PONG";
    } catch {
        return false;
    } finally {
        client.disconnect();
    }
}

function pids(g: LocalRedisGroup): string {
    return JSON.stringify(g.processes().map((p) => [p.role, p.ordinal, p.pid]));
}

describe("Redis Sentinel group on real servers: changes applied live (rendered prod config)", function () {
    this.timeout(120_000);

    describe("adding an application", () => {
        let g: LocalRedisGroup;
        const [added, ...kept] = [...prod.apps].reverse();
        before(async () => {
            const passwords = testPasswords(prod);
            const { [added.name]: _dropped, ...keptPasswords } = passwords.apps;
            g = new LocalRedisGroup({
                redis: { ...prod.redis, tls: false },
                apps: kept,
                passwords: { ...passwords, apps: keptPasswords },
                ports: await redisPorts(prod.redis),
            });
            g.startAll();
            await waitHealthy(g, 30_000);
        });
        after(() => g?.stop());

        it("the new user logs in on every data node within seconds; nothing restarts, fails over or disconnects", () =>
            withDiagnostics(g, async () => {
                const master = (await g.masters())[0];
                const before = pids(g);
                const existing = appClient(g, kept[0].name, master);
                await existing.connect();
                const id = await existing.client("ID");
                await g.reconfigure({ apps: prod.apps, passwords: testPasswords(prod) });
                const password = testPasswords(prod).apps[added.name];
                await waitFor(`${added.name} accepted by every data node`, 15_000, async () => {
                    const ok = await Promise.all(
                        g.layout.dataNodes.map((_, i) => accepts(g, "data", i, added.name, password)),
                    );
                    return ok.every(Boolean) ? true : undefined;
                });
                const client = appClient(g, added.name, master);
                await client.connect();
                assert.equal(await client.set(`${added.name}:live`, "1"), "OK");
                client.disconnect();
                assert.equal(await existing.client("ID"), id, "the existing connection was dropped");
                existing.disconnect();
                assert.equal(pids(g), before, "a process restarted");
                assert.deepEqual(await g.masters(), [master]);
            }));
    });

    describe("rotating every Redis credential at once", () => {
        let g: LocalRedisGroup;
        let old: RedisPasswords;
        before(async () => {
            old = testPasswords(prod);
            g = new LocalRedisGroup({
                redis: { ...prod.redis, tls: false },
                apps: prod.apps,
                passwords: old,
                ports: await redisPorts(prod.redis),
            });
            g.startAll();
            await waitHealthy(g, 30_000);
        });
        after(() => g?.stop());

        it("old and new passwords both work until the next rotation; probes, replication, preStop and failover keep working", () =>
            withDiagnostics(g, async () => {
                const master = (await g.masters())[0];
                const before = pids(g);
                const writer = new Writer(g, "orders", "orders:rotation");
                await waitFor("acknowledged writes", 10_000, async () =>
                    writer.acknowledged.length >= 10 ? true : undefined,
                );
                const rotate = (p: string) => `${p}-rotated`;
                const rotated: RedisPasswords = {
                    admin: rotate(old.admin),
                    monitor: rotate(old.monitor),
                    replication: rotate(old.replication!),
                    sentinel: rotate(old.sentinel!),
                    sentinelClient: rotate(old.sentinelClient!),
                    apps: Object.fromEntries(Object.entries(old.apps).map(([k, v]) => [k, rotate(v)])),
                    previous: { ...old, apps: old.apps },
                };
                await g.reconfigure({ passwords: rotated });
                // As soon as `redis-auth` holds the new passwords: probes pass with them.
                for (let i = 0; i < g.layout.dataNodes.length; i++) {
                    const live = await g.runScript("data", i, FILES.liveRedis);
                    assert.equal(live.code, 0, `redis-${i} liveness right after the rotation: ${live.output}`);
                }
                await waitFor("the new passwords accepted everywhere", 20_000, async () => {
                    const checks = [
                        ...g.layout.dataNodes.flatMap((_, i) => [
                            accepts(g, "data", i, "admin", rotated.admin),
                            accepts(g, "data", i, "monitor", rotated.monitor),
                            accepts(g, "data", i, "orders", rotated.apps.orders),
                        ]),
                        ...g.layout.sentinels.flatMap((_, i) => [
                            accepts(g, "sentinel", i, undefined, rotated.sentinelClient!),
                            accepts(g, "sentinel", i, "sentinel", rotated.sentinel!),
                        ]),
                    ];
                    return (await Promise.all(checks)).every(Boolean) ? true : undefined;
                });
                // The previous passwords still work: pods that started before the rotation keep connecting.
                for (let i = 0; i < g.layout.dataNodes.length; i++) {
                    assert.ok(
                        await accepts(g, "data", i, "orders", old.apps.orders),
                        `redis-${i}: previous app password`,
                    );
                    assert.ok(
                        await accepts(g, "data", i, "replication", old.replication!),
                        `redis-${i}: previous replication`,
                    );
                }
                assert.ok(await accepts(g, "sentinel", 0, undefined, old.sentinelClient!));
                assert.equal(pids(g), before, "a process restarted");
                // Every Sentinel uses the new password towards the data nodes and its peers once all accept it.
                await waitFor("Sentinels on the new password", 20_000, async () => {
                    const logs = g.layout.sentinels.map((_, i) => g.watcherLog("sentinel", i));
                    return logs.every((l) => /applied the changed users and credentials/.test(l)) ? true : undefined;
                });
                // A replica restarted now syncs with the new replication password.
                const replica = [0, 1, 2].find((i) => i !== master)!;
                await g.kill("data", replica, "SIGTERM");
                g.start("data", replica);
                await waitReplicaOf(g, replica, master, 30_000);
                // The admin user of preStop hands over; the Sentinels' own user authorises the failover.
                const started = Date.now();
                const hook = await g.runScript("data", master, FILES.preStopRedis);
                assert.equal(hook.code, 0, hook.output);
                assert.match(hook.output, /Sentinels now name/);
                const next = await sentinelMaster(g);
                assert.ok(next >= 0 && next !== master);
                await waitFor("a write on the new master", 10_000, async () => writer.firstAcceptedOn(next, started));
                await writer.stop();
                const reader = appClient(g, "orders", next);
                await reader.connect();
                const values = await reader.mget(writer.acknowledged);
                reader.disconnect();
                assert.equal(values.filter((v) => v === null).length, 0, "acknowledged writes lost");
            }));
    });
});
