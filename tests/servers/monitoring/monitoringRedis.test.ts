/**
 * The Redis alerts the program renders, proven on real series: Debian's redis_exporter runs beside each process of the
 * rendered prod group (Sentinel, TLS) from the rendered exporter container (its args and env, the `monitor` user's
 * password from the synced Secret), every metric each rule reads must be in its real scrape, and promtool checks the
 * rules and fires each alert on one series set and not on another.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import type { RecordedResource, RunResult } from "../../../offline/mockEngine";
import { NAMES, POD_DIRS, REDIS_PORT, SENTINEL_PORT } from "../../../components/redis/layout";
import {
    Container,
    Exporters,
    resolveArgs,
    resolveEnv,
    sampleNames,
    samples,
} from "../../../testbed/servers/exporters";
import { LOOPBACK } from "../../../testbed/servers/processes";
import { LocalRedisGroup, Role } from "../../../testbed/servers/redis";
import { waitHealthy } from "../../../testbed/servers/redisStack";
import { runStack } from "../../support/program";
import {
    AlertCase,
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
import { parseStack } from "../../support/config";
import { localGroup } from "../../support/redis";

const STS = "kubernetes:apps/v1:StatefulSet";

function exporterContainer(run: RunResult, statefulSet: string): Container {
    const sts: RecordedResource | undefined = run.resources.find(
        (r) => r.type === STS && r.inputs.metadata.name === statefulSet,
    );
    assert.ok(sts, `no StatefulSet ${statefulSet}`);
    const container = sts.inputs.spec.template.spec.containers.find((c: Container) => c.name === "exporter");
    assert.ok(container, `${statefulSet} has no exporter container`);
    return container;
}

/**
 * Starts the rendered exporter of one process as its pod would: env from the downward API and the `redis-auth`
 * Secret (the group's synced files), the TLS mount mapped to the group's certificates, and the pod's own address
 * (`<pod>.<service>...:<port>`) mapped to the process's loopback port.
 */
async function startExporter(
    exporters: Exporters,
    g: LocalRedisGroup,
    container: Container,
    role: Role,
    ordinal: number,
) {
    const pod = `${role === "data" ? NAMES.data : NAMES.sentinel}-${ordinal}`;
    const env = resolveEnv(container, {
        fields: { "metadata.name": pod },
        secret: (name, key) => {
            assert.equal(name, NAMES.auth, "the exporter reads passwords from redis-auth only");
            return fs.readFileSync(path.join(g.layout.dirs.auth, key), "utf8");
        },
        mounts: { [POD_DIRS.tls]: g.layout.dirs.tls },
    });
    const podAddress = `${env.SELF_HOST}:${role === "data" ? REDIS_PORT : SENTINEL_PORT}`;
    const local = `${LOOPBACK}:${g.port(role, ordinal)}`;
    const translated = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.split(podAddress).join(local)]));
    assert.notDeepEqual(translated, env, `the exporter's env names its pod's address ${podAddress}`);
    return exporters.start(
        pod,
        "prometheus-redis-exporter",
        resolveArgs(container, translated),
        translated,
        "REDIS_EXPORTER_WEB_LISTEN_ADDRESS",
    );
}

const NS = { namespace: "data-platform" };
const series = seriesWith(NS);
const R0 = { pod: "redis-0" };
const R1 = { pod: "redis-1" };
const S0 = { pod: "redis-sentinel-0", master_name: "mymaster" };

