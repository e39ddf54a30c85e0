/** Prometheus alerts of the Redis group (pure). Metric names are redis_exporter's (INFO-derived and exporter/sentinels.go). */
import { AlertRule, VOLUME_FULL_RATIO, alertRule as rule, volumeFullExpr } from "../alerts";
import type { RedisConfig } from "../config/redis";
import { Dashboard, dashboardModel } from "../dashboards";
import { platformUserNames } from "./acl";
import { maxmemoryMiB } from "./files";
import { redisPrefix } from "./groups";

/**
 * The series of one group's exporters: its namespace, and its pods (`<prefix>-<n>`, `<prefix>-sentinel-<n>`), since
 * several groups share the platform namespace.
 */
export function redisSeriesSelector(redis: Pick<RedisConfig, "group">, namespace: string): string {
    return `namespace="${namespace}",pod=~"${redisPrefix(redis)}-([0-9]+|sentinel-[0-9]+)"`;
}

import { redisNames } from "./layout";

/**
 * Redis' default `maxclients` (redis.conf: "maxclients 10000"), which the rendered configuration keeps; Redis lowers it
 * to the process's open-file limit less 32 when that is lower.
 */
export const REDIS_MAXCLIENTS = 10_000;
/** Share of `REDIS_MAXCLIENTS` above which one application's connections are worth an alert if it holds most. */
const CLIENTS_PRESSURE_RATIO = 0.5;

/**
 * PromQL: connected clients per application (ACL) user and pod, from the client list (`CLIENT_LIST_RELABELINGS`);
 * the platform's own users (the exporter's `monitor`, replication, Sentinel) are left out.
 */
export function clientsPerUser(redis: Pick<RedisConfig, "backup">, selector: string): string {
    return `count by (namespace, pod, user) (redis_connected_client_info{${selector},user!~"${platformUserNames(redis).join("|")}"})`;
}

/**
 * Alerts on the data nodes' and Sentinels' exporters. Metric names: redis_exporter v1.67.0 exporter/exporter.go
 * (`evicted_keys_total`, `rejected_connections_total`, `aof_last_write_status`, `errors_total{err}` from Errorstats).
 */
export function redisAlertRules(redis: RedisConfig, namespace: string): AlertRule[] {
    const sel = redisSeriesSelector(redis, namespace);
    const names = redisNames(redis);
    const memoryUsed = `redis_memory_used_bytes{${sel}} / (redis_memory_max_bytes{${sel}} > 0)`;
    const rules = [
        rule(
            "RedisMemoryHigh",
            `${memoryUsed} > 0.9`,
            "5m",
            "warning",
            `Redis {{ $labels.pod }} uses over 90% of maxmemory (${maxmemoryMiB(redis)}mb, policy ${redis.maxmemoryPolicy})`,
        ),
        // Each application has its own database: under memory pressure, the one holding most keys is the likely cause.
        rule(
            "RedisTenantHoldsMostKeys",
            `redis_db_keys{${sel}} / ignoring (db) group_left sum without (db) (redis_db_keys{${sel}}) > 0.5 and on (pod) ${memoryUsed} > 0.8`,
            "10m",
            "warning",
            "database {{ $labels.db }} holds over half the keys of Redis {{ $labels.pod }}, which is above 80% of maxmemory",
        ),
        rule(
            "RedisDown",
            `redis_up{${sel}} == 0`,
            "1m",
            "critical",
            "redis_exporter cannot reach Redis {{ $labels.pod }}",
        ),
        // No series at all: no exporter is scraped (pods gone, ServiceMonitor not selected, NetworkPolicy).
        rule(
            "RedisMetricsAbsent",
            `absent(redis_up{${sel}})`,
            "5m",
            "critical",
            `no redis_exporter in ${namespace} is scraped`,
        ),
        rule(
            "RedisEvictions",
            `increase(redis_evicted_keys_total{${sel}}[5m]) > 0`,
            "0m",
            "warning",
            `Redis {{ $labels.pod }} evicts keys at maxmemory (${maxmemoryMiB(redis)}mb, policy ${redis.maxmemoryPolicy})`,
        ),
        // errorstat_OOM: writes refused at maxmemory (noeviction, or nothing left to evict).
        rule(
            "RedisWritesRefusedOutOfMemory",
            `increase(redis_errors_total{${sel},err="OOM"}[5m]) > 0`,
            "0m",
            "critical",
            `Redis {{ $labels.pod }} refuses writes at maxmemory (${maxmemoryMiB(redis)}mb)`,
        ),
        rule(
            "RedisRejectedConnections",
            `increase(redis_rejected_connections_total{${sel}}[5m]) > 0`,
            "0m",
            "warning",
            "Redis {{ $labels.pod }} rejected connections (maxclients reached)",
        ),
        // One application's connections (a leak, a pool per request) running the node towards maxclients.
        rule(
            "RedisTenantHoldsMostClients",
            `${clientsPerUser(redis, sel)} / on (pod) group_left redis_connected_clients{${sel}} > 0.5 and on (pod) redis_connected_clients{${sel}} > ${CLIENTS_PRESSURE_RATIO * REDIS_MAXCLIENTS}`,
            "10m",
            "warning",
            `application user {{ $labels.user }} holds over half the clients of Redis {{ $labels.pod }}, which has over ${CLIENTS_PRESSURE_RATIO * REDIS_MAXCLIENTS} of its ${REDIS_MAXCLIENTS}`,
        ),
        rule(
            "RedisVolumeFull",
            volumeFullExpr(namespace, `data-(${names.data}|${names.sentinel})-[0-9]+`),
            "5m",
            "warning",
            `volume {{ $labels.persistentvolumeclaim }} of Redis is over ${VOLUME_FULL_RATIO * 100}% full (an AOF rewrite needs room for a second copy)`,
        ),
        // INFO persistence: aof_last_write_status / aof_last_bgrewrite_status, `err` exported as 0.
        rule(
            "RedisAofWriteFailing",
            `redis_aof_last_write_status{${sel}} == 0 or redis_aof_last_bgrewrite_status{${sel}} == 0`,
            "1m",
            "critical",
            "Redis {{ $labels.pod }} cannot write or rewrite its append-only file (disk full or failing)",
        ),
    ];
    if (redis.mode === "standalone") {
        return rules;
    }
    return [
        rule(
            "RedisNoMaster",
            `count(redis_instance_info{${sel},role="master"}) == 0 or absent(redis_instance_info{${sel},role="master"})`,
            "1m",
            "critical",
            "no Redis data node reports role master",
        ),
        rule(
            "RedisTwoMasters",
            `count(redis_instance_info{${sel},role="master"}) > 1`,
            "30s",
            "critical",
            "more than one Redis data node reports role master (split brain)",
        ),
        rule(
            "RedisSentinelQuorumLost",
            `redis_sentinel_master_ckquorum_status{${sel}} == 0 or redis_sentinel_master_ok_sentinels{${sel}} < ${redis.quorum}`,
            "1m",
            "critical",
            `Sentinel {{ $labels.pod }} cannot reach a quorum (${redis.quorum}) for a failover`,
        ),
        rule(
            "RedisSentinelTilt",
            `redis_sentinel_tilt{${sel}} > 0`,
            "1m",
            "warning",
            "Sentinel {{ $labels.pod }} is in TILT mode and does not act",
        ),
        rule(
            "RedisReplicationBroken",
            `redis_master_link_up{${sel}} == 0 or max(redis_connected_slaves{${sel}}) < ${redis.replicas - 1}`,
            "2m",
            "critical",
            `a replica lost its link to the master, or the master has fewer than ${redis.replicas - 1} replicas`,
        ),
        ...rules,
    ];
}

