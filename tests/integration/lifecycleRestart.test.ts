/**
 * Lifecycle scenarios on real servers (prod, TLS): full restarts of the Redis group after a failover and after a
 * replica lost its volume.
 */
import { assertNoFailures, baseline, withLifecycle } from "../support/lifecycle";

describe("lifecycle on real servers: full restarts (prod)", function () {
    this.timeout(240_000);

    it("every Redis pod restarted at once after a failover: one master again, no acknowledged write lost", async () => {
        const l = await withLifecycle("prod", baseline("prod"), async (lifecycle) => {
            await lifecycle.failover();
            await lifecycle.restartAll();
        });
        assertNoFailures(l, "restarting every Redis pod after a failover");
    });

    it("every Redis pod restarted after a replica lost its volume: it resyncs, no acknowledged write lost", async () => {
        const l = await withLifecycle("prod", baseline("prod"), async (lifecycle) => {
            // After the failover redis-0 is a replica; its disk is gone when the group comes back.
            await lifecycle.failover();
            await lifecycle.restartAll([0]);
        });
        assertNoFailures(l, "restarting every Redis pod after redis-0 lost its volume");
    });
});