/** Each prod alert: series over 10 minutes that fire it, and series that must not. */
const CASES: AlertCase[] = [
    {
        alert: "RedisNoMaster",
        fires: [series("redis_instance_info", { ...R0, role: "slave" }, "1x10")],
        firingLabels: [{ ...NS, role: "master" }],
        quiet: [series("redis_instance_info", { ...R0, role: "master" }, "1x10")],
        at: "10m",
    },
    {
        alert: "RedisTwoMasters",
        fires: [
            series("redis_instance_info", { ...R0, role: "master" }, "1x10"),
            series("redis_instance_info", { ...R1, role: "master" }, "1x10"),
        ],
        firingLabels: [{}],
        quiet: [
            series("redis_instance_info", { ...R0, role: "master" }, "1x10"),
            series("redis_instance_info", { ...R1, role: "slave" }, "1x10"),
        ],
        at: "10m",
    },
    {
        alert: "RedisSentinelQuorumLost",
        fires: [
            series("redis_sentinel_master_ckquorum_status", S0, "0x10"),
            series("redis_sentinel_master_ok_sentinels", S0, "1x10"),
        ],
        firingLabels: [{ ...NS, ...S0 }],
        quiet: [
            series("redis_sentinel_master_ckquorum_status", S0, "1x10"),
            series("redis_sentinel_master_ok_sentinels", S0, "3x10"),
        ],
        at: "10m",
    },
    {
        alert: "RedisSentinelTilt",
        fires: [series("redis_sentinel_tilt", { pod: S0.pod }, "1x10")],
        firingLabels: [{ ...NS, pod: S0.pod }],
        quiet: [series("redis_sentinel_tilt", { pod: S0.pod }, "0x10")],
        at: "10m",
    },
    {
        alert: "RedisReplicationBroken",
        fires: [series("redis_master_link_up", R1, "0x10"), series("redis_connected_slaves", R0, "2x10")],
        firingLabels: [{ ...NS, ...R1 }],
        quiet: [series("redis_master_link_up", R1, "1x10"), series("redis_connected_slaves", R0, "2x10")],
        at: "10m",
    },
    {
        alert: "RedisMemoryHigh",
        fires: [series("redis_memory_used_bytes", R0, "95x10"), series("redis_memory_max_bytes", R0, "100x10")],
        firingLabels: [{ ...NS, ...R0 }],
        quiet: [series("redis_memory_used_bytes", R0, "80x10"), series("redis_memory_max_bytes", R0, "100x10")],
        at: "10m",
    },
    {
        alert: "RedisTenantHoldsMostKeys",
        fires: [
            series("redis_db_keys", { ...R0, db: "db1" }, "900x20"),
            series("redis_db_keys", { ...R0, db: "db2" }, "100x20"),
            series("redis_memory_used_bytes", R0, "85x20"),
            series("redis_memory_max_bytes", R0, "100x20"),
        ],
        firingLabels: [{ ...NS, ...R0, db: "db1" }],
        // The same share without memory pressure: nothing to act on.
        quiet: [
            series("redis_db_keys", { ...R0, db: "db1" }, "900x20"),
            series("redis_db_keys", { ...R0, db: "db2" }, "100x20"),
            series("redis_memory_used_bytes", R0, "50x20"),
            series("redis_memory_max_bytes", R0, "100x20"),
        ],
        at: "15m",
    },
    {
        alert: "RedisDown",
        fires: [series("redis_up", R0, "0x10")],
        firingLabels: [{ ...NS, ...R0 }],
        quiet: [series("redis_up", R0, "1x10")],
        at: "10m",
    },
    {
        alert: "RedisMetricsAbsent",
        fires: [{ series: 'redis_up{namespace="elsewhere"}', values: "1x10" }],
        firingLabels: [NS],
        quiet: [series("redis_up", R0, "1x10")],
        at: "10m",
    },
    {
        alert: "RedisEvictions",
        fires: [series("redis_evicted_keys_total", R0, "0+10x10")],
        firingLabels: [{ ...NS, ...R0 }],
        quiet: [series("redis_evicted_keys_total", R0, "7x10")],
        at: "10m",
    },
    {
        alert: "RedisWritesRefusedOutOfMemory",
        fires: [series("redis_errors_total", { ...R0, err: "OOM" }, "0+1x10")],
        firingLabels: [{ ...NS, ...R0, err: "OOM" }],
        // Other errors (a wrong command, a NOPERM) are the applications' own.
        quiet: [series("redis_errors_total", { ...R0, err: "ERR" }, "0+1x10")],
        at: "10m",
    },
    {
        alert: "RedisRejectedConnections",
        fires: [series("redis_rejected_connections_total", R0, "0+1x10")],
        firingLabels: [{ ...NS, ...R0 }],
        quiet: [series("redis_rejected_connections_total", R0, "3x10")],
        at: "10m",
    },
    {
        alert: "RedisAofWriteFailing",
        fires: [
            series("redis_aof_last_write_status", R0, "0x10"),
            series("redis_aof_last_bgrewrite_status", R0, "1x10"),
        ],
        firingLabels: [{ ...NS, ...R0 }],
        quiet: [
            series("redis_aof_last_write_status", R0, "1x10"),
            series("redis_aof_last_bgrewrite_status", R0, "1x10"),
        ],
        at: "10m",
    },
];

