/**
 * External Secrets Operator and the one ClusterSecretStore that reads the platform's Key Vault.
 *
 * Every Secret the platform puts into a namespace (the applications' contract Secrets and the
 * platform's own credentials) is an ExternalSecret against this store, so Key Vault stays the single
 * source of truth and a rotation in the vault reaches every namespace within `refreshInterval`.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { ExternalSecretsConfig } from "../config/platform";
import type { SecretSyncer, SyncedSecretArgs } from "../interfaces";
import {
    ESO_API_VERSION,
    ESO_CHART,
    ESO_CHART_REPO,
    ESO_FIRST_V1_VERSION,
    SOURCE_VERSIONS_ANNOTATION,
    STORE_NAME,
    WORKLOAD_IDENTITY_CLIENT_ID,
    WORKLOAD_IDENTITY_USE,
    clusterSecretStoreSpec,
    externalSecretSpec,
    platformLabels,
    servesEsoV1,
    sourceVersionsDigest,
} from "./spec";

export interface SecretSyncArgs {
    /** Operator settings (install, chart version, namespace, service account, refresh interval). */
    readonly externalSecrets: ExternalSecretsConfig;
    /** `https://<vault>.vault.azure.net/`, the vault every ExternalSecret reads from. */
    readonly vaultUri: pulumi.Input<string>;
    /** Client id of the managed identity federated with the operator's service account. */
    readonly identityClientId: pulumi.Input<string>;
    /** Entra tenant of that identity. */
    readonly tenantId: pulumi.Input<string>;
    /** The only namespaces allowed to use the store (application namespaces and the platform namespace). */
    readonly namespaces: readonly string[];
    /**
     * What the store needs before it can authenticate (federated credential, vault role assignment).
     * Default: nothing.
     */
    readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** External Secrets Operator (optionally installed here) plus the `ClusterSecretStore` for the vault. */
export class SecretSync extends pulumi.ComponentResource implements SecretSyncer {
    /** Name of the ClusterSecretStore, resolved once the store exists (so users of it wait for it). */
    public readonly storeName: pulumi.Output<string>;
    private readonly refreshInterval: string;

    constructor(name: string, args: SecretSyncArgs, opts?: pulumi.ComponentResourceOptions) {
        const eso = args.externalSecrets;
        if (eso.install && !servesEsoV1(eso.chartVersion)) {
            throw new pulumi.RunError(
                `External Secrets chart ${eso.chartVersion} does not serve ${ESO_API_VERSION}; use ${ESO_FIRST_V1_VERSION} or later`,
            );
        }
        super(
            "data-platform:secrets:SecretSync",
            name,
            {
                install: eso.install,
                chartVersion: eso.chartVersion,
                namespace: eso.namespace,
                namespaces: args.namespaces,
            },
            opts,
        );
        this.refreshInterval = eso.refreshInterval;

        const saMetadata = {
            name: eso.serviceAccountName,
            namespace: eso.namespace,
            annotations: { [WORKLOAD_IDENTITY_CLIENT_ID]: args.identityClientId },
        };
        let operatorReady: pulumi.Resource;
        if (eso.install) {
            const ns = new k8s.core.v1.Namespace(
                `${name}-ns`,
                {
                    metadata: { name: eso.namespace, labels: platformLabels("external-secrets") },
                },
                { parent: this },
            );
            operatorReady = new k8s.helm.v3.Release(
                `${name}-operator`,
                {
                    name: "external-secrets",
                    chart: ESO_CHART,
                    version: eso.chartVersion,
                    repositoryOpts: { repo: ESO_CHART_REPO },
                    namespace: ns.metadata.name,
                    // Wait until the CRDs, the webhook and the controller are ready, so custom resources can be applied.
                    skipAwait: false,
                    values: {
                        installCRDs: true,
                        // Uninstalling the chart must not delete the CRDs: that would cascade to every ExternalSecret
                        // and, through their ownerReferences, to every synced Secret the applications run on.
                        crds: { annotations: { "helm.sh/resource-policy": "keep" } },
                        serviceAccount: { create: true, name: saMetadata.name, annotations: saMetadata.annotations },
                        podLabels: { [WORKLOAD_IDENTITY_USE]: "true" },
                    },
                },
                { parent: this },
            );
        } else {
            // The operator is managed elsewhere: only annotate its service account (server-side, fields we own).
            operatorReady = new k8s.core.v1.ServiceAccountPatch(
                `${name}-sa`,
                { metadata: saMetadata },
                { parent: this },
            );
        }

        const store = new k8s.apiextensions.CustomResource(
            `${name}-store`,
            {
                apiVersion: ESO_API_VERSION,
                kind: "ClusterSecretStore",
                metadata: { name: STORE_NAME, labels: platformLabels("secret-store") },
                spec: clusterSecretStoreSpec({
                    vaultUri: args.vaultUri,
                    tenantId: args.tenantId,
                    serviceAccount: { name: eso.serviceAccountName, namespace: eso.namespace },
                    namespaces: args.namespaces,
                }),
            },
            { parent: this, dependsOn: [operatorReady, ...(args.dependsOn ?? [])] },
        );
        this.storeName = store.metadata.name;

        this.registerOutputs({ storeName: this.storeName });
    }

    /**
     * An ExternalSecret (named like its Secret) copying each `data` key from its Key Vault secret.
     * It references the store through the store's output, so it is created after the store.
     */
    syncSecret(
        name: string,
        args: SyncedSecretArgs,
        opts: pulumi.CustomResourceOptions,
    ): k8s.apiextensions.CustomResource {
        return new k8s.apiextensions.CustomResource(
            name,
            {
                apiVersion: ESO_API_VERSION,
                kind: "ExternalSecret",
                metadata: {
                    name: args.secretName,
                    namespace: args.namespace,
                    labels: platformLabels("secret-sync"),
                    // Version URIs name no secret value; unsecret so the digest does not make the whole object secret.
                    annotations:
                        args.sourceVersions === undefined
                            ? undefined
                            : {
                                  [SOURCE_VERSIONS_ANNOTATION]: pulumi.unsecret(
                                      pulumi.all(args.sourceVersions).apply(sourceVersionsDigest),
                                  ),
                              },
                },
                spec: externalSecretSpec({
                    storeName: this.storeName,
                    refreshInterval: this.refreshInterval,
                    secretName: args.secretName,
                    data: args.data.map((d) => ({
                        secretKey: d.secretKey,
                        remoteRef:
                            d.property === undefined
                                ? { key: d.remoteKey }
                                : { key: d.remoteKey, property: d.property },
                    })),
                }),
            },
            {
                ...opts,
                // The SDK flattens nested dependsOn values (lists, outputs, promises) when it gathers dependencies.
                dependsOn:
                    opts.dependsOn === undefined
                        ? args.dependsOn
                        : [opts.dependsOn as pulumi.Input<pulumi.Resource>, ...(args.dependsOn ?? [])],
            },
        );
    }
}
