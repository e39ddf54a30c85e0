/**
 * Lifecycle scenario on real servers (prod: Azure-like PostgreSQL, Sentinel Redis with TLS): prod's databases, ARM
 * resources (`postgres.azure.databases: arm`), handed to the login Job in two `up`s (README "Who creates the
 * databases"): `release` (the Database resources unprotected, same inputs; the Job now creates what is missing and
 * finds every database there), then `sql` (they leave the state, retained). Nothing is refused or deleted, the
 * applications keep their data and connections, and an application added afterwards gets its database from the Job.
 */
import { strict as assert } from "assert";
import { assertNoFailures, baseline, plan, scenario, stackVariant, withLifecycle } from "../support/lifecycle";

const databases = (by: string) => (config: Record<string, any>) => {
    const pg = config["data-platform:postgres"];
    pg.azure = { ...pg.azure, databases: by };
};

scenario(
    "lifecycle on real servers: who creates the databases (prod)",
    "arm -> release -> sql: no Database deleted or refused, data and connections kept; a new application's database comes from the login Job",
    async () => {
        const [release, sql, added] = await Promise.all([
            plan("prod", stackVariant("prod", databases("release"))),
            plan("prod", stackVariant("prod", databases("sql"))),
            plan(
                "prod",
                stackVariant("prod", (c) => {
                    databases("sql")(c);
                    c["data-platform:apps"].push({
                        name: "payments",
                        namespace: "payments",
                        redisDb: 4,
                        poolSize: 5,
                        replicas: 2,
                    });
                }),
            ),
        ]);
        const l = await withLifecycle("prod", baseline("prod"), async (lifecycle) => {
            await lifecycle.queryAsApp("search", "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)");
            assert.deepEqual((await lifecycle.apply(release)).failedSteps, []);
            assert.deepEqual((await lifecycle.apply(sql)).failedSteps, []);
            for (const app of ["orders", "billing", "search"]) {
                assert.ok(await lifecycle.hasDatabase(app), `${app}'s database is retained`);
            }
            assert.deepEqual(await lifecycle.queryAsApp("search", "SELECT v FROM kept"), [{ v: 42 }]);

            assert.ok(!(await lifecycle.hasDatabase("payments")));
            assert.deepEqual((await lifecycle.apply(added)).failedSteps, []);
            assert.deepEqual(await lifecycle.appAccess("payments"), { postgres: undefined, redis: undefined });
            await lifecycle.queryAsApp("payments", "CREATE TABLE first (v int)");
            assert.deepEqual(
                await lifecycle.queryAsApp(
                    "payments",
                    "SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = current_database()",
                ),
                [{ owner: "payments" }],
            );
        });
        assertNoFailures(l, "handing prod's databases from ARM to the login Job");
    },
);
