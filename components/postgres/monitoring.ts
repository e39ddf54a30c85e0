/**
 * Prometheus alerts of PostgreSQL (pure), on postgres_exporter's default collectors only: StackGres 1.18's exporter
 * sidecar runs postgres_exporter with its defaults plus its own queries.yaml (ongres/stackgres
 * `sidecars/pgexporter/PostgresExporter.java`: `PG_EXPORTER_EXTEND_QUERY_PATH`, no `--disable-default-metrics`), so
 * the metrics read here are there as in any postgres_exporter (tested: Debian's 0.11.1; StackGres ships its own build).
 *
 * Azure (not built yet): the choice is a postgres_exporter Deployment with a `pg_monitor` login, not diagnostic
 * settings and Azure Monitor metrics. Those reach Prometheus only through another exporter, under other names, so
 * every rule and panel would exist twice; their per-database figures are opt-in (enhanced metrics) and sessions per
 * database not among them **(unverified)**; postgres_exporter gives the same series in both modes, and a `pg_monitor`
 * login reads them all (tests/servers/monitoring/monitoringPostgres.test.ts). Storage and backups stay Azure Monitor's.
 *
 * What postgres_exporter cannot see comes from elsewhere: on StackGres the volumes' fill from the kubelet and the
 * scheduled backups from kube-state-metrics (both scraped by kube-prometheus-stack); on Azure storage is Azure
 * Monitor's alert (exporterSpec.ts `azureStorageAlert`) and backups are the service's own, with no failure signal a
 * client can read (README, "PostgresBackupFailed").
 */
import { AlertRule, VOLUME_FULL_RATIO, alertRule as rule, prometheusRuleObject, volumeFullExpr } from "../alerts";
import type { ServerConfig } from "../config/types";
import { Dashboard, dashboardModel } from "../dashboards";
import { PLATFORM_NAME, recommendedLabels } from "../labels";
import { reservedConnections } from "./configRules";
import type { PostgresConfig } from "../config/postgres";
import { postgresNames } from "./servers";
import { stackGresOperatorNames } from "./stackgresSpec";

/** Share of the applications' connection budget that warns before new connections are refused. */
export const CONNECTIONS_WARN_RATIO = 0.9;
/** Share of the budget one database may hold before it starves the others. */
export const TENANT_CONNECTIONS_RATIO = 0.5;
/**
 * Bytes of WAL a replica may be behind: Patroni's `maximum_lag_on_failover` default (1 MiB), past which it is no
 * failover candidate (patroni docs, dynamic configuration settings).
 */
export const REPLICATION_LAG_BYTES = 1_048_576;
/** Seconds a transaction may stay open (it holds back vacuum and locks). */
export const LONG_TRANSACTION_SECONDS = 300;
/**
 * How long the last scheduled base backup may go without success: longer than a base backup of the largest database
 * the profiles size for takes, so a running one is not taken for a failed one.
 */
export const BACKUP_MAX_HOURS = 6;

/**
 * The series of one server's exporter: its namespace, and its pods (the SGCluster's `<cluster>-<n>`, or Azure mode's
 * exporter Deployment), since several servers share the platform namespace.
 */
export function postgresSeriesSelector(postgres: PostgresConfig, namespace: string): string {
    const pods =
        postgres.mode === "stackgres"
            ? `${postgres.stackgres.clusterName}-[0-9]+`
            : `${postgresNames(postgres).exporter}-.+`;
    return `namespace="${namespace}",pod=~"${pods}"`;
}

