/**
 * Azure mode's PostgreSQL monitoring (prod stack) on real servers: the rendered login Job (its real entrypoint and psql
 * script) runs as Azure's non-superuser admin on PostgreSQL 15 and 16 and keeps the monitoring login, which reads
 * statistics and no application's data; the rendered exporter Deployment's container runs as postgres_exporter 0.17.1
 * (the image's version) with its env resolved the kubelet's way: the password from the synced Secret, TLS verify-full
 * against the CA file of its ConfigMap (the sandbox CA stands in for Azure's roots), the server's FQDN mapped to
 * loopback. Every metric of the rendered rules must be in that scrape (15, with a streaming standby and a failing WAL
 * archive); promtool fires each alert on one series set and not another.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { Client } from "pg";
import type { PlatformConfig } from "../../../components/config";
import type { RecordedResource, RunResult } from "../../../offline/mockEngine";
import { PG_MONITOR_CREDENTIAL, postgresCredentialIds } from "../../../components/postgres/credentials";
import { EXPORTER } from "../../../components/postgres/exporterSpec";
import { MONITOR_CONNECTION_LIMIT, MONITOR_LOGIN, appLogins } from "../../../components/postgres/sql";
import { AZURE_POSTGRES_PORT } from "../../../components/postgres/azureSpec";
import { STACKGRES_SUPERUSER } from "../../../components/postgres/stackgresSpec";
import {
    Container,
    Exporters,
    PINNED_EXPORTERS,
    resolveArgs,
    resolveEnv,
    sampleNames,
    samples,
} from "../../../testbed/servers/exporters";
import {
    LocalServer,
    STANDBY_HBA,
    TLS_ONLY_HBA,
    serversByMajor,
    startLocalServer,
    startStandby,
    superuserSql,
} from "../../../testbed/servers/postgres";
import { applyLogins } from "../../../testbed/servers/postgresLogins";
import { LOOPBACK, waitFor } from "../../../testbed/servers/processes";
import { parseStack } from "../../support/config";
import { byName, runStack } from "../../support/program";
import { queryAs } from "../../support/postgres";
import {
    AlertCase,
    checkRules,
    renderedRuleGroups,
    seriesWith,
    testRules,
    unscrapedMetrics,
} from "../../support/prometheus";
import { postgresNames } from "../../../components/postgres/servers";
import { processTempDir } from "../../support/tempDir";

const NS = { namespace: "data-platform" };
const I = { instance: "10.0.0.7:9187" };
/** The pod label the Prometheus Operator adds: the server's own exporter (the rules select it, servers share the namespace). */
const POD = { pod: "postgres-exporter-7c9f8d6b5d-x2x7q" };
const series = seriesWith({ ...NS, ...I, ...POD });
const connections = (database: string, count: number) =>
    series("pg_stat_database_numbackends", { datname: database }, `${count}x10`);
/** prod: max_connections 859, Azure reserves 15: a budget of 844 (90%: 759.6, half: 422). */
const MAX_CONNECTIONS = series("pg_settings_max_connections", {}, "859x10");
const archiver = (failed: string, archived: string) => [
    series("pg_stat_archiver_failed_count", {}, failed),
    series("pg_stat_archiver_archived_count", {}, archived),
];

/** Each alert on the prod config: orders declares 6 x 20 connections, billing 3 x 10, search 4 x 10. */
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
        fires: [connections("orders", 100), connections("postgres", 660), MAX_CONNECTIONS],
        firingLabels: [I],
        quiet: [connections("orders", 100), connections("postgres", 659), MAX_CONNECTIONS],
        at: "10m",
    },
    {
        alert: "PostgresAppConnectionsOverDeclared",
        fires: [connections("orders", 121), connections("search", 40), MAX_CONNECTIONS],
        firingLabels: [{ ...I, datname: "orders" }],
        quiet: [connections("orders", 120), connections("search", 40), MAX_CONNECTIONS],
        at: "10m",
    },
    {
        alert: "PostgresTenantHoldsMostConnections",
        fires: [connections("orders", 423), MAX_CONNECTIONS],
        firingLabels: [{ ...I, datname: "orders" }],
        quiet: [connections("orders", 422), connections("billing", 400), MAX_CONNECTIONS],
        at: "10m",
    },
    {
        alert: "PostgresReplicationLag",
        fires: [series("pg_stat_replication_pg_wal_lsn_diff", { application_name: "standby" }, "2000000x10")],
        firingLabels: [{ ...I, application_name: "standby" }],
        quiet: [series("pg_stat_replication_pg_wal_lsn_diff", { application_name: "standby" }, "1048576x10")],
        at: "10m",
    },
    {
        alert: "PostgresLongTransaction",
        fires: [series("pg_stat_activity_max_tx_duration", { datname: "billing", usename: "billing" }, "301x10")],
        firingLabels: [{ ...I, datname: "billing" }],
        quiet: [series("pg_stat_activity_max_tx_duration", { datname: "billing", usename: "billing" }, "300x10")],
        at: "10m",
    },
    {
        alert: "PostgresDeadlocks",
        fires: [series("pg_stat_database_deadlocks", { datname: "search" }, "0+1x10")],
        firingLabels: [{ ...NS, ...I, ...POD, datname: "search" }],
        quiet: [series("pg_stat_database_deadlocks", { datname: "search" }, "2x10")],
        at: "10m",
    },
    {
        alert: "PostgresWalArchiveFailing",
        // Failing and nothing archived for 15 minutes; failures while WAL still gets archived are retried blips.
        fires: archiver("0+2x30", "40x30"),
        firingLabels: [{ ...NS, ...I, ...POD }],
        quiet: archiver("0+2x30", "40+1x30"),
        at: "25m",
    },
];

