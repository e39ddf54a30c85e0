/**
 * External Secrets Operator and its stores: the platform's ClusterSecretStore (the platform namespace only) and one
 * namespaced SecretStore per application namespace, each reading the vault as its own identity, which is allowed to
 * read exactly the secrets that store's ExternalSecrets read.
 *
 * Every Secret the platform puts into a namespace is an ExternalSecret, so Key Vault stays the single source of
 * truth; each carries the versions of the vault secrets it reads, so a new version reaches it at once.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { ExternalSecretsConfig } from "../config/platform";
import type {
    SecretReader,
    SecretStoreRef,
    SecretSyncer,
    StoredSecret,
    SyncedSecretArgs,
    VaultWriter,
} from "../interfaces";
import {
    APP_STORE_SERVICE_ACCOUNT,
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
    keyVaultVersion,
    platformLabels,
    platformStoreAccount,
    platformStoreName,
    secretStoreSpec,
    servesEsoV1,
    sourceVersionsDigest,
} from "./spec";

export interface SecretSyncArgs {
    /** Operator settings (install, chart version, namespace, service account, refresh interval). */
    readonly externalSecrets: ExternalSecretsConfig;
    /** The vault every ExternalSecret reads from: its URI, and where each secret is stored. */
    readonly vault: Pick<VaultWriter, "vaultUri" | "storedSecret">;
    /**
     * The platform store's identity (federated with the operator's service account); unset in a tenant stack, whose
     * operator and platform store are its platform stack's: it builds only namespace stores.
     */
    readonly identity?: { readonly clientId: pulumi.Input<string>; readonly reader: SecretReader };
    /** Entra tenant of the identities. */
    readonly tenantId: pulumi.Input<string>;
    /** The platform namespace: the only one allowed to use the platform's store. */
    readonly platformNamespace: string;
    /**
     * The platform namespace's object: with `externalSecrets.storePerStack` the store's own service account is
     * created in it, once it exists. Unused otherwise.
     */
    readonly platformNamespaceReady?: pulumi.Resource;
    /** What the platform store needs before it can authenticate (its federated credential). Default: nothing. */
    readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** What `namespaceStore` needs: the namespace and the identity federated with its store's service account. */
