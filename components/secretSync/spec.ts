/**
 * Specs of the External Secrets objects (ESO v2.9, `external-secrets.io/v1`), as pure functions.
 * No resource code here: tests render the very same objects and validate them against the upstream CRDs.
 */
import * as crypto from "crypto";
import type { EnvTemplatePart } from "../envContract";
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

/** Name of the platform's ClusterSecretStore and of each application namespace's SecretStore. */
export const STORE_NAME = "azure-key-vault";
/**
 * The service account whose tokens a store exchanges for its identity: each application namespace's, and the platform
 * namespace's when the stack has its own platform store (`externalSecrets.storePerStack`).
 */
export const APP_STORE_SERVICE_ACCOUNT = "data-platform-secret-store";

/** What decides the platform store's name and account: the platform namespace and the External Secrets settings. */
export interface PlatformStoreConfig {
    readonly platformNamespace: string;
    readonly externalSecrets: {
        readonly storePerStack: boolean;
        readonly namespace: string;
        readonly serviceAccountName: string;
    };
}

/**
 * The platform's ClusterSecretStore: `azure-key-vault`, as every stack has had it, or, for a stack with its own store,
 * named after its platform namespace (one per stack on a cluster: two stacks never share a platform namespace).
 */
export function platformStoreName(cluster: PlatformStoreConfig): string {
    return cluster.externalSecrets.storePerStack ? `${STORE_NAME}-${cluster.platformNamespace}` : STORE_NAME;
}

/** The service account the platform store reads as (the platform identity is federated with it). */
export function platformStoreAccount(cluster: PlatformStoreConfig): { namespace: string; name: string } {
    const eso = cluster.externalSecrets;
    return eso.storePerStack
        ? { namespace: cluster.platformNamespace, name: APP_STORE_SERVICE_ACCOUNT }
        : { namespace: eso.namespace, name: eso.serviceAccountName };
}
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

/**
 * The version id a Key Vault version URI ends with (`https://<vault>/secrets/<name>/<version>`): what
 * `remoteRef.version` names, and ESO's Azure provider passes to Key Vault's GetSecret (external-secrets v2.9.0
 * `providers/v1/azure/keyvault/keyvault.go`).
 */
export function keyVaultVersion(secretUriWithVersion: string): string {
    return secretUriWithVersion.slice(secretUriWithVersion.lastIndexOf("/") + 1);
}

/** Labels on every object of the secret sync. */
export function platformLabels(component: string, instance?: string): Record<string, string> {
    return recommendedLabels({ partOf: PLATFORM_NAME, component, managedBy: "pulumi", instance });
}

export interface StoreSpecArgs<S> {
    /** Vault URI; may be an unresolved value (`S` is `string` in tests, `pulumi.Input<string>` in the program). */
    readonly vaultUri: S;
    readonly tenantId: S;
}

/**
 * Key Vault via workload identity, with ESO requesting the token for `serviceAccountRef` itself. The client id
 * comes from the service account's annotation, the tenant from `tenantId` (ESO refuses a tenant given both here and
 * as an annotation).
 */
function azureKeyVault<S>(args: StoreSpecArgs<S>, serviceAccountRef: { name: S | string; namespace?: string }) {
    return {
        azurekv: { authType: "WorkloadIdentity", vaultUrl: args.vaultUri, tenantId: args.tenantId, serviceAccountRef },
    };
}

/**
 * The platform's store: a ClusterSecretStore usable in the listed namespaces only (by name, not by label: anyone who
 * may label a namespace could otherwise grant it access), reading as the operator's own service account (a cluster
 * store needs `serviceAccountRef.namespace`, or it looks the account up in each ExternalSecret's namespace).
 */
export function clusterSecretStoreSpec<S>(
    args: StoreSpecArgs<S> & {
        readonly serviceAccount: { readonly name: string; readonly namespace: string };
        readonly namespaces: readonly string[];
    },
) {
    return {
        provider: azureKeyVault(args, { name: args.serviceAccount.name, namespace: args.serviceAccount.namespace }),
        conditions: [{ namespaces: [...args.namespaces].sort() }],
    };
}

/**
 * An application namespace's store: a namespaced SecretStore usable only there, reading as a service account of that
 * namespace. ESO looks a namespaced store's account up in the store's own namespace and refuses any other
 * (external-secrets v2.9.0 `runtime/esutils/utils.go` `ValidateReferentServiceAccountSelector`,
 * `providers/v1/azure/keyvault/keyvault.go` `authorizerForWorkloadIdentity`), so the store gets exactly the identity
 * federated with that account.
 */
