/**
 * Lifecycle scenario on real servers (prod): a removed application added back. Its namespace, database and Key Vault
 * secrets were retained, so creating them again is refused by their providers (azure-native checks existence first:
 * "cannot create already existing resource"; pulumi-kubernetes 4.29+ gets AlreadyExists). With `import: [namespace,
 * database, secrets]` Pulumi's `import` option reads each and updates it to the program's inputs (pulumi/pulumi#19339),
 * and the application finds its data.
 */
import { strict as assert } from "assert";
import { dropApp, editApp, plan, scenario, stackVariant, withLifecycle, withSubscription } from "../support/lifecycle";
import type { Lifecycle } from "../../testbed/harness";

/** The failures of the events from `from` on. */
const failuresSince = (l: Lifecycle, from: number) =>
    l.timeline.events.slice(from).flatMap((e) => e.failures.map((f) => `+${e.at}s ${e.event}: ${f}`));

scenario(
    "lifecycle on real servers: applications added and removed (prod)",
    "re-adding a removed application: refused as already existing, then imported (import: namespace, database, secrets) with its data",
    async () => {
        const variant = (...edits: ((c: Record<string, any>) => void)[]) =>
            stackVariant("prod", (c) => [withSubscription, ...edits].forEach((edit) => edit(c)));
        const before = variant();
        const [retired, dropped, readded, imported] = await Promise.all([
            plan("prod", variant(editApp("search", (app) => (app.retired = true)))),
            plan("prod", variant(dropApp("search"))),
            plan("prod", before),
            plan("prod", variant(editApp("search", (app) => (app.import = ["namespace", "database", "secrets"])))),
        ]);
        let refusals: string[] = [];
        const l = await withLifecycle("prod", before, async (lifecycle) => {
            await lifecycle.queryAsApp("search", "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)");
            assert.deepEqual((await lifecycle.apply(retired)).failedSteps, []);
            assert.deepEqual((await lifecycle.apply(dropped)).failedSteps, []);

            // Added back as it was: what the removal retained is refused.
            const from = lifecycle.timeline.events.length;
            const plain = await lifecycle.apply(readded);
            refusals = failuresSince(lifecycle, from);
            assert.ok(plain.failedSteps.length > 0, "re-adding without import must fail");

            // With import: adopted; the checks after every event see it connect with its new Secret.
            const next = lifecycle.timeline.events.length;
            assert.deepEqual((await lifecycle.apply(imported)).failedSteps, []);
            assert.deepEqual(failuresSince(lifecycle, next), [], "after the import");
            assert.deepEqual(await lifecycle.appAccess("search"), { postgres: undefined, redis: undefined });
            assert.deepEqual(await lifecycle.queryAsApp("search", "SELECT v FROM kept"), [{ v: 42 }]);
        });
        const refused = refusals.join("\n");
        assert.match(refused, /namespaces "search" already exists/);
        assert.match(refused, /cannot create already existing resource 'search'/, "its database");
        assert.match(refused, /cannot create already existing resource 'pg-app-search'/, "its Key Vault secrets");
        assert.equal(l.summary().failedConnections, 0, "the other applications kept working");
    },
);
