/**
 * PostgreSQL in the cluster with StackGres: optionally the operator (Helm), then SGInstanceProfile,
 * SGPostgresConfig, SGPoolingConfig, optional SGObjectStorage backups and the SGCluster; then the login Job
 * (application logins and databases). System-role passwords come from a Secret synced from Key Vault.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { AppConfig } from "../config/platform";
import type { ServerConfig } from "../config/types";
import type { Env } from "../interfaces";
import { PostgresEndpoint } from "./env";
import { postgresCaCert } from "./contract";
import { postgresNames } from "./servers";
import { createLoginJob } from "./loginJob";
import { poolerPort } from "./pooler";
import { createRulesAndDashboard } from "./exporter";
import { PostgresArgs, PostgresService, contractEnv } from "./service";
import { appLogins, loginSqlOptions } from "./sql";
import {
    BACKUP_ACCOUNT_VAULT_SECRET,
    BACKUP_KEYS,
    CREDENTIAL_KEYS,
    STACKGRES_CHART,
    STACKGRES_CHART_REPO,
    STACKGRES_DIRECT_PORT,
    STACKGRES_SUPERUSER,
    stackGresCertificate,
    stackGresHost,
    stackGresManifests,
    stackGresNames,
    stackGresNetworkPolicySpec,
} from "./stackgresSpec";

/** Arguments of `StackGresPostgres`: the shared `PostgresArgs` (config.postgres.mode is "stackgres"). */
export type StackGresPostgresArgs = PostgresArgs;

/** Where an SGCluster listens: its primary Service in the platform namespace. */
export function stackGresEndpoint(config: ServerConfig): PostgresEndpoint {
    return {
        host: stackGresHost(config.postgres.stackgres.clusterName, config.cluster.platformNamespace),
        port: STACKGRES_DIRECT_PORT,
        poolerPort: poolerPort(config.postgres),
        sslMode: "require",
        caCert: postgresCaCert(config.postgres),
    };
}

export class StackGresPostgres extends pulumi.ComponentResource implements PostgresService {
    public readonly endpoint: pulumi.Output<PostgresEndpoint>;
    public readonly ready: pulumi.Resource[];
    private readonly args: StackGresPostgresArgs;

    constructor(name: string, args: StackGresPostgresArgs, opts?: pulumi.ComponentResourceOptions) {
        const { config, credentials, vault, secretSync, namespace } = args;
        const sg = config.postgres.stackgres;
        const ids = postgresNames(config.postgres).credentials;
        super(
            "data-platform:postgres:StackGresPostgres",
            name,
            { cluster: sg.clusterName, namespace: config.cluster.platformNamespace },
            opts,
        );
        this.args = args;
        const names = stackGresNames(sg.clusterName);

        const operator: pulumi.Resource[] = [];
        if (sg.installOperator) {
            const ns = new k8s.core.v1.Namespace(
                `${name}-operator-ns`,
                { metadata: { name: sg.operatorNamespace } },
                { parent: this },
            );
            operator.push(
                new k8s.helm.v3.Release(
                    `${name}-operator`,
                    {
                        name: "stackgres-operator",
                        chart: STACKGRES_CHART,
                        version: sg.operatorChartVersion,
                        repositoryOpts: { repo: STACKGRES_CHART_REPO },
                        namespace: ns.metadata.name,
                        // Wait for the CRDs and the admission webhooks: the custom resources below need both.
                        skipAwait: false,
                    },
                    { parent: this },
                ),
            );
        }

        const credentialsSecret = secretSync.syncSecret(
            `${name}-credentials`,
            {
                namespace,
                secretName: names.credentialsSecret,
                data: [
                    { secretKey: CREDENTIAL_KEYS.superuser, remoteKey: credentials.secretName(ids.admin) },
                    {
                        secretKey: CREDENTIAL_KEYS.replication,
                        remoteKey: credentials.secretName(ids.replication),
                    },
                    {
                        secretKey: CREDENTIAL_KEYS.authenticator,
                        remoteKey: credentials.secretName(ids.authenticator),
                    },
                ],
            },
            { parent: this },
        );

        const backupSecrets: pulumi.Resource[] = [];
        if (sg.backups) {
            const account = vault.writeSecret(
                `${name}-backup-account`,
                {
                    secretName: BACKUP_ACCOUNT_VAULT_SECRET,
                    value: sg.backups.storageAccount,
                    contentType: "text/plain",
                },
                { parent: this },
            );
            backupSecrets.push(
                secretSync.syncSecret(
                    `${name}-backup-storage`,
                    {
                        namespace,
                        secretName: names.backupSecret,
                        data: [
                            { secretKey: BACKUP_KEYS.storageAccount, remoteKey: BACKUP_ACCOUNT_VAULT_SECRET },
                            { secretKey: BACKUP_KEYS.accessKey, remoteKey: sg.backups.accessKeySecretName },
                        ],
                        dependsOn: [account],
                    },
                    { parent: this },
                ),
            );
        }

        // The SGCluster reads the Certificate's Secret: the certificate comes first.
        const certificate: pulumi.Resource[] = [];
        if (sg.tls) {
            const cert = stackGresCertificate(config);
            certificate.push(
                new k8s.apiextensions.CustomResource(
                    `${name}-cert`,
                    { ...cert, metadata: { ...cert.metadata, namespace } },
                    { parent: this },
                ),
            );
        }

        const created: pulumi.Resource[] = [];
        let cluster: k8s.apiextensions.CustomResource | undefined;
        for (const m of stackGresManifests(config)) {
            const isCluster = m.kind === "SGCluster";
            const resource = new k8s.apiextensions.CustomResource(
                `${name}-${m.kind.toLowerCase()}`,
                {
                    apiVersion: m.apiVersion,
                    kind: m.kind,
                    // The platform namespace as an Input, so these wait for it when it is created by the program.
                    metadata: { ...m.metadata, namespace },
                    spec: m.spec,
                },
                isCluster
                    ? {
                          parent: this,
                          protect: config.protect,
                          retainOnDelete: true,
                          dependsOn: [...operator, ...created, credentialsSecret, ...backupSecrets, ...certificate],
                      }
                    : { parent: this, dependsOn: operator },
            );
            created.push(resource);
            if (isCluster) {
                cluster = resource;
            }
        }
        if (!cluster) {
            throw new Error("stackGresManifests rendered no SGCluster");
        }

        if (sg.monitoring) {
            createRulesAndDashboard(this, name, config, namespace);
        }

        new k8s.networking.v1.NetworkPolicy(
            `${name}-ingress`,
            {
                metadata: { name: `${sg.clusterName}-ingress`, namespace },
                spec: stackGresNetworkPolicySpec(config),
            },
            { parent: this },
        );

        const host = stackGresHost(sg.clusterName, config.cluster.platformNamespace);
        const caCert = postgresCaCert(config.postgres);
        this.endpoint = pulumi.output(stackGresEndpoint(config));
        // Logins and databases: the same idempotent login Job as Azure, as the superuser, straight to PostgreSQL.
        const job = createLoginJob(this, name, {
            ...args,
            logins: appLogins(config.apps, config.keyVault.rotations),
            sqlOptions: loginSqlOptions(config),
            host: pulumi.output(host),
            port: STACKGRES_DIRECT_PORT,
            adminLogin: STACKGRES_SUPERUSER,
            caCert,
            after: [cluster],
        });
        this.ready = [job];
        this.registerOutputs({ cluster: sg.clusterName, host });
    }

    env(app: AppConfig): Env {
        return contractEnv(this.endpoint, this.args, app);
    }
}
