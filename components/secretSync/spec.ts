/**
 * Specs of the External Secrets objects (ESO v2.9, `external-secrets.io/v1`), as pure functions.
 * No resource code here: tests render the very same objects and validate them against the upstream CRDs.
 */
import * as crypto from "crypto";
import { PLATFORM_NAME, recommendedLabels } from "../labels";

/** The only ESO API version the program writes (v1beta1 is no longer served since ESO 0.17). */
export const ESO_API_VERSION = "external-secrets.io/v1";
export const ESO_CHART = "external-secrets";
export const ESO_CHART_REPO = "https://charts.external-secrets.io";
/** First ESO release (chart and app share the version) that serves `external-secrets.io/v1`. */
export const ESO_FIRST_V1_VERSION = "0.16.0";

/** Whether chart `version` (x.y.z) serves the API version the program writes. */
export function servesEsoV1(version: string): boolean {
    const [a, b] = [version, ESO_FIRST_V1_VERSION].map((v) => v.split(".").map(Number));
    const differing = a.findIndex((n, i) => n !== b[i]);
    return differing === -1 || a[differing] > b[differing];
}

/** Name of the ClusterSecretStore for the platform's vault. */
export const STORE_NAME = "azure-key-vault";
/** Service account annotation naming the managed identity ESO exchanges the account's token for. */
export const WORKLOAD_IDENTITY_CLIENT_ID = "azure.workload.identity/client-id";
/** Pod label that makes the workload identity webhook project the token into the pod. */
export const WORKLOAD_IDENTITY_USE = "azure.workload.identity/use";

/**
 * Annotation on an ExternalSecret with a digest of the Key Vault versions it should reflect. ESO reconciles an
 * ExternalSecret whenever its metadata changes, so a new version reaches the Secret without waiting for the refresh.
 */
export const SOURCE_VERSIONS_ANNOTATION = "data-platform.io/source-versions";

/** Digest of Key Vault secret versions (order-independent), short enough for an annotation. */
export function sourceVersionsDigest(versions: readonly string[]): string {
    return crypto
        .createHash("sha256")
        .update([...versions].sort().join("\n"))
        .digest("hex")
        .slice(0, 32);
}

/** Labels on every object of the secret sync. */
export function platformLabels(component: string, instance?: string): Record<string, string> {
    return recommendedLabels({ partOf: PLATFORM_NAME, component, managedBy: "pulumi", instance });
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

/** What `appSecretAccess` needs of an application. */
export interface AppSecretOwner {
    readonly name: string;
    readonly namespace: string;
    readonly secretName: string;
    readonly serviceAccounts: readonly string[];
}

/**
 * The Role (and its RoleBinding's subjects) that lets exactly the application's service accounts read its one
 * Secret through the API: `get`/`watch` on that name only (`list` cannot be limited by name, so it is not granted).
 */
export function appSecretAccess(app: AppSecretOwner) {
    return {
        name: `${app.secretName}-reader`,
        labels: platformLabels("app-secret-access", app.name),
        rules: [{ apiGroups: [""], resources: ["secrets"], resourceNames: [app.secretName], verbs: ["get", "watch"] }],
        subjects: app.serviceAccounts.map((sa) => ({ kind: "ServiceAccount", name: sa, namespace: app.namespace })),
    };
}
