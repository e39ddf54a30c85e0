/**
 * The PostgreSQL alerts the program renders (dev, StackGres, monitoring on), proven on real series: Debian's
 * postgres_exporter scrapes a sandbox PostgreSQL (and its streaming standby) as a least-privilege `pg_monitor` login
 * while the applications' databases see real connections, an open transaction and a real deadlock; every metric each rule reads must be in
 * that scrape, and promtool checks the rules and fires each alert on one series set and not on another.
 */
import { strict as assert } from "assert";
import { Client } from "pg";
import type { PlatformConfig } from "../../../components/config";
import type { RunResult } from "../../../offline/mockEngine";
import { Exporters, sampleNames, samples } from "../../../testbed/servers/exporters";
import {
    LocalServer,
    STANDBY_HBA,
    TLS_ONLY_HBA,
    startLocalServer,
    startStandby,
    superuserSql,
} from "../../../testbed/servers/postgres";
import { LOOPBACK, waitFor } from "../../../testbed/servers/processes";
import { STACKGRES_SUPERUSER } from "../../../components/postgres/stackgresSpec";
import { parseStack, sectionOverride, stackConfig } from "../../support/config";
import { runStack } from "../../support/program";
import {
    AlertCase,
    Series,
    checkQueries,
    checkRules,
    dashboardQueries,
    metricNames,
    renderedDashboard,
    renderedRuleGroups,
    seriesWith,
    testRules,
    unscrapedMetrics,
} from "../../support/prometheus";
import { processTempDir } from "../../support/tempDir";

const own = JSON.parse(stackConfig("dev").config["data-platform:postgres"] ?? "{}");
const MONITORED = sectionOverride("dev", "postgres", { stackgres: { ...own.stackgres, monitoring: true } });
const MONITOR_PASSWORD = "monitor-Zq9!#%&*+-./:=?@^_~";

const NS = { namespace: "data-platform" };
const I = { instance: "postgres-0:9187" };
/** The pod label the Prometheus Operator adds: the server's own exporter (the rules select it, servers share the namespace). */
const POD = { pod: "postgres-0" };
const series = seriesWith({ ...NS, ...I, ...POD });
const connections = (database: string, count: number) =>
    series("pg_stat_database_numbackends", { datname: database }, `${count}x10`);
const MAX_CONNECTIONS = series("pg_settings_max_connections", {}, "100x10");

const STANDBY = { application_name: "postgres-1" };
/**
 * The kubelet's volume statistics of one claim (kube-prometheus-stack's kubelet scrape, no pod label): `available` of
 * 100 bytes.
 */
const kubelet = seriesWith({ ...NS, ...I });
const volume = (claim: string, available: number) => [
    kubelet("kubelet_volume_stats_available_bytes", { persistentvolumeclaim: claim }, `${available}x10`),
    kubelet("kubelet_volume_stats_capacity_bytes", { persistentvolumeclaim: claim }, "100x10"),
];
/** Metrics no exporter here can expose: the kubelet's (no kubelet runs here; names cited in components/alerts.ts). */
const KUBELET = new Set(["kubelet_volume_stats_available_bytes", "kubelet_volume_stats_capacity_bytes"]);
const archiver = (failed: string, archived: string) => [
    series("pg_stat_archiver_failed_count", {}, failed),
    series("pg_stat_archiver_archived_count", {}, archived),
];

