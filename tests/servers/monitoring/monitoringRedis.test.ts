/**
 * The Redis alerts the program renders, proven on real series: redis_exporter with the image's client list (Debian
 * 13's 1.69.0, `PINNED_EXPORTERS`) runs beside each process of the rendered prod group (Sentinel, TLS) from the
 * rendered exporter container (its args and env, the `monitor` user's password from the synced Secret), every metric
 * each rule reads must be in its real scrape (the kubelet's volume statistics excepted: no kubelet runs here), the
 * client list names each connection's ACL user, and promtool checks the rules and fires each alert on one series set
 * and not on another.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import type { RecordedResource, RunResult } from "../../../offline/mockEngine";
import { NAMES, POD_DIRS, REDIS_PORT, SENTINEL_PORT } from "../../../components/redis/layout";
import {
    Container,
    Exporters,
    PINNED_EXPORTERS,
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
import { appClient } from "../../../testbed/servers/redisClients";
import { CLIENT_LIST_RELABELINGS } from "../../../components/redis/spec";
import type Redis from "ioredis";

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
    return exporters.start(pod, PINNED_EXPORTERS.redis, resolveArgs(container, translated), translated, {
        env: "REDIS_EXPORTER_WEB_LISTEN_ADDRESS",
    });
}

const NS = { namespace: "data-platform" };
const series = seriesWith(NS);
const R0 = { pod: "redis-0" };
const R1 = { pod: "redis-1" };
const S0 = { pod: "redis-sentinel-0", master_name: "mymaster" };
/** The kubelet's volume statistics of one claim (kube-prometheus-stack's kubelet scrape): `available` of 100 bytes. */
const volume = (claim: string, available: number) => [
    series("kubelet_volume_stats_available_bytes", { persistentvolumeclaim: claim }, `${available}x10`),
    series("kubelet_volume_stats_capacity_bytes", { persistentvolumeclaim: claim }, "100x10"),
];
/** Metrics no exporter here can expose: the kubelet's (no kubelet runs here; names cited in components/alerts.ts). */
const KUBELET = new Set(["kubelet_volume_stats_available_bytes", "kubelet_volume_stats_capacity_bytes"]);
/** `n` connections of ACL user `user` on Redis `pod`, as the client list shows them (one series per connection). */
const connections = (pod: string, user: string, n: number) =>
    Array.from({ length: n }, (_, i) =>
        series("redis_connected_client_info", { pod, user, id: `${user}-${i}`, db: "1" }, "1x20"),
    );

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
        alert: "RedisTenantHoldsMostClients",
        // 5,100 clients (over half of maxclients), 2,600 of them one application's.
        fires: [...connections("redis-0", "orders", 2600), series("redis_connected_clients", R0, "5100x20")],
        firingLabels: [{ ...NS, ...R0, user: "orders" }],
        // The same share on a node far from maxclients; the exporter's own monitor user holding most of a busy one.
        quiet: [
            ...connections("redis-0", "orders", 26),
            series("redis_connected_clients", R0, "51x20"),
            ...connections("redis-1", "monitor", 2600),
            series("redis_connected_clients", R1, "5100x20"),
        ],
        at: "15m",
    },
    {
        alert: "RedisVolumeFull",
        fires: [...volume("data-redis-0", 19), ...volume("data-redis-sentinel-1", 50)],
        firingLabels: [{ ...NS, persistentvolumeclaim: "data-redis-0" }],
        // Below the line, and another workload's claim in the namespace past it.
        quiet: [...volume("data-redis-0", 21), ...volume("data-postgres-0", 5)],
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
    /** The master's scrape, with an application's connection open. */
    let masterScrape = "";
    let app: Redis | undefined;

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
        // An application's connection, in its own database, for the client list.
        app = appClient(g, parseStack("prod").apps[0].name, master);
        await app.connect();
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
                if (role === "data" && i === master) {
                    masterScrape = text;
                }
            }
        }
    });
    after(async () => {
        app?.disconnect();
        await exporters?.stop();
        await g?.stop();
    });

    it("reads only metrics the real exporters expose", () => {
        const rules = renderedRuleGroups(run, "redis-alerts").flatMap((group) => group.rules);
        const used = new Set(rules.flatMap((rule) => metricNames(rule.expr)));
        assert.deepEqual(unscrapedMetrics(rules, new Set([...scraped, ...KUBELET])), []);
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
                new Set([...scraped, ...KUBELET]),
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
        assert.match(result.output, /SUCCESS: 15 rules found/);
    });

    it("fires each alert on its series and on no other (promtool test rules)", () => {
        const result = testRules(renderedRuleGroups(run, "redis-alerts"), CASES);
        assert.equal(result.code, 0, result.output);
    });

    it("names each connection's ACL user in the master's client list (as the monitor user) and keeps only that metric of it", () => {
        const [first] = parseStack("prod").apps;
        const clients = samples(masterScrape, "redis_connected_client_info");
        const users = clients.map((c) => c.labels.user);
        assert.ok(users.includes(first.name), `no ${first.name} connection among ${users.join(", ")}`);
        assert.ok(users.includes("monitor"), users.join(", "));
        assert.equal(clients.find((c) => c.labels.user === first.name)?.labels.db, String(first.redisDb));
        // What the ServiceMonitor keeps of the per-connection metrics (Prometheus anchors the regex, as here).
        const dropped = new RegExp(`^(?:${CLIENT_LIST_RELABELINGS[0].regex})$`);
        const clientMetrics = [...sampleNames(masterScrape)].filter((n) => n.startsWith("redis_connected_client_"));
        assert.ok(clientMetrics.length > 1, clientMetrics.join(", "));
        assert.deepEqual(
            clientMetrics.filter((n) => !dropped.test(n)),
            ["redis_connected_client_info"],
        );
        console.log(
            `      ${clients.length} connections in the client list (users ${[...new Set(users)].sort().join(", ")}); ${clientMetrics.length - 1} per-connection metrics dropped`,
        );
    });

    it("counts the application's connections on its per-user panel, and not the platform's own users", () => {
        const [first] = parseStack("prod").apps;
        const panel = renderedDashboard(run, "data-platform-redis-dashboard").panels.find((p) =>
            /per application user/.test(p.title),
        );
        assert.ok(panel, "no per-user clients panel");
        const [query] = panel.targets;
        // The panel's user matcher applied to the real client list.
        const excluded = new RegExp(`^(?:${/user!~"([^"]+)"/.exec(query.expr)![1]})$`);
        const counted = samples(masterScrape, "redis_connected_client_info").filter(
            (c) => !excluded.test(c.labels.user),
        );
        assert.deepEqual([...new Set(counted.map((c) => c.labels.user))], [first.name]);
    });
});
