/**
 * Moving an application's database between servers (`apps[].postgres.movedFrom`, `retireOld`): what the config
 * refuses, what the program registers at each step (the copy Job on the new server, the bundle after it, the old
 * database kept and protected until `retireOld`), and `plan:diff` refusing a move without the marker.
 */
import { strict as assert } from "assert";
import { toPlan } from "../../../offline/plan";
import { diffPlans } from "../../../offline/planDiff/diff";
import type { RecordedResource, RunResult } from "../../../offline/mockEngine";
import type { ConfigIssue } from "../../../components/config/issues";
import { postgresConfigRules } from "../../../components/postgres/configRules";
import { parseStack, problemLines } from "../../support/config";
import { runStack } from "../../support/program";
import { runProblems } from "../../support/programChecks";

function section(stack: string): Record<string, unknown> {
    const { servers: _none, ...own } = parseStack(stack).postgres;
    return own;
}

/** prod with a second Flexible Server `reports`, application `search` placed by `postgres`. */
function withMove(postgres?: Record<string, unknown>, reports: Record<string, unknown> = {}) {
    return {
        "data-platform:postgres": { ...section("prod"), servers: { reports: { ...section("prod"), ...reports } } },
        "data-platform:apps": parseStack("prod").apps.map(({ name, namespace, redisDb, poolSize, replicas }) => ({
            name,
            namespace,
            redisDb,
            poolSize,
            replicas,
            ...(name === "search" && postgres ? { postgres } : {}),
        })),
    };
}

/** `withMove`'s overrides with `changes` in the stack's own server's section too. */
function withSql(overrides: ReturnType<typeof withMove>, changes: Record<string, unknown>) {
    const postgres = overrides["data-platform:postgres"] as Record<string, unknown>;
    return { ...overrides, "data-platform:postgres": { ...postgres, ...changes } };
}

const byName = (run: RunResult, name: string): RecordedResource | undefined =>
    run.resources.find((r) => r.name === name);

