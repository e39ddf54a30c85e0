/**
 * Specs of the External Secrets objects (ESO v2.9, `external-secrets.io/v1`), as pure functions.
 * No resource code here: tests render the very same objects and validate them against the upstream CRDs.
 */

/** The only ESO API version the program writes (v1beta1 is no longer served since ESO 0.17). */
export const ESO_API_VERSION = "external-secrets.io/v1";
export const ESO_CHART = "external-secrets";
export const ESO_CHART_REPO = "https://charts.external-secrets.io";
/** Name of the ClusterSecretStore for the platform's vault. */
export const STORE_NAME = "azure-key-vault";
/** Service account annotation naming the managed identity ESO exchanges the account's token for. */
export const WORKLOAD_IDENTITY_CLIENT_ID = "azure.workload.identity/client-id";
/** Pod label that makes the workload identity webhook project the token into the pod. */
export const WORKLOAD_IDENTITY_USE = "azure.workload.identity/use";

/** Labels on every object of the secret sync. */
export function platformLabels(component: string): Record<string, string> {
    return { "app.kubernetes.io/part-of": "data-platform", "app.kubernetes.io/component": component, "app.kubernetes.io/managed-by": "pulumi" };
}

export interface StoreSpecArgs<S> {
    /** Vault URI; may be an unresolved value (`S` is `string` in tests, `pulumi.Input<string>` in the program). */
    readonly vaultUri: S;
    readonly tenantId: S;
    /** The service account ESO requests a token for; a namespace is required for a ClusterSecretStore. */
    readonly serviceAccount: { readonly name: string; readonly namespace: string };
    /** The only namespaces whose ExternalSecrets may use the store. */
    readonly namespaces: readonly string[];
}

/**
 * Key Vault via workload identity. The client id comes from the service account's annotation, the tenant
 * from `tenantId` (ESO refuses a tenant given both here and as an annotation). The namespaces are listed by
 * name, not by label: anyone who may label a namespace could otherwise grant it access to every credential.
 */
export function clusterSecretStoreSpec<S>(args: StoreSpecArgs<S>) {
    return {
        provider: {
            azurekv: {
                authType: "WorkloadIdentity",
                vaultUrl: args.vaultUri,
                tenantId: args.tenantId,
                serviceAccountRef: { name: args.serviceAccount.name, namespace: args.serviceAccount.namespace },
            },
        },
        conditions: [{ namespaces: [...args.namespaces].sort() }],
    };
}

/** One key of the target Secret: a Key Vault secret, or one JSON property of it. */
export interface RemoteData {
    readonly secretKey: string;
    readonly remoteRef: { readonly key: string; readonly property?: string };
}

export interface ExternalSecretSpecArgs<S> {
    readonly storeName: S;
    /** Go duration, e.g. `15m`. */
    readonly refreshInterval: string;
    /** The Kubernetes Secret written (and owned) by the ExternalSecret. */
    readonly secretName: string;
    readonly data: readonly RemoteData[];
}

/**
 * An ExternalSecret that owns its Secret (`Owner`: the Secret is garbage-collected with it) and keeps the
 * last values if the vault secret disappears (`Retain`), so a vault mistake does not take applications down.
 * Only the listed keys are written: the Secret holds exactly `data[].secretKey`.
 */
export function externalSecretSpec<S>(args: ExternalSecretSpecArgs<S>) {
    return {
        refreshInterval: args.refreshInterval,
        secretStoreRef: { kind: "ClusterSecretStore", name: args.storeName },
        target: { name: args.secretName, creationPolicy: "Owner", deletionPolicy: "Retain" },
        data: args.data.map((d) => ({ secretKey: d.secretKey, remoteRef: { ...d.remoteRef } })),
    };
}