export function secretStoreSpec<S>(args: StoreSpecArgs<S> & { readonly serviceAccountName: S }) {
    return { provider: azureKeyVault(args, { name: args.serviceAccountName }) };
}

/** One key of the target Secret: a Key Vault secret (its newest version, or `version`), or one JSON property of it. */
export interface RemoteData<S> {
    readonly secretKey: string;
    readonly remoteRef: { readonly key: string; readonly property?: string; readonly version?: S };
}

/**
 * How ESO writes the target Secret (external-secrets v2.9.0 `docs/guides/ownership-deletion-policy.md`,
 * `externalsecret_controller.go` and `externalsecret_controller_template.go` `ApplyTemplate`): `Owner` creates it with
 * an ownerReference (garbage-collected with the ExternalSecret) and takes over an existing Secret that has none,
 * clearing its data to the rendered keys; `Orphan` the same without the ownerReference; `Merge` never creates it (the
 * ExternalSecret waits, `SecretMissing`, until it exists) and writes its keys into it, keeping the others.
 */
export type CreationPolicy = "Owner" | "Orphan" | "Merge";

export interface ExternalSecretSpecArgs<S> {
    readonly store: { readonly kind: "SecretStore" | "ClusterSecretStore"; readonly name: S };
    /** Go duration, e.g. `15m`. */
    readonly refreshInterval: string;
    /** The Kubernetes Secret written by the ExternalSecret. */
    readonly secretName: string;
    readonly creationPolicy: CreationPolicy;
    readonly data: readonly RemoteData<S>[];
    /** Further keys of the Secret, each an ESO template over the `data` keys (`esoTemplateText`). Default: none. */
    readonly template?: Readonly<Record<string, string>>;
}

/**
 * An ExternalSecret that keeps the last values if the vault secret disappears (`deletionPolicy: Retain`, allowed with
 * every creation policy; `Delete` is refused with `Merge`), so a vault mistake does not take applications down. With
 * `Orphan` ESO still creates and updates the Secret, but sets no ownerReference (external-secrets v2.9.0
 * `pkg/controllers/externalsecret/externalsecret_controller.go`), so deleting or replacing the ExternalSecret leaves
 * the Secret to the servers that read it; ESO then also treats the Secret as valid between refreshes, so a Secret
 * deleted by hand comes back at the next refresh, not at once.
 * The Secret holds exactly `data[].secretKey` and the template's keys (`mergePolicy: Merge` keeps the `data` keys
 * beside the templated ones; `Replace`, the default, would keep the templated ones only), and with `Merge` its own.
 */
export function externalSecretSpec<S>(args: ExternalSecretSpecArgs<S>) {
    const template =
        args.template === undefined || Object.keys(args.template).length === 0
            ? {}
            : { template: { engineVersion: "v2", mergePolicy: "Merge", data: { ...args.template } } };
    return {
        refreshInterval: args.refreshInterval,
        secretStoreRef: { kind: args.store.kind, name: args.store.name },
        target: { name: args.secretName, creationPolicy: args.creationPolicy, deletionPolicy: "Retain", ...template },
        data: args.data.map((d) => ({ secretKey: d.secretKey, remoteRef: { ...d.remoteRef } })),
    };
}

/**
 * An `apps[].env` value as ESO's template engine v2 reads it: Go `text/template` executed over the Secret's `data` keys
 * with `missingkey=error` (external-secrets v2.9.0 `runtime/template/v2/template.go` `execute`), so `{{ .KEY }}` is a
 * key's value and a missing key fails the sync instead of writing an empty value. Text goes as it is: it holds no `{`
 * or `}` (`parseEnvTemplate`), so nothing in it can open an action and it needs no escape (`docs/guides/templating.md`
 * escapes with a quoted string action, `{{ `...` }}`, what must not be read as one). A key that is a Go identifier
 * is read as `.KEY`, any other as `index . "KEY"` (the guide's form for names with dashes). Assumes ESO's default
 * delimiters (`--template-left-delimiter`).
 */
export function esoTemplateText(parts: readonly EnvTemplatePart[]): string {
    const read = (key: string) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `.${key}` : `index . ${JSON.stringify(key)}`);
    return parts.map((p) => ("key" in p ? `{{ ${read(p.key)} }}` : p.text)).join("");
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
