/**
 * kill -9 of the master under continuous writes, with the stack's own Sentinel timers (down-after 5 s): this
 * scenario measures the promised failover time.
 */
import { strict as assert } from "assert";
import { promisedFailoverSeconds } from "../../../components/redis/files";
import { sleep, waitFor } from "../../../testbed/servers/processes";
import { LOOPBACK, LocalRedisGroup } from "../../../testbed/servers/redis";
import { waitHealthy } from "../../../testbed/servers/redisStack";
import { Writer, appClient, sentinelMaster } from "../../../testbed/servers/redisClients";
import { parseStack } from "../../support/config";
import { localGroup, waitReplicaOf, withDiagnostics } from "../../support/redis";

const promise = promisedFailoverSeconds(parseStack("prod").redis);

describe("Redis Sentinel group on real servers (rendered prod config)", function () {
    this.timeout(90_000);

    describe("kill -9 of the master under continuous writes", () => {
        let g: LocalRedisGroup;
        before(async () => {
            g = await localGroup("prod", { tls: false });
        });
        after(() => g?.stop());

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
});
