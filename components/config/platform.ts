/** Stack-wide configuration: profile, Azure placement, cluster access and the applications. */
import { APP_NAME, DNS_LABEL, DURATION, PG_IDENTIFIER, RESOURCE_GROUP } from "./names";
import { bool, int, list, object, oneOf, record, str, Profile, FROM_FIELDS } from "./schema";

export interface AzureConfig {
    /** Resource group that holds the vault, the identity and the managed database. */
    readonly resourceGroupName: string;
    /** Azure region of those resources. */
    readonly location: string;
    /** Tags put on every Azure resource. */
    readonly tags: Record<string, string>;
}

export const azureSchema = object<AzureConfig>({
    resourceGroupName: {
        schema: str({ pattern: RESOURCE_GROUP, minLength: 1, maxLength: 90 }),
        doc: "Resource group of the vault, identity and managed database (must exist).",
    },
    location: {
        schema: str({ pattern: /^[a-z0-9]+$/, allowed: "an Azure region name such as westeurope" }),
        doc: "Azure region.",
    },
    tags: {
        schema: record(str({ minLength: 1, maxLength: 512 }), str({ maxLength: 256 })),
        default: {},
        doc: "Tags on every Azure resource.",
    },
});

export interface AksLookup {
    readonly name: string;
    readonly resourceGroupName: string;
}

export interface ExternalSecretsConfig {
    /** Install External Secrets Operator from its Helm chart. */
    readonly install: boolean;
    /** Helm chart version (pinned). */
    readonly chartVersion: string;
    /** Namespace of the operator. */
    readonly namespace: string;
    /** Service account the operator (and the ClusterSecretStore) authenticates as. */
    readonly serviceAccountName: string;
    /** How often every ExternalSecret re-reads Key Vault. */
    readonly refreshInterval: string;
}

export interface ClusterConfig {
    /** Look the AKS cluster up by name; yields kubeconfig and OIDC issuer. Unset: use `data-platform:kubeconfig`. */
    readonly aks?: AksLookup;
    /** OIDC issuer URL of the cluster; required when a kubeconfig is given instead of `aks`. */
    readonly oidcIssuerUrl?: string;
    /** Namespace of the platform's own workloads (Redis, login jobs, StackGres cluster). */
    readonly platformNamespace: string;
    /** StorageClass for persistent volumes. */
    readonly storageClass: string;
    readonly externalSecrets: ExternalSecretsConfig;
}

export const clusterSchema = object<ClusterConfig>({
    aks: {
        schema: object<AksLookup>({
            name: { schema: str({ pattern: /^[a-zA-Z0-9][-_a-zA-Z0-9]{0,62}$/ }), doc: "AKS cluster name." },
            resourceGroupName: {
                schema: str({ pattern: RESOURCE_GROUP, minLength: 1, maxLength: 90 }),
                doc: "Its resource group.",
            },
        }),
        optional: true,
        doc: "AKS cluster to look up (kubeconfig and OIDC issuer). Unset: `data-platform:kubeconfig` and `oidcIssuerUrl` are used.",
    },
    oidcIssuerUrl: {
        schema: str({ pattern: /^https:\/\/\S+$/, allowed: "an https:// URL" }),
        optional: true,
        doc: "OIDC issuer URL of the cluster (required with a kubeconfig).",
    },
    platformNamespace: {
        schema: str({ pattern: DNS_LABEL, maxLength: 63 }),
        default: "data-platform",
        doc: "Namespace of the platform's own workloads.",
    },
    storageClass: {
        schema: str({ pattern: DNS_LABEL, maxLength: 63 }),
        default: "managed-csi-premium",
        doc: "StorageClass for persistent volumes.",
    },
    externalSecrets: {
        schema: object<ExternalSecretsConfig>({
            install: { schema: bool(), default: true, doc: "Install External Secrets Operator from its Helm chart." },
            chartVersion: {
                schema: str({ pattern: /^\d+\.\d+\.\d+$/, allowed: "an exact chart version such as 2.9.0" }),
                default: "2.9.0",
                doc: "Pinned Helm chart version.",
            },
            namespace: {
                schema: str({ pattern: DNS_LABEL, maxLength: 63 }),
                default: "external-secrets",
                doc: "Operator namespace.",
            },
            serviceAccountName: {
                schema: str({ pattern: DNS_LABEL, maxLength: 63 }),
                default: "external-secrets",
                doc: "Service account federated with the managed identity.",
            },
            refreshInterval: {
                schema: str({ pattern: DURATION, allowed: "a duration such as 1h, 15m or 30s" }),
                default: { production: "15m", development: "1h" },
                doc: "How often ExternalSecrets re-read Key Vault.",
            },
        }),
        default: FROM_FIELDS,
        doc: "External Secrets Operator.",
    },
});

