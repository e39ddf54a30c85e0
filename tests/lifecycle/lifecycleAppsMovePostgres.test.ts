/**
 * Lifecycle scenario on real servers (prod, two Flexible Servers, each its own local PostgreSQL): an application that
 * writes without pause moved from server `default` to server `reports` (`apps[].postgres.movedFrom`), then the old
 * copy dropped in two steps (`retireOld: true`, then the marker removed) as `apps[].retired` does.
 * - 0 lost acknowledged writes: every insert the old or the new server acknowledged is on the new one at the end;
 * - after every event of the timeline the Secret names a server holding every write acknowledged until then (checked
 *   as the servers' superuser, not as the application);
 * - the old database stays on the old server (its logins NOLOGIN) until the cleanup, which drops it from the stack
 *   (retained in Azure) with nothing refused.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import { toPlan } from "../../offline/plan";
import { diffPlans } from "../../offline/planDiff/diff";
import { PostgresWriter } from "../../testbed/clients";
import type { Lifecycle } from "../../testbed/harness";
import {
    editApp,
    plan,
    scenario,
    stackVariant,
    waitForWrites,
    withLifecycle,
    failuresBesidesFreeze,
    moveFigures,
    movedDataChecks,
} from "../support/lifecycle";

const APP = "search";
const TABLE = "moved_rows";

/** The prod stack with a second Flexible Server `reports` (the section's own settings), `search` placed by `postgres`. */
function variant(postgres?: Record<string, unknown>) {
    return stackVariant("prod", (c) => {
        const { servers: _servers, ...own } = c["data-platform:postgres"];
        c["data-platform:postgres"] = { ...own, servers: { reports: own } };
        if (postgres) {
            editApp(APP, (app) => (app.postgres = postgres))(c);
        }
    });
}

scenario(
    "lifecycle on real servers: applications moved between servers (prod)",
    "moving an application's database to another server while it writes: 0 lost acknowledged writes, its Secret never names a server without its data, the old copy kept until cleanup",
    async () => {
        const [before, moved, retireOld, cleaned] = await Promise.all([
            plan("prod", variant()),
            plan("prod", variant({ server: "reports", movedFrom: "default" })),
            plan("prod", variant({ server: "reports", movedFrom: "default", retireOld: true })),
            plan("prod", variant({ server: "reports" })),
        ]);
        // The cleanup's second step: the old database leaves the stack (retained), nothing refused; dropping the marker
        // at once instead is refused (the old copy is protected in production).
        const cleanup = diffPlans(toPlan(retireOld.run), toPlan(cleaned.run));
        assert.deepEqual(cleanup.warnings, []);
        assert.ok(cleanup.removed.some((r) => r.name === "postgres-db-search"));
        const atOnce = diffPlans(toPlan(moved.run), toPlan(cleaned.run));
        assert.ok(
            atOnce.warnings.some((w) => w.refused && w.resource.name === "postgres-db-search"),
            "dropping the marker at once must be refused",
        );

        const serverNames = before.run.resources
            .filter((r) => r.type === "azure-native:dbforpostgresql:Server")
            .map((r) => String(r.inputs.serverName));
        const [oldServer, newServer] = [
            serverNames.find((n) => !n.includes("reports")),
            serverNames.find((n) => n.includes("reports")),
        ];
        assert.ok(oldServer && newServer, `two servers in the plan: ${serverNames.join(", ")}`);

        let writer: PostgresWriter | undefined;
        let lifecycle: Lifecycle | undefined;
        const checks = movedDataChecks(
            () => writer,
            () => lifecycle,
            (l) => {
                const server = l.postgresServerOfHost(l.lastEnv(APP).DB_HOST);
                return { instance: server, isNew: server === newServer };
            },
            (l, server, ids) =>
                l
                    .postgresServer(server)
                    .query(`SELECT coalesce(array_agg(id), '{}') AS ids FROM ${TABLE}`, "search")
                    .then((r) => {
                        const rows = new Set<number>((r.rows[0].ids as string[]).map(Number));
                        return ids.filter((id) => !rows.has(id));
                    })
                    .catch((err: Error) => err.message),
        );
        const figures: Record<string, unknown> = {};
        const problems: string[] = [];
        const l = await withLifecycle(
            "prod",
            variant(),
            async (started) => {
                lifecycle = started;
                await started.queryAsApp(APP, `CREATE TABLE ${TABLE} (id bigint PRIMARY KEY)`);
                const pgCa = () => fs.readFileSync(started.postgresCaFile, "utf8");
                writer = new PostgresWriter(() => started.lastEnv(APP), started.endpoints, pgCa, TABLE);
                await waitForWrites(writer, 20);

                assert.deepEqual((await started.apply(moved)).failedSteps, []);
                assert.equal(started.postgresServerOfHost(started.lastEnv(APP).DB_HOST), newServer);
                await waitForWrites(writer, writer.acknowledged.length + 20);
                assert.ok(await started.hasDatabase("search", oldServer), "the old copy stays until cleanup");
                const oldLogins = await started
                    .postgresServer(oldServer)
                    .query("SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname IN ('search', 'search_alt')");
                assert.deepEqual(
                    oldLogins.rows.map((r) => r.rolcanlogin),
                    [false, false],
                    "its old logins are frozen",
                );

                assert.deepEqual((await started.apply(retireOld)).failedSteps, []);
                assert.deepEqual((await started.apply(cleaned)).failedSteps, []);
                await writer.stop();

                const final = await started
                    .postgresServer(newServer)
                    .query(`SELECT array_agg(id) AS ids FROM ${TABLE}`, "search");
                const present = new Set((final.rows[0].ids as string[]).map(Number));
                const lost = writer.acknowledged.filter((w) => !present.has(w.id));
                const onOld = writer.acknowledged.filter((w) => started.postgresServerOfHost(w.host) === oldServer);
                const firstNew = writer.acknowledged.find((w) => started.postgresServerOfHost(w.host) === newServer);
                Object.assign(figures, moveFigures(writer, onOld, firstNew, lost.length));
                assert.equal(lost.length, 0, `lost acknowledged writes: ${lost.map((w) => w.id).join(", ")}`);
                problems.push(...(await checks.problems()));
            },
            { onEvent: checks.onEvent },
        ).finally(() => writer?.stop());
        const summary = l.summary();
        figures.events = summary.events;
        assert.deepEqual(problems, [], "the Secret named a server without the data");
        // The harness's own checks: the only failures are the moving application's own, frozen on the old instance.
        const switchedAt = checks.switched();
        assert.ok(switchedAt !== undefined, "the Secret switched during the move");
        const frozen =
            /^search: PostgreSQL refuses (.*) \(DB_USER search(_alt)?, DB_PASSWORD\): role "search(_alt)?" is not permitted to log in$/;
        const { other, freezeEvents } = failuresBesidesFreeze(l, switchedAt, frozen);
        figures.freezeEvents = freezeEvents;
        console.log(`      move figures: ${JSON.stringify(figures)}`);
        assert.deepEqual(other, [], "failures besides the moving application's frozen logins");
    },
);
