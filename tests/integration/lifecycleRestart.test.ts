/**
 * Lifecycle scenarios on real servers (prod, TLS): full restarts of the Redis group after a failover and after a
 * replica lost its volume, and a login Job that fails and is then fixed by the next config change.
 */
import { strict as assert } from "assert";
import { assertNoFailures, baseline, plan, stackVariant, withLifecycle } from "../support/lifecycle";

describe("lifecycle on real servers: restarts and a failed login Job (prod)", function () {
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

    it("a login Job that fails, then the config fixed: the next up runs the fixed Job and every app connects", async () => {
        const app = { name: "ledger", namespace: "ledger", redisDb: 5, poolSize: 5, replicas: 2 };
        // pg_* role names are reserved by PostgreSQL: the Job's CREATE ROLE fails on a real server.
        const broken = stackVariant("prod", (c) => c["data-platform:apps"].push({ ...app, database: "pg_ledger" }));
        const fixed = stackVariant("prod", (c) => c["data-platform:apps"].push({ ...app, database: "ledger" }));
        const [brokenPlan, fixedPlan] = await Promise.all([plan("prod", broken), plan("prod", fixed)]);
        let brokenFailures: string[] = [];
        const l = await withLifecycle("prod", baseline("prod"), async (lifecycle) => {
            const first = await lifecycle.apply(brokenPlan);
            assert.equal(
                first.failedSteps.length,
                1,
                `the broken config's Job must fail: ${lifecycle.failuresOf().join("\n")}`,
            );
            brokenFailures = lifecycle.failuresOf();
            const events = lifecycle.timeline.events.length;
            await lifecycle.apply(fixedPlan);
            const after = lifecycle.timeline.events
                .slice(events)
                .flatMap((e) => e.failures.map((f) => `+${e.at}s ${e.event}: ${f}`));
            assert.deepEqual(after, [], "after the fix");
        });
        assert.ok(
            brokenFailures.some((f) => /Job postgres-logins-\w+ failed/.test(f)),
            brokenFailures.join("\n"),
        );
        void l;
    });
});