export interface AppConfig {
    /** Application name; derives every per-application name. */
    readonly name: string;
    /** Namespace the application runs in; its data Secret lands there. */
    readonly namespace: string;
    /** Create the namespace (false: adopt an existing one, only labelling is applied by the platform). */
    readonly createNamespace: boolean;
    /** Its PostgreSQL database (and login role) name. */
    readonly database: string;
    /** Its Redis logical database index. */
    readonly redisDb: number;
    /** Redis key patterns it may touch (empty: all keys of its database). */
    readonly redisKeyPatterns: string[];
    /** Connections per replica in its pool; counted against the server's budget. */
    readonly poolSize: number;
    /** Replicas of the application; counted against the server's budget. */
    readonly replicas: number;
    /** Name of the Secret that carries its environment contract. */
    readonly secretName: string;
    /** Service accounts allowed to read that Secret. */
    readonly serviceAccounts: string[];
}

const appSchema = object<AppConfig>({
    name: {
        schema: str({ pattern: APP_NAME, maxLength: 30 }),
        doc: "Application name (DNS label, at most 30 characters).",
    },
    namespace: {
        schema: str({ pattern: DNS_LABEL, maxLength: 63 }),
        doc: "Its namespace (one application per namespace).",
    },
    createNamespace: { schema: bool(), default: true, doc: "Create the namespace (false: adopt an existing one)." },
    database: {
        schema: str({ pattern: PG_IDENTIFIER, maxLength: 63 }),
        default: () => "",
        doc: "Database and login name; default: the name with `-` as `_`.",
    },
    redisDb: {
        schema: int(1, 1023),
        doc: "Redis database index (unique per application, below redis.databases). Database 0 holds no application data: every connection starts there and Redis ACLs cannot keep other applications out of it.",
    },
    redisKeyPatterns: {
        schema: list(str({ pattern: /^[^\s]+$/, allowed: "a Redis glob without spaces" })),
        default: [],
        doc: "Redis key patterns it may use (empty: all keys of its database).",
    },
    poolSize: { schema: int(1, 200), default: 10, doc: "Connections per replica." },
    replicas: { schema: int(1, 100), default: 2, doc: "Replicas (for the connection budget)." },
    secretName: {
        schema: str({ pattern: DNS_LABEL, maxLength: 63 }),
        default: () => "",
        doc: "Secret with the contract; default `<name>-data`.",
    },
    serviceAccounts: {
        schema: list(str({ pattern: DNS_LABEL, maxLength: 63 }), { minItems: 1 }),
        default: () => [],
        doc: "Service accounts that may read the Secret; default `[<name>]`.",
    },
});

/** Fills the per-application defaults that derive from its name. */
export function withAppDefaults(app: AppConfig): AppConfig {
    return {
        ...app,
        database: app.database || app.name.replace(/-/g, "_"),
        secretName: app.secretName || `${app.name}-data`,
        serviceAccounts: app.serviceAccounts.length > 0 ? app.serviceAccounts : [app.name],
    };
}

export const appsSchema = list(appSchema, { minItems: 1, maxItems: 500 });

export const profileSchema = oneOf<Profile>(["production", "development"]);
export const protectSchema = bool();
