/** Lifecycle scenario on real servers (prod, TLS): a full restart of the Redis group after a failover. */
import { assertNoFailures, baseline, scenario, withLifecycle } from "../support/lifecycle";

scenario(
    "lifecycle on real servers: full restarts (prod)",
    "every Redis pod restarted at once after a failover: one master again, no acknowledged write lost",
    async () => {
        const l = await withLifecycle("prod", baseline("prod"), async (lifecycle) => {
            await lifecycle.failover();
            await lifecycle.restartAll();
        });
        assertNoFailures(l, "restarting every Redis pod after a failover");
    },
);
