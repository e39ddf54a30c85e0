/**
 * Lifecycle scenario on real servers (prod): an application removed in two steps, each applied as `pulumi up` would.
 * 1. `retired: true`: the application loses its access as if removed (logins NOLOGIN, Redis user deleted, Secret
 *    gone), and its protected namespace and database stay registered with `protect: false`: an options-only change,
 *    no call to Azure or Kubernetes (Pulumi docs, "protect": set `protect: false` and run `pulumi up`).
 * 2. The entry dropped: both leave the stack, retained (`retainOnDelete`: "the resource will not be deleted from the
 *    backing cloud provider, but will be removed from the Pulumi state"), with nothing Pulumi refuses, and no
 *    `pulumi state unprotect` with production credentials.
 */
import { strict as assert } from "assert";
import { toPlan } from "../../offline/plan";
import { diffPlans } from "../../offline/planDiff/diff";
import {
    assertNoFailures,
    baseline,
    dropApp,
    editApp,
    plan,
    scenario,
    stackVariant,
    withLifecycle,
} from "../support/lifecycle";

scenario(
    "lifecycle on real servers: applications added and removed (prod)",
    "removing an application in two steps (retired: true, then its entry dropped): no protected delete, its access gone, its namespace and database kept",
    async () => {
        const [retired, dropped] = await Promise.all([
            plan(
                "prod",
                stackVariant(
                    "prod",
                    editApp("search", (app) => (app.retired = true)),
                ),
            ),
            plan("prod", stackVariant("prod", dropApp("search"))),
        ]);
        // What plan:diff shows a reviewer for the second step: three removals, nothing refused or to acknowledge.
        const second = diffPlans(toPlan(retired.run), toPlan(dropped.run));
        assert.deepEqual(second.warnings, []);
        assert.deepEqual(second.removed.map((r) => r.name).sort(), [
            "app-search",
            "app-search-ns",
            "postgres-db-search",
        ]);

        const l = await withLifecycle("prod", baseline("prod"), async (lifecycle) => {
            assert.deepEqual((await lifecycle.apply(retired)).failedSteps, []);
            const access = await lifecycle.appAccess("search");
            assert.match(access.postgres ?? "accepted", /is not permitted to log in/, "its logins lost LOGIN");
            assert.match(access.redis ?? "accepted", /WRONGPASS/, "its Redis user is gone");
            assert.deepEqual((await lifecycle.apply(dropped)).failedSteps, []);
            assert.ok(lifecycle.hasNamespace("search"), "the namespace is retained");
            assert.ok(await lifecycle.hasDatabase("search"), "the database is retained");
        });
        assertNoFailures(l, "removing application search in two steps");
        assert.deepEqual(
            [...l.rolled("redis"), ...l.rolled("redis-sentinel")],
            [],
            "removing an app restarted Redis pods",
        );
    },
);
