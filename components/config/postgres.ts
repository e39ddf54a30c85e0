/** PostgreSQL settings: the mode and each implementation's own block. */
import { BYTES_QUANTITY, CPU_QUANTITY, DNS_LABEL, IPV4, KEY_VAULT_SECRET_NAME, PINNED_IMAGE } from "./names";
import { bool, int, list, object, oneOf, str, FROM_FIELDS } from "./schema";

export type PostgresMode = "azure" | "stackgres";

export interface FirewallRuleConfig {
    readonly name: string;
    readonly startIpAddress: string;
    readonly endIpAddress: string;
}

export interface AzurePostgresConfig {
    /** Server name (globally unique DNS label); default derived from project and stack. */
    readonly serverName?: string;
    readonly skuName: string;
    readonly skuTier: "Burstable" | "GeneralPurpose" | "MemoryOptimized";
    readonly storageSizeGB: number;
    readonly autoGrow: boolean;
    readonly backupRetentionDays: number;
    readonly geoRedundantBackup: boolean;
    readonly highAvailability: "Disabled" | "ZoneRedundant" | "SameZone";
    readonly adminLogin: string;
    /** Private access: delegated subnet resource id (with `privateDnsZoneId`). */
    readonly delegatedSubnetId?: string;
    readonly privateDnsZoneId?: string;
    /** Public access: explicit firewall rules. */
    readonly firewallRules: FirewallRuleConfig[];
    readonly pgBouncer: boolean;
}

/** Scheduled base backups of the SGCluster to Azure Blob Storage. */
export interface StackGresBackupConfig {
    /** Storage account name. */
    readonly storageAccount: string;
    /** Blob container, optionally with a path (`container/sub/path`). */
    readonly container: string;
    /** Key Vault secret (existing, maintained outside this program) holding the storage account access key. */
    readonly accessKeySecretName: string;
    /** Cron schedule (UTC). */
    readonly schedule: string;
    /** Base backups kept. */
    readonly retention: number;
}

export type PoolMode = "session" | "transaction";

export interface StackGresConfig {
    readonly clusterName: string;
    readonly instances: number;
    readonly storageSize: string;
    readonly cpu: string;
    readonly memory: string;
    readonly installOperator: boolean;
    readonly operatorChartVersion: string;
    /** Namespace of the operator when installed here. */
    readonly operatorNamespace: string;
    /** PgBouncer pool mode of the cluster's pooler. */
    readonly poolMode: PoolMode;
    /** Scheduled backups; unset: none. */
    readonly backups?: StackGresBackupConfig;
}

export interface PostgresConfig {
    readonly mode: PostgresMode;
    /** Major version. */
    readonly version: string;
    /** Server max_connections. */
    readonly maxConnections: number;
    /** Image of the in-cluster login Job (azure mode). */
    readonly clientImage: string;
    readonly azure: AzurePostgresConfig;
    readonly stackgres: StackGresConfig;
}

