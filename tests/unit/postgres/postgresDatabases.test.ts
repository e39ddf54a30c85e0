/**
 * Who creates the applications' databases on a Flexible Server (`postgres.azure.databases`, issue 26 item 6): the login
 * Job in one SQL run (`sql`, the default) or one ARM `dbforpostgresql.Database` each, one after another (`arm`: ARM
 * writes on one server are serial, see components/postgres/azure.ts), and the two-step way from one to the other that
 * neither deletes nor replaces anything. The SQL itself runs against a real server as Azure's admin in
 * tests/servers/postgres/postgresAzure.test.ts.
 */
import { strict as assert } from "assert";
import { toPlan } from "../../../offline/plan";
import { diffPlans } from "../../../offline/planDiff/diff";
import { DEPLOY_DURATIONS, criticalPath } from "../../../offline/criticalPath";
import type { RunResult } from "../../../offline/mockEngine";
import { postgresNames } from "../../../components/postgres/servers";
import { parseStack, problemLines, stackConfig } from "../../support/config";
import { Overrides, byName, byType, runStack } from "../../support/program";

const DATABASE = "azure-native:dbforpostgresql:Database";

/** prod's `postgres` section with `azure.databases` (and `azure` keys) set. */
function prodPostgres(databases: string, azure: Record<string, unknown> = {}): Record<string, any> {
    const pg = JSON.parse(stackConfig("prod").config["data-platform:postgres"]);
    return { ...pg, azure: { ...pg.azure, ...azure, databases } };
}

/** prod with `count` generated applications (one connection each) and its databases created by `databases`. */
function generated(count: number, databases: string): Overrides {
    const apps = Array.from({ length: count }, (_, i) => {
        const name = `app-${String(i + 1).padStart(3, "0")}`;
        return { name, namespace: name, redisDb: i + 1, poolSize: 1, replicas: 1 };
    });
    return {
        "data-platform:apps": apps,
        "data-platform:postgres": prodPostgres(databases),
        "data-platform:redis": {
            ...JSON.parse(stackConfig("prod").config["data-platform:redis"]),
            databases: count + 1,
        },
    };
}

/** The login Job's psql script as deployed (the ConfigMap of the stack's own server). */
function loginSql(run: RunResult): string {
    const configMap = byName(run, "kubernetes:core/v1:ConfigMap", "postgres-logins-sql");
    assert.equal(configMap.inputs.metadata.name, postgresNames({}).logins);
    return Object.values(configMap.inputs.data as Record<string, string>).join("\n");
}