export function postgresAlertRules(config: ServerConfig, namespace: string): AlertRule[] {
    const sel = postgresSeriesSelector(config.postgres, namespace);
    // Connections applications may open on one server: max_connections as the server reports it, less the reserved.
    const budget = `(pg_settings_max_connections{${sel}} - ${reservedConnections(config)})`;
    const connections = (database = "") =>
        `sum by (instance, datname) (pg_stat_database_numbackends{${sel}${database && `,datname="${database}"`}})`;
    // Each application's declared peak (replicas x poolSize, the demand the budget rule adds up).
    const overDeclared = config.apps
        .map((app) => `${connections(app.database)} > ${app.replicas * app.poolSize}`)
        .join(" or ");
    return [
        rule(
            "PostgresDown",
            `pg_up{${sel}} == 0`,
            "1m",
            "critical",
            "postgres_exporter {{ $labels.instance }} cannot reach PostgreSQL",
        ),
        rule(
            "PostgresMetricsAbsent",
            `absent(pg_up{${sel}})`,
            "5m",
            "critical",
            `no postgres_exporter in ${namespace} is scraped`,
        ),
        rule(
            "PostgresConnectionsNearBudget",
            `sum by (instance) (pg_stat_database_numbackends{${sel}}) > on (instance) ${CONNECTIONS_WARN_RATIO} * ${budget}`,
            "5m",
            "warning",
            `PostgreSQL {{ $labels.instance }} holds over ${CONNECTIONS_WARN_RATIO * 100}% of the connections applications may open`,
        ),
        ...(overDeclared
            ? [
                  rule(
                      "PostgresAppConnectionsOverDeclared",
                      overDeclared,
                      "5m",
                      "warning",
                      "database {{ $labels.datname }} has more connections than its application declares (replicas x poolSize)",
                  ),
              ]
            : []),
        rule(
            "PostgresTenantHoldsMostConnections",
            `${connections()} > on (instance) group_left ${TENANT_CONNECTIONS_RATIO} * ${budget}`,
            "5m",
            "warning",
            `database {{ $labels.datname }} holds over ${TENANT_CONNECTIONS_RATIO * 100}% of the shared connection budget`,
        ),
        // pg_stat_replication on the primary, one series per replica (postgres_exporter's built-in query).
        rule(
            "PostgresReplicationLag",
            `max by (instance, application_name) (pg_stat_replication_pg_wal_lsn_diff{${sel}}) > ${REPLICATION_LAG_BYTES}`,
            "5m",
            "warning",
            `replica {{ $labels.application_name }} is over ${REPLICATION_LAG_BYTES / 1_048_576} MiB of WAL behind: no failover candidate until it catches up`,
        ),
        rule(
            "PostgresLongTransaction",
            `max by (instance, datname) (pg_stat_activity_max_tx_duration{${sel}}) > ${LONG_TRANSACTION_SECONDS}`,
            "1m",
            "warning",
            `a transaction in {{ $labels.datname }} has been open over ${LONG_TRANSACTION_SECONDS} s (holds back vacuum, may hold locks)`,
        ),
        rule(
            "PostgresDeadlocks",
            `increase(pg_stat_database_deadlocks{${sel}}[10m]) > 0`,
            "0m",
            "warning",
            "PostgreSQL aborted transactions in {{ $labels.datname }} to break deadlocks",
        ),
        // pg_stat_archiver (postgres_exporter's built-in query): failures with nothing archived, not a retried blip.
        rule(
            "PostgresWalArchiveFailing",
            `increase(pg_stat_archiver_failed_count{${sel}}[15m]) > 0 and increase(pg_stat_archiver_archived_count{${sel}}[15m]) == 0`,
            "5m",
            "critical",
            "PostgreSQL {{ $labels.instance }} fails to archive WAL: point-in-time recovery falls behind and pg_wal grows",
        ),
        ...(config.postgres.mode === "stackgres" ? stackGresStorageRules(config, namespace) : []),
    ];
}