/** Each alert on the dev config: 100 connections, 10 reserved (StackGres), orders declares 2 x 5, billing 1 x 5. */
const CASES: AlertCase[] = [
    {
        alert: "PostgresDown",
        fires: [series("pg_up", {}, "0x10")],
        firingLabels: [{ ...NS, ...I, ...POD }],
        quiet: [series("pg_up", {}, "1x10")],
        at: "10m",
    },
    {
        alert: "PostgresMetricsAbsent",
        fires: [{ series: 'pg_up{namespace="elsewhere"}', values: "1x10" }],
        firingLabels: [NS],
        quiet: [series("pg_up", {}, "1x10")],
        at: "10m",
    },
    {
        alert: "PostgresConnectionsNearBudget",
        // 0.9 x (100 - 10) = 81
        fires: [connections("orders", 9), connections("billing", 5), connections("postgres", 68), MAX_CONNECTIONS],
        firingLabels: [I],
        quiet: [connections("orders", 9), connections("billing", 5), connections("postgres", 67), MAX_CONNECTIONS],
        at: "10m",
    },
    {
        alert: "PostgresAppConnectionsOverDeclared",
        fires: [connections("orders", 11), connections("billing", 5), MAX_CONNECTIONS],
        firingLabels: [{ ...I, datname: "orders" }],
        quiet: [connections("orders", 10), connections("billing", 5), MAX_CONNECTIONS],
        at: "10m",
    },
    {
        alert: "PostgresTenantHoldsMostConnections",
        // 0.5 x (100 - 10) = 45
        fires: [connections("orders", 46), connections("billing", 5), MAX_CONNECTIONS],
        firingLabels: [{ ...I, datname: "orders" }],
        quiet: [connections("orders", 45), connections("billing", 40), MAX_CONNECTIONS],
        at: "10m",
    },
    {
        alert: "PostgresReplicationLag",
        fires: [series("pg_stat_replication_pg_wal_lsn_diff", STANDBY, "2000000x10")],
        firingLabels: [{ ...I, ...STANDBY }],
        quiet: [series("pg_stat_replication_pg_wal_lsn_diff", STANDBY, "1048576x10")],
        at: "10m",
    },
    {
        alert: "PostgresLongTransaction",
        fires: [
            series("pg_stat_activity_max_tx_duration", { datname: "orders", state: "idle in transaction" }, "400x10"),
        ],
        firingLabels: [{ ...I, datname: "orders" }],
        quiet: [series("pg_stat_activity_max_tx_duration", { datname: "orders", state: "active" }, "100x10")],
        at: "10m",
    },
    {
        alert: "PostgresWalArchiveFailing",
        fires: archiver("0+2x30", "40x30"),
        firingLabels: [{ ...NS, ...I, ...POD }],
        quiet: archiver("0+2x30", "40+1x30"),
        at: "25m",
    },
    {
        // The operator's claim of instance 0 (`<cluster>-data-<cluster>-0`), past 80% used; another workload's is not.
        alert: "PostgresVolumeFull",
        fires: volume("postgres-data-postgres-0", 19),
        firingLabels: [{ ...NS, ...I, persistentvolumeclaim: "postgres-data-postgres-0" }],
        quiet: [...volume("postgres-data-postgres-0", 21), ...volume("data-redis-0", 5)],
        at: "10m",
    },
    {
        alert: "PostgresDeadlocks",
        fires: [series("pg_stat_database_deadlocks", { datname: "orders" }, "0+1x10")],
        firingLabels: [{ ...NS, ...I, ...POD, datname: "orders" }],
        quiet: [series("pg_stat_database_deadlocks", { datname: "orders" }, "3x10")],
        at: "10m",
    },
];

/** Two transactions that lock two rows in opposite orders: PostgreSQL aborts one of them. */
async function deadlock(server: LocalServer, database: string): Promise<void> {
    await superuserSql(
        server,
        "CREATE TABLE rows (id int PRIMARY KEY, v int); INSERT INTO rows VALUES (1, 0), (2, 0)",
        database,
    );
    const [a, b] = [0, 1].map(
        () => new Client({ host: server.socketDir, port: server.port, user: STACKGRES_SUPERUSER, database }),
    );
    await Promise.all([a.connect(), b.connect()]);
    try {
        await a.query("BEGIN; UPDATE rows SET v = 1 WHERE id = 1");
        await b.query("BEGIN; UPDATE rows SET v = 1 WHERE id = 2");
        const results = await Promise.allSettled([
            a.query("UPDATE rows SET v = 2 WHERE id = 2"),
            b.query("UPDATE rows SET v = 2 WHERE id = 1"),
        ]);
        assert.ok(
            results.some((r) => r.status === "rejected" && /deadlock detected/.test(String(r.reason))),
            "no deadlock",
        );
    } finally {
        await Promise.all([a.query("ROLLBACK"), b.query("ROLLBACK")]);
        await Promise.all([a.end(), b.end()]);
    }
}

