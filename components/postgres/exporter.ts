/**
 * Azure mode's PostgreSQL monitoring in the cluster: postgres_exporter (official image, pinned) scraping the Flexible
 * Server as the login Job's monitoring login, over TLS verify-full; its Service, ServiceMonitor and NetworkPolicy; the
 * PostgreSQL alerts and dashboard shared with StackGres. Azure Monitor's storage alert is the server's (azure.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { ServerConfig } from "../config/types";
import type { CredentialSource, SecretSyncer } from "../interfaces";
import { dashboardConfigMap } from "../dashboards";
import { postgresNames } from "./servers";
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
    config: ServerConfig,
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
        dashboardConfigMap(
            postgresNames(config.postgres).prefix,
            config.redis.monitoringNamespace,
            postgresDashboard(config, platformNamespace),
        ),
        { parent },
    );
}

export interface PostgresExporterArgs {
    /** The stack's configuration (`postgres.azure`, `redis.monitoring*`, `cluster.platformNamespace` are read). */
    readonly config: ServerConfig;
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
        const names = postgresNames(config.postgres);

        const synced = args.secretSync.syncSecret(
            `${name}-secret`,
            {
                namespace,
                secretName: names.monitorSecret,
                data: [{ secretKey: EXPORTER.secretKey, remoteKey: credentials.secretName(names.credentials.monitor) }],
            },
            { parent: this },
        );
        const ca = new k8s.core.v1.ConfigMap(
            `${name}-ca`,
            {
                metadata: { name: names.exporterCa, namespace, labels: exporterLabels(config.postgres) },
                data: exporterCaData(),
            },
            { parent: this },
        );
        const account = new k8s.core.v1.ServiceAccount(
            `${name}-sa`,
            exporterServiceAccount(config.postgres, namespace),
            {
                parent: this,
            },
        );
        // A hash of a keyed digest (as the login Job's name): reveals nothing, so it stays readable in plans.
        const passwordDigest = pulumi.unsecret(
            pulumi
                .all([credentials.password(names.credentials.admin), credentials.password(names.credentials.monitor)])
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
        new k8s.core.v1.Service(`${name}-service`, exporterService(config.postgres, namespace), { parent: this });
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