export const postgresSchema = object<PostgresConfig>({
    mode: {
        schema: oneOf<PostgresMode>(["azure", "stackgres"]),
        doc: "Managed Azure Flexible Server or in-cluster StackGres.",
    },
    version: { schema: oneOf(["14", "15", "16", "17"] as const), default: "16", doc: "PostgreSQL major version." },
    maxConnections: {
        schema: int(25, 5000),
        default: { production: 859, development: 100 },
        doc: "Server max_connections.",
    },
    clientImage: {
        schema: str({ pattern: PINNED_IMAGE, allowed: "a pinned image reference (no :latest)" }),
        default: "postgres:16.10-alpine3.22",
        doc: "psql image of the login Job.",
    },
    azure: {
        schema: object<AzurePostgresConfig>({
            serverName: {
                schema: str({
                    pattern: /^[a-z0-9][-a-z0-9]{1,61}[a-z0-9]$/,
                    allowed: "3-63 lowercase letters, digits and dashes",
                }),
                optional: true,
                doc: "Server name; default derived.",
            },
            skuName: {
                schema: str({
                    pattern: /^Standard_[A-Za-z0-9_]+$/,
                    allowed: "an Azure SKU name such as Standard_D2ds_v5",
                }),
                default: { production: "Standard_D2ds_v5", development: "Standard_B1ms" },
                doc: "Compute SKU.",
            },
            skuTier: {
                schema: oneOf(["Burstable", "GeneralPurpose", "MemoryOptimized"] as const),
                default: { production: "GeneralPurpose", development: "Burstable" },
                doc: "SKU tier.",
            },
            storageSizeGB: {
                schema: int(32, 32768),
                default: { production: 128, development: 32 },
                doc: "Storage in GiB.",
            },
            autoGrow: { schema: bool(), default: true, doc: "Storage auto-grow." },
            backupRetentionDays: {
                schema: int(7, 35),
                default: { production: 35, development: 7 },
                doc: "Backup retention in days.",
            },
            geoRedundantBackup: {
                schema: bool(),
                default: { production: true, development: false },
                doc: "Geo-redundant backup (create-only).",
            },
            highAvailability: {
                schema: oneOf(["Disabled", "ZoneRedundant", "SameZone"] as const),
                default: { production: "ZoneRedundant", development: "Disabled" },
                doc: "High availability mode.",
            },
            adminLogin: {
                schema: str({ pattern: /^[a-z][a-z0-9_]{0,62}$/, allowed: "a lowercase PostgreSQL role name" }),
                default: "pgadmin",
                doc: "Administrator login (create-only).",
            },
            delegatedSubnetId: {
                schema: str({ pattern: /^\/subscriptions\/.+\/subnets\/[^/]+$/i, allowed: "a subnet resource id" }),
                optional: true,
                doc: "Delegated subnet for private access.",
            },
            privateDnsZoneId: {
                schema: str({
                    pattern: /^\/subscriptions\/.+\/privateDnsZones\/[^/]+\.postgres\.database\.azure\.com$/i,
                    allowed: "a private DNS zone id ending in .postgres.database.azure.com",
                }),
                optional: true,
                doc: "Private DNS zone for private access.",
            },
            firewallRules: {
                schema: list(
                    object<FirewallRuleConfig>({
                        name: { schema: str({ pattern: /^[-\w]{1,80}$/ }), doc: "Rule name." },
                        startIpAddress: {
                            schema: str({ pattern: IPV4, allowed: "an IPv4 address" }),
                            doc: "First address.",
                        },
                        endIpAddress: {
                            schema: str({ pattern: IPV4, allowed: "an IPv4 address" }),
                            doc: "Last address.",
                        },
                    }),
                ),
                default: [],
                doc: "Firewall rules for public access (never allow-all).",
            },
            pgBouncer: {
                schema: bool(),
                default: { production: true, development: false },
                doc: "Built-in PgBouncer on port 6432 (not on Burstable).",
            },
        }),
        default: FROM_FIELDS,
        doc: "Azure Flexible Server (mode azure).",
    },
    stackgres: {
        schema: object<StackGresConfig>({
            clusterName: {
                schema: str({ pattern: DNS_LABEL, maxLength: 44 }),
                default: "postgres",
                doc: "SGCluster name.",
            },
            instances: {
                schema: int(1, 9),
                default: { production: 3, development: 1 },
                doc: "Instances (primary + replicas).",
            },
            storageSize: {
                schema: str({ pattern: BYTES_QUANTITY, allowed: "a size such as 20Gi" }),
                default: { production: "100Gi", development: "10Gi" },
                doc: "Volume size per instance.",
            },
            cpu: {
                schema: str({ pattern: CPU_QUANTITY, allowed: "a CPU quantity such as 500m or 2" }),
                default: { production: "2", development: "500m" },
                doc: "CPU per instance (SGInstanceProfile).",
            },
            memory: {
                schema: str({ pattern: /^[0-9]+(\.[0-9]+)?(Mi|Gi)$/, allowed: "a memory size such as 2Gi" }),
                default: { production: "8Gi", development: "1Gi" },
                doc: "Memory per instance (SGInstanceProfile).",
            },
            installOperator: {
                schema: bool(),
                default: false,
                doc: "Install the StackGres operator from its Helm chart.",
            },
            operatorChartVersion: {
                schema: str({ pattern: /^\d+\.\d+\.\d+$/ }),
                default: "1.18.6",
                doc: "Pinned operator chart version.",
            },
            operatorNamespace: {
                schema: str({ pattern: DNS_LABEL, maxLength: 63 }),
                default: "stackgres",
                doc: "Operator namespace (when installed here).",
            },
            poolMode: {
                schema: oneOf<PoolMode>(["session", "transaction"]),
                default: "transaction",
                doc: "PgBouncer pool mode (transaction, as Azure's built-in PgBouncer).",
            },
            backups: {
                schema: object<StackGresBackupConfig>({
                    storageAccount: {
                        schema: str({ pattern: /^[a-z0-9]{3,24}$/, allowed: "3-24 lowercase letters and digits" }),
                        doc: "Storage account name.",
                    },
                    container: {
                        schema: str({
                            pattern: /^[a-z0-9](?!.*--)[-a-z0-9]{1,61}[a-z0-9](\/[^/]+)*$/,
                            allowed: "a blob container name, optionally with /sub/path",
                        }),
                        doc: "Blob container (and path).",
                    },
                    accessKeySecretName: {
                        schema: str({ pattern: KEY_VAULT_SECRET_NAME, allowed: "a Key Vault secret name" }),
                        doc: "Key Vault secret holding the account access key.",
                    },
                    schedule: {
                        schema: str({ pattern: /^(\S+\s+){4}\S+$/, allowed: "a 5-field cron expression" }),
                        default: "0 5 * * *",
                        doc: "Backup schedule (cron, UTC).",
                    },
                    retention: { schema: int(1, 90), default: 7, doc: "Base backups kept." },
                }),
                optional: true,
                doc: "Scheduled backups to Azure Blob (SGObjectStorage); unset: none.",
            },
        }),
        default: FROM_FIELDS,
        doc: "StackGres SGCluster (mode stackgres).",
    },
});
