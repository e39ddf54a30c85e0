/**
 * Lifecycle scenario on real servers (prod, TLS): a full restart of the Redis group after a failover, with a replica
 * that lost its volume.
 */
import { assertNoFailures, baseline, scenario, withLifecycle } from "../support/lifecycle";

scenario(
    "lifecycle on real servers: full restarts (prod)",
    "every Redis pod restarted after a replica lost its volume: it resyncs, no acknowledged write lost",
    async () => {
        const l = await withLifecycle("prod", baseline("prod"), async (lifecycle) => {
            // After the failover redis-0 is a replica; its disk is gone when the group comes back.
            await lifecycle.failover();
            await lifecycle.restartAll([0]);
        });
        assertNoFailures(l, "restarting every Redis pod after redis-0 lost its volume");
    },
);
