/**
 * Lifecycle scenario on real servers (prod with `postgres.azure.databases: sql`: the login Job creates the databases,
 * no Database resource): an application retired, dropped, then added back. Retiring and dropping touch no database
 * (it was never a resource of the stack); re-added, its database is adopted by the login Job (no `import: [database]`,
 * which the config refuses there), with its data.
 */
import { strict as assert } from "assert";
import {
    assertNoFailures,
    dropApp,
    editApp,
    plan,
    scenario,
    stackVariant,
    withLifecycle,
    withSubscription,
} from "../support/lifecycle";

function sqlVariant(...edits: ((c: Record<string, any>) => void)[]): string {
    return stackVariant("prod", (c) => {
        const pg = c["data-platform:postgres"];
        pg.azure = { ...pg.azure, databases: "sql" };
        [withSubscription, ...edits].forEach((edit) => edit(c));
    });
}

scenario(
    "lifecycle on real servers: applications added and removed (prod, databases by the login Job)",
    "retire, drop and re-add (import: namespace, secrets) an application whose database the login Job made: its data kept",
    async () => {
        const before = sqlVariant();
        const [retired, dropped, readded] = await Promise.all([
            plan("prod", sqlVariant(editApp("search", (app) => (app.retired = true)))),
            plan("prod", sqlVariant(dropApp("search"))),
            plan("prod", sqlVariant(editApp("search", (app) => (app.import = ["namespace", "secrets"])))),
        ]);
        const l = await withLifecycle("prod", before, async (lifecycle) => {
            await lifecycle.queryAsApp("search", "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)");
            assert.deepEqual((await lifecycle.apply(retired)).failedSteps, []);
            const access = await lifecycle.appAccess("search");
            assert.match(access.postgres ?? "accepted", /is not permitted to log in/, "its logins lost LOGIN");
            assert.deepEqual((await lifecycle.apply(dropped)).failedSteps, []);
            assert.ok(await lifecycle.hasDatabase("search"), "the database stays");

            assert.deepEqual((await lifecycle.apply(readded)).failedSteps, []);
            assert.deepEqual(await lifecycle.appAccess("search"), { postgres: undefined, redis: undefined });
            assert.deepEqual(await lifecycle.queryAsApp("search", "SELECT v FROM kept"), [{ v: 42 }]);
        });
        assertNoFailures(l, "retiring, dropping and re-adding search with its database made by the login Job");
    },
);
