/**
 * Pure parts of the Azure mode's postgres_exporter: its Deployment, Service, ServiceMonitor, NetworkPolicy, the root
 * CAs it verifies the server with, and Azure Monitor's storage alert. `S` is the type of values known only once the
 * server exists (strings, or Outputs when deployed).
 */
import * as crypto from "crypto";
import type { PostgresConfig } from "../config/postgres";
import type { ServerConfig } from "../config/types";
import { postgresNames } from "./servers";
import { PLATFORM_NAME, recommendedLabels } from "../labels";
import { AZURE_POSTGRES_PORT, azureRootCertificates } from "./azureSpec";
import { MONITOR_LOGIN, keyedDigest } from "./sql";
import { RESTRICTED_CONTAINER, restrictedPod } from "../podSecurity";

/**
 * The files the exporter reads and its port. Its objects' names are the server's (`postgresNames`): the Deployment,
 * Service, ServiceMonitor and NetworkPolicy `exporter`, the synced Secret with the monitoring login's password
 * `monitorSecret`, the ConfigMap with Azure's root CAs (`azureRootCertificates`) `exporterCa`.
 */
export const EXPORTER = {
    secretKey: "password",
    caFile: "azure-postgres-roots.pem",
    caDir: "/etc/postgres-exporter/ca",
    /** postgres_exporter's default listen port (`--web.listen-address=:9187`). */
    port: 9187,
    /** `nobody` (the image's own user, 65534). */
    uid: 65534,
} as const;

/**
 * Annotation on the exporter's pods with a keyed digest of the monitoring login's password: postgres_exporter reads
 * its password once at start (cmd/postgres_exporter main.go, `getDataSources`), so a rotation must restart it.
 */
export const PASSWORD_DIGEST_ANNOTATION = "data-platform.io/monitor-password-digest";

/**
 * The annotation's value: a hash of the password's digest keyed by the admin password (`keyedDigest`), as the login
 * Job's name hashes its digests, so neither the password nor its keyed digest is in the plan or the cluster.
 */
export function passwordDigestValue(adminPassword: string, password: string): string {
    return crypto.createHash("sha256").update(keyedDigest(adminPassword, password)).digest("hex").slice(0, 16);
}

const RESOURCES = { cpu: "100m", memory: "64Mi" };

/** Who the exporter's objects belong to: the server (`server` names a named one). */
type Server = Pick<PostgresConfig, "server">;

export function exporterLabels(server: Server): Record<string, string> {
    return recommendedLabels({ name: postgresNames(server).exporter, partOf: PLATFORM_NAME });
}

/**
 * libpq's connection URI without user and password (postgres_exporter's `DATA_SOURCE_URI`): TLS verify-full against
 * Azure's root CAs, so only the server whose certificate names `host` gets the password.
 */
export function exporterDataSourceUri(host: string): string {
    return `${host}:${AZURE_POSTGRES_PORT}/postgres?sslmode=verify-full&sslrootcert=${EXPORTER.caDir}/${EXPORTER.caFile}`;
}

/** The ConfigMap data with the root CAs the exporter trusts. */
export function exporterCaData(): Record<string, string> {
    return { [EXPORTER.caFile]: azureRootCertificates() };
}

/** The exporter's own service account: no API right, no token. */
export function exporterServiceAccount<S>(server: Server, namespace: S) {
    return {
        metadata: { name: postgresNames(server).exporter, namespace, labels: exporterLabels(server) },
        automountServiceAccountToken: false,
    };
}

/** The exporter's Deployment (restricted Pod Security; the password only from the synced Secret). */
export function exporterDeployment<S>(
    config: ServerConfig,
    input: { namespace: S; dataSourceUri: S; passwordDigest: S },
) {
    const names = postgresNames(config.postgres);
    const labels = exporterLabels(config.postgres);
    return {
        metadata: { name: names.exporter, namespace: input.namespace, labels },
        spec: {
            replicas: 1,
            selector: { matchLabels: labels },
            template: {
                metadata: { labels, annotations: { [PASSWORD_DIGEST_ANNOTATION]: input.passwordDigest } },
                spec: {
                    serviceAccountName: names.exporter,
                    automountServiceAccountToken: false,
                    securityContext: restrictedPod(EXPORTER.uid, { fsGroup: false }),
                    containers: [
                        {
                            name: "exporter",
                            image: config.postgres.azure.exporterImage,
                            env: [
                                { name: "DATA_SOURCE_URI", value: input.dataSourceUri },
                                { name: "DATA_SOURCE_USER", value: MONITOR_LOGIN.name },
                                {
                                    name: "DATA_SOURCE_PASS",
                                    valueFrom: { secretKeyRef: { name: names.monitorSecret, key: EXPORTER.secretKey } },
                                },
                            ],
                            ports: [{ name: "metrics", containerPort: EXPORTER.port }],
                            resources: { requests: RESOURCES, limits: RESOURCES },
                            securityContext: RESTRICTED_CONTAINER,
                            volumeMounts: [{ name: "ca", mountPath: EXPORTER.caDir, readOnly: true }],
                        },
                    ],
                    volumes: [{ name: "ca", configMap: { name: names.exporterCa, defaultMode: 0o444 } }],
                },
            },
        },
    };
}

