/**
 * Lifecycle scenario on real servers (prod): an application added whose namespace someone already made. The stack
 * creates its namespace (createNamespace: true), which Kubernetes refuses (AlreadyExists: pulumi-kubernetes 4.29+ no
 * longer upserts, its CHANGELOG, #2926); with `import: [namespace]` Pulumi's `import` option adopts it and the
 * application connects.
 */
import { strict as assert } from "assert";
import { baseline, editApp, plan, scenario, stackVariant, withLifecycle } from "../support/lifecycle";

const PAYMENTS = { name: "payments", namespace: "payments", redisDb: 4, poolSize: 5, replicas: 2 };

scenario(
    "lifecycle on real servers: applications added and removed (prod)",
    "adding an application whose namespace exists: refused as already existing, then imported (import: namespace)",
    async () => {
        const add = (c: Record<string, any>) => c["data-platform:apps"].push({ ...PAYMENTS });
        const [plain, imported] = await Promise.all([
            plan("prod", stackVariant("prod", add)),
            plan(
                "prod",
                stackVariant("prod", (c) => {
                    add(c);
                    editApp("payments", (app) => (app.import = ["namespace"]))(c);
                }),
            ),
        ]);
        const l = await withLifecycle("prod", baseline("prod"), async (lifecycle) => {
            await lifecycle.createNamespaceOutsideStack("payments");
            const refused = await lifecycle.apply(plain);
            assert.deepEqual(
                refused.failedSteps.filter((s) => /Namespace/.test(s)),
                ["kubernetes:core/v1:Namespace app-payments-ns"],
            );
            assert.match(
                lifecycle.failuresOf(/create of kubernetes:core\/v1:Namespace/).join("\n"),
                /namespaces "payments" already exists/,
            );
            const next = lifecycle.timeline.events.length;
            assert.deepEqual((await lifecycle.apply(imported)).failedSteps, []);
            const after = lifecycle.timeline.events.slice(next).flatMap((e) => e.failures);
            assert.deepEqual(after, [], "after the import");
            assert.deepEqual(await lifecycle.appAccess("payments"), { postgres: undefined, redis: undefined });
        });
        assert.equal(l.summary().failedConnections, 0);
    },
);