export interface NamespaceStoreArgs {
    /** The namespace (an output of its namespace resource, so the store waits for it). */
    readonly namespace: pulumi.Input<string>;
    readonly identity: { readonly clientId: pulumi.Input<string>; readonly reader: SecretReader };
    /** What the store needs before it can authenticate (the identity's federated credential). Default: nothing. */
    readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** External Secrets Operator (optionally installed here) plus the stores for the vault. */
export class SecretSync extends pulumi.ComponentResource implements SecretSyncer {
    /** Name of the platform's ClusterSecretStore, resolved once the store exists (so users of it wait for it). */
    public readonly storeName?: pulumi.Output<string>;
    private readonly refreshInterval: string;
    private readonly platformStore?: SecretStoreRef;
    private readonly vault: SecretSyncArgs["vault"];
    private readonly tenantId: pulumi.Input<string>;
    /** The chart (CRDs, webhook) or the annotated operator account, when this stack manages either: every store waits. */
    private readonly operatorReady: pulumi.Resource[];

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
                platformNamespace: args.platformNamespace,
                ...(eso.storePerStack ? { storePerStack: true } : {}),
            },
            opts,
        );
        this.refreshInterval = eso.refreshInterval;
        this.vault = args.vault;
        this.tenantId = args.tenantId;
        if (args.identity === undefined) {
            this.operatorReady = [];
            this.registerOutputs({});
            return;
        }

        const saMetadata = {
            name: eso.serviceAccountName,
            namespace: eso.namespace,
            annotations: { [WORKLOAD_IDENTITY_CLIENT_ID]: args.identity.clientId },
        };
        const storeConfig = { platformNamespace: args.platformNamespace, externalSecrets: eso };
        let operatorReady: pulumi.Resource[] = [];
        if (eso.install) {
            const ns = new k8s.core.v1.Namespace(
                `${name}-ns`,
                {
                    metadata: { name: eso.namespace, labels: platformLabels("external-secrets") },
                },
                { parent: this },
            );
            const release = new k8s.helm.v3.Release(
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
                        // The chart adds create/patch on ExternalSecrets and stores to the built-in `edit` and `admin`
                        // roles by default: anyone with `edit` in a namespace could then sync what its store reads.
                        // Only this program writes ESO objects (chart 2.9.0 values.yaml `rbac.aggregateTo*`).
                        rbac: { aggregateToEdit: false, aggregateToAdmin: false },
                    },
                },
                { parent: this },
            );
            operatorReady = [release];
        } else if (!eso.storePerStack) {
            // The operator is managed elsewhere: only annotate its service account (server-side, fields we own). A
            // stack with its own store leaves that account to the stack whose store reads as it.
            operatorReady = [
                new k8s.core.v1.ServiceAccountPatch(`${name}-sa`, { metadata: saMetadata }, { parent: this }),
            ];
        }
        this.operatorReady = operatorReady;
        const storeAccount = eso.storePerStack
            ? [
                  this.storeAccount(`${name}-store`, args.platformNamespace, args.identity.clientId, [
                      ...(args.platformNamespaceReady ? [args.platformNamespaceReady] : []),
                  ]),
              ]
            : [];

        const store = new k8s.apiextensions.CustomResource(
            `${name}-store`,
            {
                apiVersion: ESO_API_VERSION,
                kind: "ClusterSecretStore",
                metadata: { name: platformStoreName(storeConfig), labels: platformLabels("secret-store") },
                spec: clusterSecretStoreSpec({
                    vaultUri: args.vault.vaultUri,
                    tenantId: args.tenantId,
                    serviceAccount: platformStoreAccount(storeConfig),
                    namespaces: [args.platformNamespace],
                }),
            },
            { parent: this, dependsOn: [...operatorReady, ...storeAccount, ...(args.dependsOn ?? [])] },
        );
        this.storeName = store.metadata.name;
        this.platformStore = {
            kind: "ClusterSecretStore",
            name: this.storeName,
            reader: args.identity.reader,
            keepSecrets: true,
        };

        this.registerOutputs({ storeName: this.storeName });
    }

    /**
     * A namespace's own SecretStore, with the service account its tokens are requested for (annotated with the
     * identity's client id). Only ExternalSecrets of that namespace can use it, and its identity reads only what they
     * read.
     */
    namespaceStore(name: string, args: NamespaceStoreArgs): SecretStoreRef {
        const account = this.storeAccount(name, args.namespace, args.identity.clientId, []);
        const store = new k8s.apiextensions.CustomResource(
            `${name}-store`,
            {
                apiVersion: ESO_API_VERSION,
                kind: "SecretStore",
                metadata: { name: STORE_NAME, namespace: args.namespace, labels: platformLabels("secret-store") },
                spec: secretStoreSpec({
                    vaultUri: this.vault.vaultUri,
                    tenantId: this.tenantId,
                    serviceAccountName: account.metadata.name,
                }),
            },
            { parent: this, dependsOn: [...this.operatorReady, ...(args.dependsOn ?? [])] },
        );
        return { kind: "SecretStore", name: store.metadata.name, reader: args.identity.reader, keepSecrets: false };
    }

    /** A store's own service account in `namespace`, annotated with the identity its tokens are exchanged for. */
    private storeAccount(
        name: string,
        namespace: pulumi.Input<string>,
        clientId: pulumi.Input<string>,
        dependsOn: pulumi.Resource[],
    ): k8s.core.v1.ServiceAccount {
        return new k8s.core.v1.ServiceAccount(
            `${name}-sa`,
            {
                metadata: {
                    name: APP_STORE_SERVICE_ACCOUNT,
                    namespace,
                    labels: platformLabels("secret-store"),
                    annotations: { [WORKLOAD_IDENTITY_CLIENT_ID]: clientId },
                },
                // No pod needs this account's API token: ESO requests its tokens through the TokenRequest API.
                automountServiceAccountToken: false,
            },
            { parent: this, dependsOn },
        );
    }

    /**
     * An ExternalSecret (named like its Secret) copying each `data` key from its Key Vault secret, through `args.store`
     * (default: the platform's). The store's identity is allowed to read each of those secrets; the ExternalSecret
     * waits for the secrets and those grants, and carries the secrets' versions in an annotation: ESO reconciles an
     * ExternalSecret whose metadata changed at once, so a new version does not wait for the refresh interval.
     */
    syncSecret(
        name: string,
        args: SyncedSecretArgs,
        opts: pulumi.CustomResourceOptions,
    ): k8s.apiextensions.CustomResource {
        const store = args.store ?? this.platformStore;
        if (store === undefined) {
            throw new Error(`${name}: a tenant stack has no platform store; name the namespace's own`);
        }
        const sources = new Map(args.data.map((d) => [d.remoteKey, this.vault.storedSecret(d.remoteKey)]));
        const written = [...sources.values()].flatMap((s) => (s.resource ? [s.resource] : []));
        const grants = [...sources.values()].map((s) => store.reader.grantRead(s));
        const versions = written.map((s) => s.properties.secretUriWithVersion);
        const pinned = (remoteKey: string) => {
            const stored = sources.get(remoteKey) as StoredSecret;
            if (!stored.resource) {
                throw new Error(`${name}: cannot pin Key Vault secret ${remoteKey}: this program does not write it`);
            }
            // A version id names no secret value.
            return { version: pulumi.unsecret(stored.resource.properties.secretUriWithVersion.apply(keyVaultVersion)) };
        };
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
                        versions.length === 0
                            ? undefined
                            : {
                                  [SOURCE_VERSIONS_ANNOTATION]: pulumi.unsecret(
                                      pulumi.all(versions).apply(sourceVersionsDigest),
                                  ),
                              },
                },
                spec: externalSecretSpec({
                    store: { kind: store.kind, name: store.name },
                    refreshInterval: this.refreshInterval,
                    secretName: args.secretName,
                    creationPolicy: args.adopt ? "Merge" : store.keepSecrets ? "Orphan" : "Owner",
                    template: args.template,
                    data: args.data.map((d) => ({
                        secretKey: d.secretKey,
                        remoteRef: {
                            key: (sources.get(d.remoteKey) as StoredSecret).vaultName,
                            ...(d.property === undefined ? {} : { property: d.property }),
                            ...(args.pinVersions ? pinned(d.remoteKey) : {}),
                        },
                    })),
                }),
            },
            {
                ...opts,
                // The SDK flattens nested dependsOn values (lists, outputs, promises) when it gathers dependencies.
                dependsOn: [
                    ...(opts.dependsOn === undefined ? [] : [opts.dependsOn as pulumi.Input<pulumi.Resource>]),
                    ...(args.dependsOn ?? []),
                    ...written,
                    ...grants,
                ],
            },
        );
    }
}
