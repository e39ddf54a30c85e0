/**
 * The rendered start script's rule when no Sentinel answers (data nodes only, no Sentinel timers involved).
 */
import { strict as assert } from "assert";
import { waitFor } from "../../../testbed/servers/processes";
import { LocalRedisGroup } from "../../../testbed/servers/redis";
import { appClient } from "../../../testbed/servers/redisClients";
import { localGroup, waitReplicaOf, withDiagnostics } from "../../support/redis";

describe("Redis Sentinel group on real servers (rendered prod config)", function () {
    this.timeout(90_000);

    describe("start-up rule when no Sentinel answers", () => {
        let g: LocalRedisGroup;
        before(async () => {
            g = await localGroup("prod", { tls: false });
        });
        after(() => g?.stop());

        it("only ordinal 0 without persisted data bootstraps as master; the others start as its replicas; with data it waits", () =>
            withDiagnostics(g, async () => {
                [0, 1, 2].forEach((i) => g.start("data", i));
                // 7.5 s on a quiet machine (two start script attempts, then the diskless sync's 5 s delay); the bound
                // the other files use leaves room for a loaded one (20 s was missed once under npm test).
                await waitReplicaOf(g, 1, 0, 30_000);
                await waitReplicaOf(g, 2, 0, 30_000);
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
            }));
    });
});
