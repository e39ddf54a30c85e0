/**
 * Lifecycle scenario on real servers (prod: Azure-like PostgreSQL, Sentinel Redis with TLS): an application's entry
 * dropped at once, applied as `pulumi up` would. Production protects the application's namespace and database, and
 * Pulumi refuses to delete a protected resource whatever `retainOnDelete` says (Pulumi docs, "protect";
 * pulumi/pulumi step.go): the `up` fails there. Putting the entry back with `retired: true` unprotects them, and
 * dropping it then goes through: no `pulumi state unprotect`. The planned two-step removal is
 * lifecycleAppsRetire.test.ts.
 */
import { strict as assert } from "assert";
import { baseline, dropApp, editApp, plan, scenario, stackVariant, withLifecycle } from "../support/lifecycle";

const REFUSED = /cannot be deleted because it is protected/;

scenario(
    "lifecycle on real servers: applications added and removed (prod)",
    "dropping an application's entry at once: refused on its protected database, the others keep working; retired: true then lets it go",
    async () => {
        const [dropped, retired] = await Promise.all([
            plan("prod", stackVariant("prod", dropApp("search"))),
            plan(
                "prod",
                stackVariant(
                    "prod",
                    editApp("search", (app) => (app.retired = true)),
                ),
            ),
        ]);
        let recovery: string[] = [];
        const l = await withLifecycle("prod", baseline("prod"), async (lifecycle) => {
            const refused = await lifecycle.apply(dropped);
            assert.deepEqual(refused.failedSteps, ["delete azure-native:dbforpostgresql:Database postgres-db-search"]);
            assert.ok(await lifecycle.hasDatabase("search"), "the database is still there");
            assert.ok(lifecycle.hasNamespace("search"), "the namespace is still there");
            const from = lifecycle.timeline.events.length;
            assert.deepEqual((await lifecycle.apply(retired)).failedSteps, []);
            assert.deepEqual((await lifecycle.apply(dropped)).failedSteps, []);
            recovery = lifecycle.timeline.events.slice(from).flatMap((e) => e.failures);
        });
        const s = l.summary();
        assert.match(
            l.failuresOf(/^pulumi up failed$/).join("\n"),
            /postgres-db-search" cannot be deleted because it is protected/,
        );
        assert.deepEqual(
            s.failures.filter((f) => !REFUSED.test(f)),
            [],
            "nothing but the refusal: every other application keeps working",
        );
        assert.deepEqual(recovery, [], "retired, then dropped again");
        assert.equal(s.failedConnections, 0);
    },
);