describe("PostgreSQL alerts on real postgres_exporter series (pg_monitor login) and promtool", function () {
    this.timeout(90_000);
    let run: RunResult;
    let config: PlatformConfig;
    let server: LocalServer;
    let standby: LocalServer;
    let exporters: Exporters;
    const clients: Client[] = [];
    let scrape = "";

    before(async () => {
        run = await runStack("dev", MONITORED);
        config = parseStack("dev", MONITORED);
        // PostgreSQL 15: pg_basebackup (Debian's, for the standby) refuses newer servers.
        server = await startLocalServer({
            maxConnections: config.postgres.maxConnections,
            hba: [...TLS_ONLY_HBA, STANDBY_HBA],
        });
        standby = await startStandby(server);
        // What the exporter needs and no more: pg_monitor reads every statistic, no data.
        await superuserSql(server, `CREATE ROLE monitoring LOGIN PASSWORD '${MONITOR_PASSWORD}' IN ROLE pg_monitor`);
        for (const app of config.apps) {
            await superuserSql(server, `CREATE DATABASE ${app.database}`);
        }
        const [first] = config.apps;
        await deadlock(server, first.database);
        // Three sessions of the first application, one of them inside an open transaction.
        for (let i = 0; i < 3; i++) {
            const client = new Client({
                host: server.socketDir,
                port: server.port,
                user: STACKGRES_SUPERUSER,
                database: first.database,
            });
            await client.connect();
            clients.push(client);
        }
        await clients[0].query("BEGIN; SELECT txid_current()");
        exporters = new Exporters(processTempDir("pg-exporter-"));
        const exporter = await exporters.start(
            "postgres-exporter",
            "prometheus-postgres-exporter",
            [],
            {
                DATA_SOURCE_NAME: `postgresql://monitoring:${encodeURIComponent(MONITOR_PASSWORD)}@${LOOPBACK}:${server.port}/postgres?sslmode=verify-full&sslrootcert=${server.caFile}`,
            },
            { env: "PG_EXPORTER_WEB_LISTEN_ADDRESS" },
        );
        // Statistics reach the shared counters when a backend goes idle: scrape until the deadlock and the standby show.
        const value = (text: string, name: string) =>
            Math.max(0, ...samples(text, name).flatMap((s) => (s.labels.datname === first.database ? [s.value] : [])));
        scrape = await waitFor("the deadlock and the standby in the exporter's scrape", 20_000, async () => {
            const text = await exporters.scrape(exporter);
            const streaming = samples(text, "pg_stat_replication_pg_wal_lsn_diff").length === 1;
            return value(text, "pg_stat_database_deadlocks") >= 1 && streaming ? text : undefined;
        });
        assert.deepEqual(
            samples(scrape, "pg_up").map((s) => s.value),
            [1],
            exporters.log("postgres-exporter"),
        );
        // The per-tenant signals are real: each application's sessions, size and its open transaction.
        assert.ok(value(scrape, "pg_stat_database_numbackends") >= 3, "the first application's sessions");
        assert.ok(value(scrape, "pg_stat_activity_max_tx_duration") > 0, "the open transaction");
        for (const app of config.apps) {
            assert.ok(
                samples(scrape, "pg_database_size_bytes").some((s) => s.labels.datname === app.database),
                `size of ${app.database}`,
            );
        }
    });
    after(async () => {
        await Promise.all(clients.map((c) => c.end()));
        await exporters?.stop();
        await standby?.stop();
        await server?.stop();
    });

    it("reads only metrics the real exporter exposes to a pg_monitor login", () => {
        const rules = renderedRuleGroups(run, "postgres-alerts").flatMap((group) => group.rules);
        const scraped = sampleNames(scrape);
        assert.deepEqual(unscrapedMetrics(rules, new Set([...scraped, ...KUBELET])), []);
        const used = new Set(rules.flatMap((rule) => metricNames(rule.expr)));
        for (const rule of rules) {
            assert.notDeepEqual(metricNames(rule.expr), [], `${rule.alert} reads no metric`);
        }
        console.log(
            `      ${used.size} metric names of ${rules.length} PostgreSQL alerts found among ${scraped.size} scraped`,
        );
    });

    it("fails a rule whose metric is misspelt: not in the scrape, and its alert never fires", () => {
        const misspelt = renderedRuleGroups(run, "postgres-alerts").map((group) => ({
            ...group,
            rules: group.rules.map((rule) =>
                rule.alert === "PostgresDeadlocks"
                    ? { ...rule, expr: rule.expr.replace("pg_stat_database_deadlocks", "pg_stat_database_deadlock") }
                    : rule,
            ),
        }));
        assert.deepEqual(
            unscrapedMetrics(
                misspelt.flatMap((group) => group.rules),
                new Set([...sampleNames(scrape), ...KUBELET]),
            ),
            ["PostgresDeadlocks: pg_stat_database_deadlock"],
        );
        const result = testRules(misspelt, CASES);
        assert.notEqual(result.code, 0);
        assert.match(result.output, /PostgresDeadlocks fires/);
    });

    it("shows on its dashboard only metrics the real exporter exposes, in queries promtool parses", () => {
        const queries = dashboardQueries(renderedDashboard(run, "data-platform-postgres-dashboard"));
        const parsed = checkQueries(queries);
        assert.equal(parsed.code, 0, parsed.output);
        assert.deepEqual(unscrapedMetrics(queries, sampleNames(scrape)), []);
        console.log(`      ${queries.length} PostgreSQL dashboard queries, every metric found in the scrape`);
    });

    it("passes promtool check rules", () => {
        const result = checkRules(renderedRuleGroups(run, "postgres-alerts"));
        assert.equal(result.code, 0, result.output);
        assert.match(result.output, /SUCCESS: 10 rules found/);
    });

    it("fires each alert on its series and on no other (promtool test rules)", () => {
        const result = testRules(renderedRuleGroups(run, "postgres-alerts"), CASES);
        assert.equal(result.code, 0, result.output);
    });
});