describe("who creates the applications' databases on Azure (postgres.azure.databases)", function () {
    // Four program runs, two of 100 applications: minutes on a loaded machine.
    this.timeout(300_000);

    it("sql, the default: no Database resource; the login Job creates each missing database owned by its role", async () => {
        const { databases: _written, ...azure } = prodPostgres("arm").azure;
        const unset = { "data-platform:postgres": { ...prodPostgres("arm"), azure } };
        assert.equal(parseStack("prod", unset).postgres.azure.databases, "sql");
        const run = await runStack("prod", { "data-platform:postgres": prodPostgres("sql") });
        assert.deepEqual(byType(run, DATABASE), []);
        const sql = loginSql(run);
        for (const app of ["orders", "billing", "search"]) {
            assert.match(
                sql,
                new RegExp(
                    `^SELECT 'CREATE DATABASE "${app}" OWNER "${app}"' WHERE NOT EXISTS .*datname = '${app}'\\) \\\\gexec$`,
                    "m",
                ),
            );
        }
        // The Job still waits for every ARM write on the server (parameters: max_connections before any login).
        const job = byType(run, "kubernetes:batch/v1:Job").find((j) => j.name === "postgres-logins");
        assert.ok(job?.dependsOn.some((d) => d.endsWith("::postgres-param-pgbouncer-max-prepared-statements")));
    });

    it("arm (today's prod): one protected, retained Database per application, the login SQL creating none", async () => {
        const run = await runStack("prod");
        assert.equal(parseStack("prod").postgres.azure.databases, "arm");
        const databases = byType(run, DATABASE);
        assert.deepEqual(databases.map((d) => d.inputs.databaseName).sort(), ["billing", "orders", "search"]);
        assert.ok(databases.every((d) => d.options.protect && d.options.retainOnDelete));
        assert.doesNotMatch(loginSql(run), /CREATE DATABASE/);
    });

    it("sql: the deploy's critical path is the same at 10 and 100 applications; with arm it grows one Database per application", async () => {
        const [sql10, sql100, arm10, arm100] = await Promise.all(
            [
                [10, "sql"],
                [100, "sql"],
                [10, "arm"],
                [100, "arm"],
            ].map(([n, by]) =>
                runStack("prod", generated(n as number, by as string))
                    .then(toPlan)
                    .then(criticalPath),
            ),
        );
        assert.equal(sql100.seconds, sql10.seconds);
        assert.equal(sql100.steps.length, sql10.steps.length);
        assert.ok(!sql100.steps.some((s) => s.type === DATABASE));
        assert.equal(arm100.seconds - arm10.seconds, 90 * DEPLOY_DURATIONS[DATABASE].seconds);
        assert.ok(arm10.seconds > sql10.seconds);
    });

    it("arm -> release -> sql: nothing replaced or deleted; release unprotects the same inputs, sql drops them from the state only", async () => {
        const [arm, release, sql] = await Promise.all(
            ["arm", "release", "sql"].map((by) =>
                runStack("prod", { "data-platform:postgres": prodPostgres(by) }).then(toPlan),
            ),
        );
        const first = diffPlans(arm, release);
        assert.deepEqual(first.warnings, []);
        assert.deepEqual(first.removed, []);
        assert.deepEqual(first.added, []);
        const databases = first.changed.filter((c) => c.after.type === DATABASE);
        assert.equal(databases.length, 3);
        for (const c of databases) {
            assert.deepEqual(c.changes, [], `${c.after.name}: same inputs, no call to Azure`);
            assert.equal(c.after.options.protect, false);
            assert.equal(c.after.options.retainOnDelete, true);
        }
        // Besides, only the login Job and its SQL (which now creates what is missing), replaced as on any app change.
        assert.deepEqual(
            first.changed.filter((c) => c.after.type !== DATABASE).map((c) => c.after.name),
            ["postgres-logins", "postgres-logins-sql"],
        );

        const second = diffPlans(release, sql);
        assert.deepEqual(second.warnings, [], "no protected delete, no replacement");
        assert.deepEqual(second.added, []);
        assert.deepEqual(second.changed, [], "the login Job already creates the databases: nothing else changes");
        assert.deepEqual(second.removed.map((r) => r.name).sort(), [
            "postgres-db-billing",
            "postgres-db-orders",
            "postgres-db-search",
        ]);
        assert.ok(second.removed.every((r) => r.options.retainOnDelete && !r.options.protect));

        // Straight from arm to sql, the deletes of the protected Database resources are refused (the `up` would fail).
        const straight = diffPlans(arm, sql);
        assert.deepEqual(
            straight.warnings.map((w) => `${w.kind} ${w.resource.name} refused=${w.refused}`).sort(),
            ["billing", "orders", "search"].map((app) => `delete postgres-db-${app} refused=true`),
        );
    });

    it("sql: a retired application needs no Database step; import: [database] is refused, naming what the Job does", async () => {
        const apps = JSON.parse(stackConfig("prod").config["data-platform:apps"]);
        const retired = await runStack("prod", {
            "data-platform:postgres": prodPostgres("sql"),
            "data-platform:apps": apps.map((a: { name: string }) =>
                a.name === "search" ? { ...a, retired: true } : a,
            ),
        });
        assert.deepEqual(byType(retired, DATABASE), []);
        assert.doesNotMatch(loginSql(retired), /"search"/);
        const lines = problemLines("prod", {
            "azure-native:subscriptionId": "00000000-0000-0000-0000-000000000000",
            "data-platform:postgres": prodPostgres("sql"),
            "data-platform:apps": apps.map((a: { name: string }) =>
                a.name === "search" ? { ...a, import: ["database"] } : a,
            ),
        });
        assert.deepEqual(lines, [
            'data-platform:apps[2].import: given ["database"]; allowed: database only on a server of mode azure whose databases are ARM resources (postgres.azure.databases arm or release): elsewhere the login Job keeps a database that exists',
        ]);
    });
});