/** The Service the ServiceMonitor selects (port `metrics`, as Redis' exporters). */
export function exporterService<S>(server: Server, namespace: S) {
    const labels = exporterLabels(server);
    return {
        metadata: { name: postgresNames(server).exporter, namespace, labels },
        spec: {
            selector: labels,
            ports: [{ name: "metrics", port: EXPORTER.port, targetPort: "metrics" }],
        },
    };
}

/** Scrapes the exporter; labelled for the Prometheus that selects Redis' (`redis.monitoringLabels`). */
export function exporterServiceMonitor(config: ServerConfig, namespace: string) {
    return {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "ServiceMonitor",
        metadata: {
            name: postgresNames(config.postgres).exporter,
            namespace,
            labels: { ...config.redis.monitoringLabels, ...exporterLabels(config.postgres) },
        },
        spec: {
            selector: { matchLabels: exporterLabels(config.postgres) },
            endpoints: [{ port: "metrics", interval: "30s" }],
        },
    };
}

/** Only Prometheus' namespace reaches the exporter (its metrics name every database). */
export function exporterNetworkPolicy<S>(config: ServerConfig, namespace: S) {
    return {
        metadata: { name: postgresNames(config.postgres).exporter, namespace, labels: exporterLabels(config.postgres) },
        spec: {
            podSelector: { matchLabels: exporterLabels(config.postgres) },
            policyTypes: ["Ingress"],
            ingress: [
                {
                    from: [
                        {
                            namespaceSelector: {
                                matchLabels: { "kubernetes.io/metadata.name": config.redis.monitoringNamespace },
                            },
                        },
                    ],
                    ports: [{ protocol: "TCP", port: EXPORTER.port }],
                },
            ],
        },
    };
}

/**
 * Storage used (%) at which Azure Monitor alerts. Auto-grow doubles a Premium SSD when 20% is left below 1 TiB (10% or
 * 64 GiB above) and never across 4 TiB (learn.microsoft.com, postgresql scale/how-to-auto-grow-storage): above this the
 * disk is near full and growing did not or will not help.
 */
export const AZURE_STORAGE_ALERT_PERCENT = 90;

/**
 * Azure Monitor's metric alert on the server's `storage_percent` (Microsoft.DBforPostgreSQL/flexibleServers metrics:
 * Percent, Maximum, PT1M grain; MicrosoftDocs/azure-reference-other supported-metrics). postgres_exporter cannot see
 * the server's disk (no file access on Azure), so Azure Monitor is the one that can; it notifies the configured action
 * groups (`postgres.azure.storageAlertActionGroupIds`).
 */
export function azureStorageAlert<S>(config: ServerConfig, serverId: S) {
    return {
        resourceGroupName: config.azure.resourceGroupName,
        location: "global",
        tags: config.azure.tags,
        description: `PostgreSQL storage over ${AZURE_STORAGE_ALERT_PERCENT}% (runbook: README.md#postgresstoragefull)`,
        severity: 2,
        enabled: true,
        scopes: [serverId],
        evaluationFrequency: "PT5M",
        windowSize: "PT15M",
        autoMitigate: true,
        criteria: {
            odataType: "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria" as const,
            allOf: [
                {
                    criterionType: "StaticThresholdCriterion" as const,
                    name: "storage-percent",
                    metricNamespace: "Microsoft.DBforPostgreSQL/flexibleServers",
                    metricName: "storage_percent",
                    operator: "GreaterThan",
                    threshold: AZURE_STORAGE_ALERT_PERCENT,
                    timeAggregation: "Maximum",
                },
            ],
        },
        actions: config.postgres.azure.storageAlertActionGroupIds.map((actionGroupId) => ({ actionGroupId })),
    };
}