describe("PostgresBackupFailed on kube-state-metrics' series of the operator's backup CronJob (promtool)", function () {
    this.timeout(60_000);
    const BACKUPS = sectionOverride("dev", "postgres", {
        stackgres: {
            ...own.stackgres,
            monitoring: true,
            backups: {
                storageAccount: "dpbackupsdev",
                container: "pgbackups/dev",
                accessKeySecretName: "pg-backup-key",
            },
        },
    });
    const KSM = { namespace: "data-platform", cronjob: "postgres-backup" };
    const cron = (name: string, values: string) => ({
        series: `${name}{namespace="${KSM.namespace}",cronjob="${KSM.cronjob}"}`,
        values,
    });
    /** Minute by minute from 00:00: the backup is scheduled at 05:00 (t = 18,000 s) and succeeds at 05:20, or never. */
    const scheduledAt5h = cron("kube_cronjob_status_last_schedule_time", "0x299 18000x500");
    const scheduledAt9h = cron("kube_cronjob_status_last_schedule_time", "0x539 32400x260");
    const successAt5h20 = cron("kube_cronjob_status_last_successful_time", "0x319 19200x480");
    /** The previous day's success (t = 0). */
    const successBefore = cron("kube_cronjob_status_last_successful_time", "0x800");

    it("fires when the last scheduled backup has not succeeded in 6 h, or none ever did; not while it runs or once it succeeded", async () => {
        const groups = renderedRuleGroups(await runStack("dev", BACKUPS), "postgres-alerts").map((g) => ({
            ...g,
            rules: g.rules.filter((r) => r.alert === "PostgresBackupFailed"),
        }));
        assert.equal(groups[0].rules.length, 1, "no PostgresBackupFailed rule with backups configured");
        const checked = checkRules(groups);
        assert.equal(checked.code, 0, checked.output);
        const at = (when: string, fires: Series[], quiet: Series[]) =>
            testRules(groups, [{ alert: "PostgresBackupFailed", fires, firingLabels: [KSM], quiet, at: when }]);
        // 12:00: failed since 05:00 (the last success the day before), against succeeded at 05:20.
        const failed = at("12h", [scheduledAt5h, successBefore], [scheduledAt5h, successAt5h20]);
        assert.equal(failed.code, 0, failed.output);
        // 12:00: no success ever (kube-state-metrics has no series until a first one), against a run scheduled at 09:00
        // that is still inside its 6 h.
        const never = at("12h", [scheduledAt5h], [scheduledAt9h, successBefore]);
        assert.equal(never.code, 0, never.output);
    });

    it("is not rendered without backups (dev)", async () => {
        const rules = renderedRuleGroups(await runStack("dev", MONITORED), "postgres-alerts").flatMap((g) => g.rules);
        assert.deepEqual(
            rules.filter((r) => r.alert === "PostgresBackupFailed"),
            [],
        );
    });
});
