/**
 * Every limit the stack counts against (components/documentedLimits.ts, each with its source), measured on recorded
 * plans (offline/headroom.ts): at the most long-named applications one server accepts (prod, 380 with exports; 500
 * such are refused, naming the limit), and at 1,000 generated applications over servers and groups (`npm run bench`'s
 * stack). Its own tier: the first run is ~8,000 registrations, the second ~20,500.
 */
import { strict as assert } from "assert";
import { RunResult, runProgram } from "../../offline/mockEngine";
import { generatedStack } from "../../offline/generatedStack";
import { headroomLine, headroomRows } from "../../offline/headroom";
import { LIMITS } from "../../components/limits";
import { runProblems } from "../support/programChecks";
import { problemLines, sectionOverride, stackConfig } from "../support/config";
import { runStack } from "../support/program";

const PROD_POSTGRES = JSON.parse(stackConfig("prod").config["data-platform:postgres"]);

const BACKUPS = {
    storageAccountId:
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-backups/providers/Microsoft.Storage/storageAccounts/dpbackups",
    container: "exports",
};

/** `count` applications with 30-character names, each with its own Redis database and a scheduled export. */
function longNamed(count: number) {
    return {
        "data-platform:apps": Array.from({ length: count }, (_, i) => {
            const name = `application-number-${String(i).padStart(3, "0")}`;
            // Each with a scheduled export: its own writer identity, federated credential and role assignment.
            return {
                name,
                namespace: name,
                redisDb: 1 + i,
                poolSize: 1,
                replicas: 1,
                backup: { schedule: "0 3 * * *" },
            };
        }),
        "data-platform:backups": BACKUPS,
        ...sectionOverride("prod", "redis", { databases: 1023 }),
        // Each costs 4 connections through PgBouncer (its pool, auth_query's, a migration, its export): 500 need
        // 2,018, within a Standard_D8ds_v5's 3,437, so the login Job's ConfigMap is what refuses them.
        "data-platform:postgres": {
            ...PROD_POSTGRES,
            azure: { ...PROD_POSTGRES.azure, skuName: "Standard_D8ds_v5" },
            maxConnections: 3437,
        },
    };
}

describe("per-application objects at 380 long-named applications, against their limits", function () {
    this.timeout(300_000);
    let run: RunResult;
    before(async () => {
        run = await runStack("prod", longNamed(380));
    });
    it("every Key Vault value, Kubernetes object and count under its limit; role assignments under half of 4,000", () => {
        const rows = headroomRows(run.resources);
        rows.forEach((row) => console.log(`      ${headroomLine("long380", row)}`));
        for (const row of rows) {
            assert.ok(row.used <= row.max, `${row.limit}: ${row.used} of ${row.max} (${row.largest})`);
        }
        const assignments = rows.find((row) => row.limit === "roleAssignments")!;
        assert.ok(assignments.used < assignments.max / 2, `${assignments.used} role assignments`);
    });

    it("the config refuses, naming the limit, a stack whose login Job ConfigMap would pass 1 MiB (500 such apps)", () => {
        const lines = problemLines("prod", longNamed(500));
        assert.equal(lines.length, 1, lines.join("\n"));
        assert.match(
            lines[0],
            /^data-platform:apps: given "500 applications \(a login Job ConfigMap of \d+ bytes\)"; allowed: .*900000 bytes.*ConfigMap postgres-logins.*1 MiB/,
        );
    });
});

describe("a generated prod stack of 1,000 applications over servers and groups, against every limit", function () {
    // Measured on the shared 2-CPU machine: the run 30-120 s (~35 CPU s), 1.7-1.9 GB peak, 19,396 resources over 3 servers; the
    // upstream, policy and leak checks 74 s.
    this.timeout(600_000);
    let run: RunResult;
    let seconds: number;
    before(async () => {
        const { config, secretKeys } = generatedStack(1000);
        const started = Date.now();
        run = await runProgram({ stack: "prod", config, secretKeys });
        seconds = (Date.now() - started) / 1000;
    });

    it("is placed over at least 3 PostgreSQL servers and 3 Redis groups, one dedicated", () => {
        const servers = run.resources.filter((r) => r.type === "azure-native:dbforpostgresql:Server");
        const sentinels = run.resources.filter(
            (r) => r.type === "kubernetes:apps/v1:StatefulSet" && /sentinel$/.test(r.name),
        );
        console.log(
            `      ${run.resources.length} resources in ${seconds.toFixed(0)} s; ${servers.length} servers, ${sentinels.length} Redis groups`,
        );
        assert.ok(servers.length >= 3, `${servers.length} servers`);
        assert.ok(sentinels.length >= 4, `${sentinels.length} Redis groups`);
    });

    it("validates upstream, passes the policy pack, no password in the plan, names within their rules", async () => {
        assert.deepEqual(await runProblems("prod", run), []);
    });

    it("stays under every limit, each row printed with its headroom", () => {
        const rows = headroomRows(run.resources);
        rows.forEach((row) => console.log(`      ${headroomLine("apps1000", row)}`));
        assert.deepEqual(
            rows.map((row) => row.limit),
            Object.keys(LIMITS),
        );
        for (const row of rows) {
            assert.ok(row.used <= row.max, `${row.limit}: ${row.used} of ${row.max} (${row.largest})`);
        }
        // The config checks this ConfigMap (LOGIN_JOB_FILES_MAX_BYTES); the server's other per-login objects (its
        // login Job, ExternalSecret and the Secret External Secrets renders from the verifiers' parts) stay below it.
        const objects = rows.find((row) => row.limit === "kubernetesObjectBytes")!;
        assert.match(objects.largest, /^ConfigMap postgres-\S*logins-sql$/);
    });
});