/** The Redis dashboard: memory against maxmemory, keys per application database, evictions, clients, errors. */
export function redisDashboard(redis: RedisConfig, namespace: string): Dashboard {
    const sel = redisSeriesSelector(redis, namespace);
    const title = redis.group === undefined ? "Data platform: Redis" : `Data platform: Redis group ${redis.group}`;
    return dashboardModel(`data-platform-${redisPrefix(redis)}`, title, [
        {
            title: `Memory used of maxmemory (${maxmemoryMiB(redis)}mb, ${redis.maxmemoryPolicy})`,
            queries: [
                {
                    expr: `redis_memory_used_bytes{${sel}} / (redis_memory_max_bytes{${sel}} > 0)`,
                    legend: "{{pod}}",
                },
            ],
            unit: "percentunit",
        },
        {
            // Replicas hold the master's keys: the largest count is the database's.
            title: "Keys per application database",
            queries: [{ expr: `max by (db) (redis_db_keys{${sel}})`, legend: "{{db}}" }],
            unit: "short",
        },
        {
            title: "Evicted keys per second",
            queries: [{ expr: `rate(redis_evicted_keys_total{${sel}}[5m])`, legend: "{{pod}}" }],
            unit: "ops",
        },
        {
            // Not maxclients: redis_config_* needs CONFIG, which the monitor user is to lose (--config-command=-).
            title: "Connected clients",
            queries: [{ expr: `redis_connected_clients{${sel}}`, legend: "{{pod}}" }],
            unit: "short",
        },
        {
            title: "Connected clients per application user",
            queries: [{ expr: clientsPerUser(redis, sel), legend: "{{user}} on {{pod}}" }],
            unit: "short",
        },
        {
            title: "Commands per second",
            queries: [{ expr: `rate(redis_commands_processed_total{${sel}}[5m])`, legend: "{{pod}}" }],
            unit: "ops",
        },
        {
            title: "Errors per second by kind (OOM: writes refused at maxmemory)",
            queries: [{ expr: `sum by (err) (rate(redis_errors_total{${sel}}[5m]))`, legend: "{{err}}" }],
            unit: "ops",
        },
    ]);
}
