/**
 * Azure mode's PostgreSQL monitoring in the cluster: postgres_exporter (official image, pinned) scraping the Flexible
 * Server as the login Job's monitoring login, over TLS verify-full; its Service, ServiceMonitor and NetworkPolicy; the
 * PostgreSQL alerts and dashboard shared with StackGres. Azure Monitor's storage alert is the server's (azure.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { PlatformConfig } from "../config/types";
import type { CredentialSource, SecretSyncer } from "../interfaces";
import { dashboardConfigMap } from "../dashboards";
import { PG_ADMIN_CREDENTIAL, PG_MONITOR_CREDENTIAL } from "./credentials";
import {
    EXPORTER,
    exporterCaData,
    exporterDataSourceUri,
    exporterDeployment,
    exporterLabels,
    exporterNetworkPolicy,
    exporterService,
    exporterServiceAccount,
    exporterServiceMonitor,
    passwordDigestValue,
} from "./exporterSpec";
import { postgresDashboard, postgresPrometheusRule } from "./monitoring";

/**
 * The PostgreSQL alerts (in the platform namespace) and dashboard (in Grafana's, the one Redis' monitoring names:
 * `redis.monitoringNamespace`), as children `${name}-alerts` and `${name}-dashboard` of `parent`: both modes.
 */
export function createRulesAndDashboard(
    parent: pulumi.Resource,
    name: string,
    config: PlatformConfig,
    namespace: pulumi.Input<string>,
): void {
    const platformNamespace = config.cluster.platformNamespace;
    const rule = postgresPrometheusRule(config, platformNamespace);
    new k8s.apiextensions.CustomResource(
        `${name}-alerts`,
        { ...rule, metadata: { ...rule.metadata, namespace } },
        { parent },
    );
    new k8s.core.v1.ConfigMap(
        `${name}-dashboard`,
        dashboardConfigMap("postgres", config.redis.monitoringNamespace, postgresDashboard(config, platformNamespace)),
        { parent },
    );
}

export interface PostgresExporterArgs {
    /** The stack's configuration (`postgres.azure`, `redis.monitoring*`, `cluster.platformNamespace` are read). */
    readonly config: PlatformConfig;
    /** The monitoring login's password (`pg-monitor`), and the admin's that keys its digest. */
    readonly credentials: CredentialSource;
    /** Syncs the monitoring password from Key Vault into the platform namespace. */
    readonly secretSync: SecretSyncer;
    /** The platform namespace (must exist). */
    readonly namespace: pulumi.Input<string>;
    /** The server's host name (its certificate's). */
    readonly host: pulumi.Output<string>;
    /** What sets the monitoring login (the login Job): the exporter starts, or restarts on a rotation, after it. */
    readonly after: pulumi.Input<pulumi.Resource>[];
}

export class PostgresExporter extends pulumi.ComponentResource {
    constructor(name: string, args: PostgresExporterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("data-platform:postgres:PostgresExporter", name, {}, opts);
        const { config, credentials, namespace } = args;
        const platformNamespace = config.cluster.platformNamespace;

        const synced = args.secretSync.syncSecret(
            `${name}-secret`,
            {
                namespace,
                secretName: EXPORTER.secret,
                data: [{ secretKey: EXPORTER.secretKey, remoteKey: credentials.secretName(PG_MONITOR_CREDENTIAL) }],
            },
            { parent: this },
        );
        const ca = new k8s.core.v1.ConfigMap(
            `${name}-ca`,
            { metadata: { name: EXPORTER.caConfigMap, namespace, labels: exporterLabels() }, data: exporterCaData() },
            { parent: this },
        );
        const account = new k8s.core.v1.ServiceAccount(`${name}-sa`, exporterServiceAccount(namespace), {
            parent: this,
        });
        // A hash of a keyed digest (as the login Job's name): reveals nothing, so it stays readable in plans.
        const passwordDigest = pulumi.unsecret(
            pulumi
                .all([credentials.password(PG_ADMIN_CREDENTIAL), credentials.password(PG_MONITOR_CREDENTIAL)])
                .apply(([admin, monitor]) => passwordDigestValue(admin, monitor)),
        );
        new k8s.apps.v1.Deployment(
            name,
            exporterDeployment<pulumi.Input<string>>(config, {
                namespace,
                dataSourceUri: args.host.apply(exporterDataSourceUri),
                passwordDigest,
            }),
            { parent: this, dependsOn: [...args.after, synced, ca, account] },
        );
        new k8s.core.v1.Service(`${name}-service`, exporterService(namespace), { parent: this });
        const monitor = exporterServiceMonitor(config, platformNamespace);
        new k8s.apiextensions.CustomResource(
            `${name}-monitor`,
            { ...monitor, metadata: { ...monitor.metadata, namespace } },
            { parent: this },
        );
        new k8s.networking.v1.NetworkPolicy(`${name}-ingress`, exporterNetworkPolicy(config, namespace), {
            parent: this,
        });
        createRulesAndDashboard(this, name, config, namespace);
        this.registerOutputs({});
    }
}