/** The StackGres cluster's volumes and, when configured, its scheduled base backups. */
function stackGresStorageRules(config: ServerConfig, namespace: string): AlertRule[] {
    const sg = config.postgres.stackgres;
    const names = stackGresOperatorNames(sg.clusterName);
    // kube-state-metrics' CronJob status (docs/metrics/workload/cronjob-metrics.md); no success yet has no series.
    const cron = `namespace="${namespace}",cronjob="${names.backupCronJob}"`;
    const scheduled = `kube_cronjob_status_last_schedule_time{${cron}}`;
    const succeeded = `kube_cronjob_status_last_successful_time{${cron}}`;
    return [
        rule(
            "PostgresVolumeFull",
            volumeFullExpr(namespace, names.dataClaims),
            "5m",
            "warning",
            `volume {{ $labels.persistentvolumeclaim }} of PostgreSQL is over ${VOLUME_FULL_RATIO * 100}% full (it does not grow by itself)`,
        ),
        ...(sg.backups
            ? [
                  rule(
                      "PostgresBackupFailed",
                      `${scheduled} > on (namespace, cronjob) ${succeeded} or (${scheduled} unless on (namespace, cronjob) ${succeeded})`,
                      `${BACKUP_MAX_HOURS}h`,
                      "critical",
                      `the base backup CronJob ${names.backupCronJob} has not succeeded since its last scheduled run over ${BACKUP_MAX_HOURS} h ago`,
                  ),
              ]
            : []),
    ];
}

/** The PostgreSQL alerts, labelled for the Prometheus that selects Redis' rules (`redis.monitoringLabels`). */
export function postgresPrometheusRule(config: ServerConfig, namespace: string) {
    return prometheusRuleObject(
        {
            name: postgresNames(config.postgres).alerts,
            namespace,
            labels: {
                ...config.redis.monitoringLabels,
                ...recommendedLabels({ name: postgresNames(config.postgres).prefix, partOf: PLATFORM_NAME }),
            },
        },
        "postgres",
        postgresAlertRules(config, namespace),
    );
}

/** The PostgreSQL dashboard: per application database connections, size, transactions; the server's budget. */
export function postgresDashboard(config: ServerConfig, namespace: string): Dashboard {
    const sel = postgresSeriesSelector(config.postgres, namespace);
    const apps = `${sel},datname=~"${config.apps.map((app) => app.database).join("|")}"`;
    const server = config.postgres.server;
    const title = server === undefined ? "Data platform: PostgreSQL" : `Data platform: PostgreSQL server ${server}`;
    return dashboardModel(`data-platform-${postgresNames(config.postgres).prefix}`, title, [
        {
            title: "Connections per application database, and the applications' budget",
            queries: [
                { expr: `sum by (datname) (pg_stat_database_numbackends{${apps}})`, legend: "{{datname}}" },
                {
                    expr: `max(pg_settings_max_connections{${sel}}) - ${reservedConnections(config)}`,
                    legend: "budget",
                },
            ],
            unit: "short",
        },
        {
            title: "Size per application database",
            queries: [{ expr: `max by (datname) (pg_database_size_bytes{${apps}})`, legend: "{{datname}}" }],
            unit: "bytes",
        },
        {
            title: "Longest open transaction",
            queries: [{ expr: `max by (datname) (pg_stat_activity_max_tx_duration{${apps}})`, legend: "{{datname}}" }],
            unit: "s",
        },
        {
            title: "Commits and rollbacks per second",
            queries: [
                {
                    expr: `sum by (datname) (rate(pg_stat_database_xact_commit{${apps}}[5m]))`,
                    legend: "{{datname}} commits",
                },
                {
                    expr: `sum by (datname) (rate(pg_stat_database_xact_rollback{${apps}}[5m]))`,
                    legend: "{{datname}} rollbacks",
                },
            ],
            unit: "ops",
        },
        {
            title: "Deadlocks per second",
            queries: [
                { expr: `sum by (datname) (rate(pg_stat_database_deadlocks{${apps}}[5m]))`, legend: "{{datname}}" },
            ],
            unit: "ops",
        },
        {
            title: "Servers up",
            queries: [{ expr: `pg_up{namespace="${namespace}"}`, legend: "{{instance}}" }],
            unit: "short",
        },
    ]);
}
