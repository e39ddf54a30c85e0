/**
 * Lifecycle scenario on real servers (prod): a login Job that fails (a reserved role name), then the config fixed.
 * The failed Job is replaced (`pulumi.com/replaceUnready`), the fixed one runs, and every application connects,
 * the one added with it too.
 */
import { strict as assert } from "assert";
import { baseline, plan, scenario, stackVariant, withLifecycle } from "../support/lifecycle";

scenario(
    "lifecycle on real servers: a failed login Job, then the config fixed (prod)",
    "a login Job that fails, then the config fixed: the next up runs the fixed Job and every app connects",
    async () => {
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
    },
);
