/**
 * Restarts that follow a failover (rendered prod config, stack timers): every pod at once, with the Sentinels
 * slower to come back than the data nodes, and a replica that comes back with an empty volume.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import { FILES } from "../../../components/redis/files";
import { waitFor } from "../../../testbed/servers/processes";
import { LocalRedisGroup } from "../../../testbed/servers/redis";
import { waitHealthy } from "../../../testbed/servers/redisStack";
import { appClient, sentinelMaster } from "../../../testbed/servers/redisClients";
import { localGroup, waitReplicaOf, withDiagnostics } from "../../support/redis";

/** What start-redis.sh logs when a node that holds data found no Sentinel majority on its second attempt. */
const GAVE_UP = "waiting for the Sentinels to name a master";

/** Writes `count` keys on data node `ordinal`, each confirmed by a replica (`WAIT 1`). */
async function acknowledgedWrites(g: LocalRedisGroup, ordinal: number, prefix: string, count: number) {
    const client = appClient(g, "orders", ordinal);
    await client.connect();
    const keys = Array.from({ length: count }, (_, i) => `orders:${prefix}:${i}`);
    await client.mset(...keys.flatMap((k) => [k, "1"]));
    assert.ok(Number(await client.call("WAIT", "1", "2000")) >= 1, "no replica confirmed the writes");
    client.disconnect();
    return keys;
}

async function present(g: LocalRedisGroup, ordinal: number, keys: string[]): Promise<number> {
    const client = appClient(g, "orders", ordinal);
    await client.connect();
    const values = await client.mget(keys);
    client.disconnect();
    return values.filter((v) => v === "1").length;
}

describe("Redis Sentinel group on real servers: restarts after a failover (rendered prod config)", function () {
    this.timeout(120_000);

    describe("every pod restarted at once, the Sentinels last", () => {
        let g: LocalRedisGroup;
        before(async () => {
            g = await localGroup("prod", { tls: false });
        });
        after(() => g?.stop());

        it("the node with the newest data stays master: no node follows the bootstrap node on its own", () =>
            withDiagnostics(g, async () => {
                g.startAll();
                assert.equal(await waitHealthy(g, 30_000), 0);
                // A planned failover moves the master away from ordinal 0 (preStop, then the container stops);
                // redis-0 misses the newest writes.
                const hook = await g.runScript("data", 0, FILES.preStopRedis);
                assert.equal(hook.code, 0, hook.output);
                const master = await sentinelMaster(g);
                assert.ok(master > 0, `master after the failover: redis-${master}`);
                await g.kill("data", 0, "SIGTERM");
                const newest = await acknowledgedWrites(g, master, "newest", 200);
                // Everything goes down; the data nodes come back first, the Sentinels only after the nodes gave up
                // asking them once (a slow image pull, a node that drains last).
                await Promise.all([0, 1, 2].map((i) => g.kill("sentinel", i)));
                await Promise.all([1, 2].map((i) => g.kill("data", i)));
                const logged = [0, 1, 2].map((i) => g.log("data", i).length);
                [0, 1, 2].forEach((i) => g.start("data", i));
                await waitFor("every data node gave up asking the Sentinels once", 15_000, async () =>
                    [0, 1, 2].every((i) => g.log("data", i).slice(logged[i]).includes(GAVE_UP)) ? true : undefined,
                );
                [0, 1, 2].forEach((i) => g.start("sentinel", i));
                const after = await waitHealthy(g, 60_000);
                assert.equal(after, master, `redis-${after} is master, not redis-${master} that held the newest data`);
                for (let i = 0; i < 3; i++) {
                    if (i !== after) {
                        await waitReplicaOf(g, i, after, 30_000);
                    }
                    assert.equal(await present(g, i, newest), newest.length, `redis-${i} lost acknowledged writes`);
                }
            }));
    });

    describe("a replica that lost its volume", () => {
        let g: LocalRedisGroup;
        before(async () => {
            g = await localGroup("prod", { tls: false });
        });
        after(() => g?.stop());

        it("rejoins as a replica of the current master with all its data, and the master stays", () =>
            withDiagnostics(g, async () => {
                g.startAll();
                const master = await waitHealthy(g, 30_000);
                const keys = await acknowledgedWrites(g, master, "kept", 200);
                const replica = [0, 1, 2].find((i) => i !== master)!;
                await g.kill("data", replica);
                fs.rmSync(g.dirsFor(`redis-${replica}`).data, { recursive: true, force: true });
                g.start("data", replica);
                await waitReplicaOf(g, replica, master, 30_000);
                assert.deepEqual(await g.masters(), [master]);
                await waitFor("the replica's copy", 10_000, async () =>
                    (await present(g, replica, keys)) === keys.length ? true : undefined,
                );
            }));

        it("counts as healthy only once its master takes writes (min-replicas-to-write), as the writes above need", () =>
            withDiagnostics(g, async () => {
                const master = await waitHealthy(g, 30_000);
                // Two replicas cannot satisfy three: the master refuses writes, so the group is not healthy.
                assert.equal(await g.command("data", master, "CONFIG", "SET", "min-replicas-to-write", "3"), "OK");
                try {
                    await assert.rejects(
                        waitHealthy(g, 1500),
                        /timed out after 1500 ms waiting for a healthy Redis group/,
                    );
                } finally {
                    await g.command("data", master, "CONFIG", "SET", "min-replicas-to-write", "1");
                }
                assert.equal(await waitHealthy(g, 10_000), master);
            }));
    });
});