function rendered(run: RunResult, type: string, name: string): RecordedResource {
    const found = run.resources.filter((r) => r.type === type && r.inputs.metadata?.name === name);
    assert.equal(found.length, 1, `${type} ${name}`);
    return found[0];
}

/** Rows of a query as the server's superuser (over its socket). */
async function superuserQuery(server: LocalServer, sql: string): Promise<Array<Record<string, unknown>>> {
    const client = new Client({
        host: server.socketDir,
        port: server.port,
        user: STACKGRES_SUPERUSER,
        database: "postgres",
    });
    await client.connect();
    try {
        return (await client.query(sql)).rows;
    } finally {
        await client.end();
    }
}

/** A session of `user` that is refused, with the server's message. */
async function refused(server: LocalServer, database: string, user: string, pw: string, sql: string) {
    return assert.rejects(queryAs(server, database, user, pw, sql));
}

describe("Azure mode: PostgreSQL monitoring on real servers (postgres_exporter 0.17.1, pg_monitor login) and promtool", function () {
    this.timeout(180_000);
    let run: RunResult;
    let config: PlatformConfig;
    let passwords: Record<string, string>;
    let container: Container;

    before(async () => {
        run = await runStack("prod");
        config = parseStack("prod");
        passwords = Object.fromEntries(
            postgresCredentialIds(config).map((id) => [
                id,
                byName(run, "random:index/randomPassword:RandomPassword", `credentials-${id}`).outputs.result as string,
            ]),
        );
        const deployment = rendered(run, "kubernetes:apps/v1:Deployment", postgresNames({}).exporter);
        [container] = deployment.inputs.spec.template.spec.containers;
        assert.equal(container.image, config.postgres.azure.exporterImage);
    });

    /** The rendered exporter started against `server`, as its pod would run it. */
    async function startExporter(exporters: Exporters, server: LocalServer) {
        const caDir = processTempDir("pg-exporter-ca-");
        fs.copyFileSync(server.caFile, path.join(caDir, EXPORTER.caFile));
        const env = resolveEnv(container, {
            fields: {},
            secret: (name, key) => {
                assert.deepEqual([name, key], [postgresNames({}).monitorSecret, EXPORTER.secretKey]);
                return passwords[PG_MONITOR_CREDENTIAL];
            },
            mounts: {},
        });
        // What differs from the pod: the server's FQDN (as the plan has it) and the CA's mount path, inside the URI.
        const address = /^([^/]+):(\d+)\//.exec(env.DATA_SOURCE_URI);
        assert.ok(address, env.DATA_SOURCE_URI);
        assert.equal(Number(address[2]), AZURE_POSTGRES_PORT);
        assert.match(env.DATA_SOURCE_URI, new RegExp(`sslmode=verify-full&sslrootcert=${EXPORTER.caDir}/`));
        const local = {
            ...env,
            DATA_SOURCE_URI: env.DATA_SOURCE_URI.replace(address[0], `${LOOPBACK}:${server.port}/`).replace(
                EXPORTER.caDir,
                caDir,
            ),
        };
        return exporters.start(
            `postgres-exporter-${server.port}`,
            PINNED_EXPORTERS.postgres,
            resolveArgs(container, local),
            local,
            { flag: "--web.listen-address" },
        );
    }

    for (const [major, bin] of serversByMajor()) {
        describe(`PostgreSQL ${major}`, () => {
            let server: LocalServer;
            let exporters: Exporters;
            let scrape = "";

            before(async () => {
                server = await startLocalServer({ bin, maxConnections: config.postgres.maxConnections });
                // The real login Job as Azure's non-superuser admin, on the databases ARM creates.
                await applyLogins(server, config, passwords);
                const [orders] = appLogins(config.apps, config.keyVault.rotations);
                await queryAs(
                    server,
                    orders.database,
                    orders.current.name,
                    passwords[orders.current.credentialId],
                    "CREATE TABLE orders (secret text); INSERT INTO orders VALUES ('card 4111')",
                );
                exporters = new Exporters(processTempDir("pg-azure-exporter-"));
                const exporter = await startExporter(exporters, server);
                scrape = await exporters.scrape(exporter);
                assert.deepEqual(
                    samples(scrape, "pg_up").map((s) => s.value),
                    [1],
                    exporters.log(`postgres-exporter-${server.port}`),
                );
            });
            after(async () => {
                await exporters?.stop();
                await server?.stop();
            });

            it("connects as the monitoring login over TLS verify-full and sees every application database", () => {
                for (const app of config.apps) {
                    assert.ok(
                        samples(scrape, "pg_database_size_bytes").some((s) => s.labels.datname === app.database),
                        `size of ${app.database}`,
                    );
                }
            });

            it("gives the monitoring login pg_monitor and nothing that reads or changes data", async () => {
                const [role] = await superuserQuery(
                    server,
                    `SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, rolconnlimit,
                        ARRAY(SELECT b.rolname FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid
                              WHERE m.member = r.oid ORDER BY 1)::text[] AS member_of
                     FROM pg_roles r WHERE rolname = '${MONITOR_LOGIN.name}'`,
                );
                assert.deepEqual(role, {
                    rolsuper: false,
                    rolcreaterole: false,
                    rolcreatedb: false,
                    rolreplication: false,
                    rolbypassrls: false,
                    rolconnlimit: MONITOR_CONNECTION_LIMIT,
                    member_of: ["pg_monitor"],
                });
                const pw = passwords[PG_MONITOR_CREDENTIAL];
                // Application databases are closed to it; in its own, no table of another role is readable.
                for (const app of config.apps) {
                    await refused(server, app.database, MONITOR_LOGIN.name, pw, "SELECT 1");
                }
                const [readable] = await queryAs(
                    server,
                    "postgres",
                    MONITOR_LOGIN.name,
                    pw,
                    "SELECT pg_has_role('pg_read_all_data', 'USAGE') AS all_data, pg_has_role('pg_write_all_data', 'USAGE') AS write_all",
                );
                assert.deepEqual(readable, { all_data: false, write_all: false });
            });

            it("holds no more sessions than its connection limit after a scrape", async () => {
                const counts = await superuserQuery(
                    server,
                    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = '${MONITOR_LOGIN.name}'`,
                );
                assert.ok(Number(counts[0].n) <= MONITOR_CONNECTION_LIMIT, JSON.stringify(counts));
            });
        });
    }

    describe("the rendered rules on a real scrape (PostgreSQL 15: a streaming standby and a failing WAL archive)", () => {
        let server: LocalServer;
        let standby: LocalServer;
        let exporters: Exporters;
        let scrape = "";

        before(async () => {
            server = await startLocalServer({
                maxConnections: config.postgres.maxConnections,
                hba: [...TLS_ONLY_HBA, STANDBY_HBA],
                settings: ["archive_mode = on", "archive_command = 'false'"],
            });
            standby = await startStandby(server);
            await applyLogins(server, config, passwords);
            const [billing] = appLogins(config.apps.slice(1), config.keyVault.rotations);
            const open = new Client({
                host: LOOPBACK,
                port: server.port,
                database: billing.database,
                user: billing.current.name,
                password: passwords[billing.current.credentialId],
                ssl: { ca: fs.readFileSync(server.caFile, "utf8") },
            });
            await open.connect();
            try {
                await open.query("BEGIN; SELECT txid_current()");
                await superuserSql(server, "SELECT pg_switch_wal()");
                exporters = new Exporters(processTempDir("pg-azure-rules-"));
                const exporter = await startExporter(exporters, server);
                scrape = await waitFor("the standby and an archive failure in the scrape", 30_000, async () => {
                    const text = await exporters.scrape(exporter);
                    const failed = samples(text, "pg_stat_archiver_failed_count").some((s) => s.value > 0);
                    const streaming = samples(text, "pg_stat_replication_pg_wal_lsn_diff").length === 1;
                    return failed && streaming ? text : undefined;
                });
            } finally {
                await open.end();
            }
        });
        after(async () => {
            await exporters?.stop();
            await standby?.stop();
            await server?.stop();
        });

        it("reads only metrics the exporter exposes to the monitoring login", () => {
            const rules = renderedRuleGroups(run, "postgres-alerts").flatMap((g) => g.rules);
            assert.deepEqual(unscrapedMetrics(rules, sampleNames(scrape)), []);
            console.log(`      ${rules.length} PostgreSQL alerts, ${sampleNames(scrape).size} metric names scraped`);
        });

        it("passes promtool check rules and fires each alert on its series and on no other", () => {
            const groups = renderedRuleGroups(run, "postgres-alerts");
            const checked = checkRules(groups);
            assert.equal(checked.code, 0, checked.output);
            const result = testRules(groups, CASES);
            assert.equal(result.code, 0, result.output);
        });
    });
});