describe("moving an application's database between servers", function () {
    this.timeout(120_000);

    it("refuses a marker naming no server or its own, retireOld without the marker, and a target of an older major", () => {
        const lines = (postgres: Record<string, unknown>, reports?: Record<string, unknown>) =>
            problemLines("prod", withMove(postgres, reports));
        assert.deepEqual(lines({ server: "reports", movedFrom: "nope" }), [
            'data-platform:apps[2].postgres.movedFrom: given "nope"; allowed: one of default, reports (postgres.servers)',
        ]);
        assert.deepEqual(lines({ server: "reports", movedFrom: "reports" }), [
            'data-platform:apps[2].postgres.movedFrom: given "reports"; allowed: a server other than its own postgres.server (reports): the one it moves from',
        ]);
        assert.deepEqual(lines({ server: "reports", retireOld: true }), [
            "data-platform:apps[2].postgres.retireOld: given true; allowed: only with postgres.movedFrom (the server of the old copy)",
        ]);
        assert.deepEqual(lines({ server: "reports", movedFrom: "default" }, { version: "15" }), [
            'data-platform:apps[2].postgres.server: given "reports"; allowed: a server of PostgreSQL 16 or newer to move from default (reports runs 15: pg_restore cannot read a newer dump)',
        ]);
    });

    it("refuses a move in a tenant stack (the copy Job runs as both servers' admins)", () => {
        const config = {
            ...parseStack("prod", withMove({ server: "reports", movedFrom: "default" })),
            tenantStack: "shop",
        };
        const ctx = { issues: [] as ConfigIssue[] };
        postgresConfigRules(config, ctx);
        assert.deepEqual(
            ctx.issues.map((i) => `${i.path}: ${i.allowed}`),
            [
                "data-platform:apps[2].postgres.movedFrom: nothing in a tenant stack: its platform stack moves databases between servers (the copy Job runs as both servers' admins)",
            ],
        );
    });

    it("copies before the bundle switches, and keeps the old database protected until retireOld unprotects it", async () => {
        const [moving, retiring] = await Promise.all([
            runStack("prod", withMove({ server: "reports", movedFrom: "default" })),
            runStack("prod", withMove({ server: "reports", movedFrom: "default", retireOld: true })),
        ]);
        const job = byName(moving, "postgres-reports-move-search");
        assert.ok(job, "the copy Job on the new server");
        const env = (name: string) => job.inputs.spec.template.spec.containers[0].env.find((e: any) => e.name === name);
        assert.match(env("SOURCE_PGHOST").value, /^dp-prod-pg-[a-z0-9]+\.postgres\.database\.azure\.com$/);
        assert.match(env("TARGET_PGHOST").value, /^dp-prod-pg-reports-/);
        // The copy waits for the new server's login Job; the bundle waits for the copy.
        const logins = moving.resources.find((r) => r.name === "postgres-reports-logins");
        assert.ok(logins && job.dependencies.includes(logins.urn));
        const bundle = (app: string) => {
            const found = moving.resources.find(
                (r) => r.type === "azure-native:keyvault:Secret" && r.inputs.secretName === `app-${app}-env`,
            );
            assert.ok(found, `the bundle of ${app}`);
            return found;
        };
        assert.ok(bundle("search").dependencies.includes(job.urn), "the bundle waits for the copy Job");
        assert.ok(!bundle("orders").dependencies.includes(job.urn), "another application's does not");

        const old = byName(moving, "postgres-db-search");
        assert.equal(old?.options.protect, true, "the old copy stays protected");
        assert.ok(byName(moving, "postgres-reports-db-search"), "the new database");
        assert.equal(byName(retiring, "postgres-db-search")?.options.protect, false, "retireOld unprotects it");
        // The old server's login Job no longer gives the application its logins (its SQL turns them NOLOGIN).
        const sql = (name: string) => {
            const found = byName(moving, name);
            assert.ok(found, name);
            return String(found.inputs.data["logins.sql"]);
        };
        assert.ok(!sql("postgres-logins-sql").includes("-- search\n"), "search's block left the old server's SQL");
        assert.ok(sql("postgres-reports-logins-sql").includes("-- search\n"), "and is in the new server's");
    });

    it("with databases the login Job creates (postgres.azure.databases: sql): the new server's Job creates it, no ARM copy stays", async () => {
        const sql = { azure: { ...(section("prod").azure as object), databases: "sql" } };
        const run = await runStack("prod", withSql(withMove({ server: "reports", movedFrom: "default" }, sql), sql));
        assert.deepEqual(
            run.resources.filter((r) => r.type === "azure-native:dbforpostgresql:Database").map((r) => r.name),
            [],
        );
        const created = String(byName(run, "postgres-reports-logins-sql")?.inputs.data["logins.sql"]);
        assert.match(created, /CREATE DATABASE "search"/);
        assert.ok(byName(run, "postgres-reports-move-search"), "the copy Job");
    });

    it("moves between StackGres clusters too: as their superusers, straight to PostgreSQL (not PgBouncer)", async () => {
        const { servers: _none, ...own } = parseStack("dev").postgres;
        const run = await runStack("dev", {
            "data-platform:postgres": { ...own, servers: { reports: { mode: "stackgres" } } },
            "data-platform:apps": parseStack("dev").apps.map(({ name, namespace, redisDb }, i) => ({
                name,
                namespace,
                redisDb,
                ...(i === 0 ? { postgres: { server: "reports", movedFrom: "default" } } : {}),
            })),
        });
        const app = parseStack("dev").apps[0].name;
        const job = byName(run, `postgres-reports-move-${app}`);
        assert.ok(job, "the copy Job");
        const env = Object.fromEntries(
            job.inputs.spec.template.spec.containers[0].env.map((e: { name: string; value: string }) => [
                e.name,
                e.value,
            ]),
        );
        assert.match(env.SOURCE_PGHOST, /^postgres\./);
        assert.match(env.TARGET_PGHOST, /^postgres-reports\./);
        assert.deepEqual([env.SOURCE_PGPORT, env.SOURCE_PGUSER, env.TARGET_PGUSER], ["5433", "postgres", "postgres"]);
        assert.deepEqual(await runProblems("dev", run), []);
    });

    it("validates upstream, writes no password in clear, and passes the policy pack at each step of a move", async () => {
        for (const postgres of [
            { server: "reports", movedFrom: "default" },
            { server: "reports", movedFrom: "default", retireOld: true },
        ]) {
            assert.deepEqual(await runProblems("prod", await runStack("prod", withMove(postgres))), []);
        }
    });

    it("plan:diff refuses a server change without the marker (ARM databases or not), saying how to move", async () => {
        const sql = { azure: { ...(section("prod").azure as object), databases: "sql" } };
        const [before, after, marked, sqlBefore, sqlAfter] = await Promise.all([
            runStack("prod", withMove()),
            runStack("prod", withMove({ server: "reports" })),
            runStack("prod", withMove({ server: "reports", movedFrom: "default" })),
            runStack("prod", withSql(withMove(undefined, sql), sql)),
            runStack("prod", withSql(withMove({ server: "reports" }, sql), sql)),
        ]);
        const refusals = (a: RunResult, b: RunResult) =>
            diffPlans(toPlan(a), toPlan(b))
                .warnings.filter((w) => w.refusedBecause === "moved without its data")
                .map((w) => [w.resource.name, w.reasons]);
        assert.deepEqual(refusals(before, marked), [], "with the marker: a move");
        assert.deepEqual(refusals(sqlBefore, sqlAfter), refusals(before, after));
        assert.deepEqual(refusals(before, after), [
            [
                "app-search-ns",
                [
                    'application search: to move it from default to reports with its data, set postgres.movedFrom: default beside postgres.server: reports (README "Moving an application"); without it the new instance starts empty',
                ],
            ],
        ]);
    });
});