describe("Redis alerts on real redis_exporter series (rendered prod group) and promtool", function () {
    this.timeout(90_000);
    let run: RunResult;
    let g: LocalRedisGroup;
    let exporters: Exporters;
    /** Every sample name the exporters of the data nodes and the Sentinels expose. */
    const scraped = new Set<string>();

    before(async () => {
        run = await runStack("prod");
        g = await localGroup("prod");
        exporters = new Exporters(path.join(g.root, "exporters"));
        g.startAll();
        const master = await waitHealthy(g, 60_000);
        // One refused command, so the error statistics (INFO errorstats) have a line to export.
        await g.command("data", master, "NO-SUCH-COMMAND");
        // A key in an application's database, so the keyspace (INFO keyspace) has a line to export.
        const admin = g.admin("data", master);
        await admin.connect();
        try {
            await admin.select(parseStack("prod").apps[0].redisDb);
            await admin.set("monitoring-test", "1");
        } finally {
            admin.disconnect();
        }
        for (const role of ["data", "sentinel"] as const) {
            const container = exporterContainer(run, role === "data" ? NAMES.data : NAMES.sentinel);
            const ports = role === "data" ? g.layout.dataNodes : g.layout.sentinels;
            for (let i = 0; i < ports.length; i++) {
                const exporter = await startExporter(exporters, g, container, role, i);
                const text = await exporters.scrape(exporter);
                assert.deepEqual(
                    samples(text, "redis_up").map((s) => s.value),
                    [1],
                    `${exporter.name}'s exporter reaches its server as monitor:\n${exporters.log(exporter.name)}`,
                );
                sampleNames(text).forEach((name) => scraped.add(name));
            }
        }
    });
    after(async () => {
        await exporters?.stop();
        await g?.stop();
    });

    it("reads only metrics the real exporters expose", () => {
        const rules = renderedRuleGroups(run, "redis-alerts").flatMap((group) => group.rules);
        const used = new Set(rules.flatMap((rule) => metricNames(rule.expr)));
        assert.deepEqual(unscrapedMetrics(rules, scraped), []);
        console.log(
            `      ${used.size} metric names of ${rules.length} Redis alerts found among ${scraped.size} scraped`,
        );
        for (const rule of rules) {
            assert.notDeepEqual(metricNames(rule.expr), [], `${rule.alert} reads no metric`);
        }
    });

    it("fails a rule whose metric is misspelt: not in the scrape, and its alert never fires", () => {
        const groups = renderedRuleGroups(run, "redis-alerts");
        const misspelt = groups.map((group) => ({
            ...group,
            rules: group.rules.map((rule) =>
                rule.alert === "RedisEvictions"
                    ? { ...rule, expr: rule.expr.replace("redis_evicted_keys_total", "redis_evicted_keys_totl") }
                    : rule,
            ),
        }));
        assert.deepEqual(
            unscrapedMetrics(
                misspelt.flatMap((group) => group.rules),
                scraped,
            ),
            ["RedisEvictions: redis_evicted_keys_totl"],
        );
        const result = testRules(misspelt, CASES);
        assert.notEqual(result.code, 0);
        assert.match(result.output, /RedisEvictions fires/);
    });

    it("shows on its dashboard only metrics the real exporter exposes, in queries promtool parses", () => {
        const queries = dashboardQueries(renderedDashboard(run, "data-platform-redis-dashboard"));
        const parsed = checkQueries(queries);
        assert.equal(parsed.code, 0, parsed.output);
        assert.deepEqual(unscrapedMetrics(queries, scraped), []);
        console.log(`      ${queries.length} Redis dashboard queries, every metric found in the scrape`);
    });

    it("passes promtool check rules", () => {
        const result = checkRules(renderedRuleGroups(run, "redis-alerts"));
        assert.equal(result.code, 0, result.output);
        assert.match(result.output, /SUCCESS: 13 rules found/);
    });

    it("fires each alert on its series and on no other (promtool test rules)", () => {
        const result = testRules(renderedRuleGroups(run, "redis-alerts"), CASES);
        assert.equal(result.code, 0, result.output);
    });
});
