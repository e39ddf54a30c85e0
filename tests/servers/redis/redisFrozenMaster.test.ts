/**
 * A master frozen (SIGSTOP) past down-after and min-replicas-max-lag, then resumed, with the stack's timers
 * (the freeze outlasts min-replicas-max-lag either way, so shorter timers would save nothing).
 */
import { strict as assert } from "assert";
import { promisedFailoverSeconds } from "../../../components/redis/files";
import { sleep, waitFor } from "../../../testbed/servers/processes";
import { LocalRedisGroup } from "../../../testbed/servers/redis";
import { waitHealthy } from "../../../testbed/servers/redisStack";
import { Writer, appClient, sentinelMaster } from "../../../testbed/servers/redisClients";
import { parseStack } from "../../support/config";
import { expectError, localGroup, waitReplicaOf, withDiagnostics } from "../../support/redis";

const promise = promisedFailoverSeconds(parseStack("prod").redis);

describe("Redis Sentinel group on real servers (rendered prod config)", function () {
    this.timeout(90_000);

    describe("a master frozen (SIGSTOP) past down-after, then resumed", () => {
        let g: LocalRedisGroup;
        before(async () => {
            g = await localGroup("prod", { tls: false });
        });
        after(() => g?.stop());

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
});
