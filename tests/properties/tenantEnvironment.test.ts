/**
 * Issue 26's must-show at its size: a generated prod environment of 1,000 applications as one platform stack and ten
 * tenant stacks of 100, placed by `npm run bench`'s generator (offline/generatedStack.ts: 10 x 3 pools over servers,
 * three shared Redis groups and one dedicated, identities over resource groups). Every stack plans, validates upstream
 * and passes the policy pack; no two stacks name one object or Key Vault secret; each stack and the environment (role
 * assignments and identities summed over the stacks, which share one subscription and its resource groups) stay under
 * every documented limit. Its own tier beside the 1,000-app limits test: eleven stacks, ~21,000 registrations.
 */
import { strict as assert } from "assert";
import type { RunResult } from "../../offline/mockEngine";
import { DEDICATED_GROUP } from "../../offline/generatedStack";
import { environmentRows, headroomLine, headroomRows, sharedCounts } from "../../offline/headroom";
import { type Environment, generateEnvironment, runEnvironment } from "../../offline/tenantEnvironment";
import { LIMITS, environmentLimitProblems, environmentUse } from "../../components/limits";
import { environmentUseLine, stackFootprints } from "../../offline/environmentLimits";
import { TENANT_MAX_APPS } from "../../components/config/tenant";
import { duplicateNames, runProblems } from "../support/programChecks";

/** Each tenant stack's bound (issue 26 item 7). */
const TENANT_MAX_RESOURCES = 2500;

describe("a generated prod environment of 1,000 applications: one platform stack and ten tenant stacks", function () {
    // Measured on the shared 2-CPU machine: the eleven runs ~50 s (~29 CPU s), 670 MiB peak.
    this.timeout(900_000);
    let env: Environment;
    let runs: Array<[string, RunResult]>;
    let seconds: number;
    before(async () => {
        env = generateEnvironment({ apps: 1000, tenants: 10, spread: true });
        const started = Date.now();
        const { platform, tenants } = await runEnvironment(env);
        seconds = (Date.now() - started) / 1000;
        runs = [["platform", platform], ...Object.entries(tenants)];
    });

    it("places 1,000 applications over >= 3 PostgreSQL servers and >= 3 Redis groups (one dedicated, the platform's), ten tenants of <= 100", () => {
        const platform = runs[0][1];
        const servers = platform.resources.filter((r) => r.type === "azure-native:dbforpostgresql:Server");
        const sentinels = platform.resources.filter(
            (r) => r.type === "kubernetes:apps/v1:StatefulSet" && /sentinel$/.test(r.name),
        );
        const apps = Object.values(env.appsByTenant).flat();
        // The dedicated group's application is the platform stack's own (a tenant may not use a dedicated group).
        const own = JSON.parse(env.platform.config.config["data-platform:apps"]);
        const dedicated = own.filter((a: any) => a.redis?.group === DEDICATED_GROUP);
        console.log(
            `      11 stacks in ${seconds.toFixed(0)} s; ${servers.length} servers, ${sentinels.length} Redis groups`,
        );
        assert.equal(apps.length + dedicated.length, 1000);
        assert.ok(!apps.some((a: any) => a.redis?.group === DEDICATED_GROUP), "no tenant in the dedicated group");
        assert.ok(servers.length >= 3, `${servers.length} servers`);
        assert.ok(sentinels.length >= 4, `${sentinels.length} Redis groups`);
        assert.equal(dedicated.length, 1, "one application alone in the dedicated group");
        assert.equal(runs.length - 1, 10);
        for (const [stack, apps] of Object.entries(env.appsByTenant)) {
            assert.ok(apps.length <= TENANT_MAX_APPS, `${stack}: ${apps.length} applications`);
        }
    });

    it("every stack validates upstream, passes the policy pack, no password in its plan, names within their rules", async () => {
        for (const [stack, run] of runs) {
            assert.deepEqual(await runProblems("prod", run), [], stack);
        }
    });

    it("no two objects of one kind, namespace and name, and no two Key Vault secrets of one name, across the stacks", () => {
        const shared = runs.flatMap(([stack, run]) => run.resources.map((r) => ({ ...r, urn: `${stack}::${r.urn}` })));
        assert.deepEqual(duplicateNames(shared), []);
    });

    it("each stack and the environment stay under every limit (rows printed); each tenant <= 2,500 resources", () => {
        const stacks = runs.map(([stack, run]) => ({
            stack,
            rows: headroomRows(run.resources),
            shared: sharedCounts(run.resources),
        }));
        const environment = environmentRows(stacks);
        for (const [stack, run] of runs) {
            const state = run.resources.reduce((sum, r) => sum + JSON.stringify([r.inputs, r.outputs]).length, 0);
            console.log(`      ${stack}: ${run.resources.length} resources, state ~${(state / 1e6).toFixed(1)} MB`);
            if (stack !== "platform") {
                assert.ok(run.resources.length <= TENANT_MAX_RESOURCES, `${stack}: ${run.resources.length}`);
            }
        }
        for (const { stack, rows } of [...stacks, { stack: "env", rows: environment }]) {
            if (stack === "platform" || stack === "tenant-01" || stack === "env") {
                rows.forEach((row) => console.log(`      ${headroomLine(stack, row)}`));
            }
            assert.deepEqual(
                rows.map((row) => row.limit),
                Object.keys(LIMITS),
            );
            for (const row of rows) {
                assert.ok(row.used <= row.max, `${stack} ${row.limit}: ${row.used} of ${row.max} (${row.largest})`);
            }
        }
        // The shared counts are the stacks' sum, not the largest stack's.
        const assignments = environment.find((row) => row.limit === "roleAssignments")!;
        assert.equal(
            assignments.used,
            stacks.reduce((sum, s) => sum + s.rows.find((r) => r.limit === "roleAssignments")!.used, 0),
        );
        // What `npm run stacks` counts from the stack files before any plan: the recorded sums, within the limits.
        const footprints = stackFootprints({ [env.platform.stack]: env.platform.config, ...env.tenants });
        const uses = environmentUse(footprints);
        uses.forEach((use) => console.log(`      npm run stacks: ${environmentUseLine(use)}`));
        assert.deepEqual(environmentLimitProblems(footprints), []);
        assert.equal(uses.find((use) => use.limit === "roleAssignments")!.used, assignments.used);
        const identities = environment.find((row) => row.limit === "identitiesPerResourceGroup")!;
        assert.equal(uses.find((use) => use.limit === "identitiesPerResourceGroup")!.used, identities.used);
    });
});
