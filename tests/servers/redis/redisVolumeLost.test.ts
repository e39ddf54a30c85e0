/**
 * A master restarted at once with an empty volume must not come back as an empty master (stack timers: a
 * shorter down-after let a loaded two-core machine trigger false failovers that then blocked the real one).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import { promisedFailoverSeconds } from "../../../components/redis/files";
import { waitFor } from "../../../testbed/servers/processes";
import { LocalRedisGroup } from "../../../testbed/servers/redis";
import { waitHealthy } from "../../../testbed/servers/redisStack";
import { appClient, sentinelMaster } from "../../../testbed/servers/redisClients";
import { parseStack } from "../../support/config";
import { localGroup, waitReplicaOf, withDiagnostics } from "../../support/redis";

const promise = promisedFailoverSeconds(parseStack("prod").redis);

describe("Redis Sentinel group on real servers (rendered prod config)", function () {
    this.timeout(90_000);

    describe("a master restarted at once with its volume lost", () => {
        let g: LocalRedisGroup;
        before(async () => {
            g = await localGroup("prod", { tls: false });
        });
        after(() => g?.stop());

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
});
