/** PostgreSQL settings: the mode and each implementation's own block. */
import type { z } from "zod";
import {
    BYTES_QUANTITY,
    CPU_QUANTITY,
    DNS_LABEL,
    EXTENSION_NAME,
    INSTANCE_NAME,
    INSTANCE_NAME_ALLOWED,
    INSTANCE_NAME_MAX_LENGTH,
    IPV4,
    KEY_VAULT_SECRET_NAME,
    PEM_CERTIFICATES,
    PINNED_IMAGE,
} from "./names";
import { Profile, byProfile, choice, derived, flag, integer, integerIn, listOf, mapOf, section, text } from "./fields";

/**
 * The storage sizes (GiB) a Flexible Server offers (Premium SSD): terraform-provider-azurerm's `storage_mb` allowed
 * values, 32768 to 33553408 MB. Any other size is refused by Azure at deployment, after every other resource ran.
 */
export const AZURE_STORAGE_SIZES_GB = [32, 64, 128, 256, 512, 1024, 2048, 4095, 4096, 8192, 16384, 32767] as const;

/**
 * Azure's default `max_connections` of a SKU, set at provisioning (Microsoft, "Limits in Azure Database for
 * PostgreSQL flexible server", concepts-limits.md; shared/reference/azure.md): undefined where the table has no figure.
 */
export function azureDefaultMaxConnections(skuName: string): number | undefined {
    const burstable: Record<string, number> = { Standard_B1ms: 50, Standard_B2s: 429, Standard_B2ms: 859 };
    if (skuName in burstable) {
        return burstable[skuName];
    }
    const general = /^Standard_D(\d+)/.exec(skuName);
    if (!general) {
        return undefined;
    }
    const vcores = Number(general[1]);
    return vcores >= 16 ? 5000 : { 2: 859, 4: 1718, 8: 3437 }[vcores];
}

/** Who creates the applications' databases on a Flexible Server (`postgres.azure.databases`). */
export const AZURE_DATABASE_CREATORS = ["sql", "arm", "release"] as const;

/** `max_connections` where no SKU sets it (StackGres, or an Azure SKU without a known default). */
const PROFILE_MAX_CONNECTIONS = { production: 859, development: 100 } as const;

/** The settings of one PostgreSQL server: the section's own (the `default` server) and each of `servers`. */
function postgresSettings(profile: Profile) {
    return {
        mode: choice(["azure", "stackgres"]).describe("Managed Azure Flexible Server or in-cluster StackGres."),
        version: choice(["14", "15", "16", "17"]).default("16").describe("PostgreSQL major version."),
        maxConnections: derived(integer(25, 5000)).describe(
            `Server max_connections; default: in mode azure the SKU's own (Standard_B1ms 50, Standard_D2ds_v5 859, ...: it is static there), else ${PROFILE_MAX_CONNECTIONS.production} in production and ${PROFILE_MAX_CONNECTIONS.development} in development.`,
        ),
        clientImage: text({ pattern: PINNED_IMAGE, allowed: "a pinned image reference (no :latest)" })
            .default("postgres:16.10-alpine3.22")
            .describe("psql image of the login Job."),
        extensions: listOf(
            text({ pattern: EXTENSION_NAME, allowed: "a lowercase extension name such as pg_trgm or uuid-ossp" }),
        )
            .default([])
            .describe(
                "Extensions created (`CREATE EXTENSION IF NOT EXISTS`) in every application database by the login Job; on Azure also allow-listed in `azure.extensions`.",
            ),
        pooler: section({
            maxPreparedStatements: integer(0, 5000)
                .default(200)
                .describe(
                    "PgBouncer `max_prepared_statements` in both modes (protocol-level prepared statements through transaction pooling; 0 turns that off).",
                ),
            defaultPoolSize: integer(1, 4950)
                .optional()
                .describe(
                    "PgBouncer `default_pool_size`: server connections per (database, login); unset: the mode's own, StackGres 1000, Azure 50 (Azure allows 1-4950).",
                ),
            reservePoolSize: integer(0, 4950)
                .optional()
                .describe("PgBouncer `reserve_pool_size` (StackGres only; Azure has no such parameter); unset: 0."),
            maxClientConnections: integer(1, 50000)
                .optional()
                .describe(
                    "PgBouncer `max_client_conn`: client connections it accepts; unset: the mode's own, StackGres 1000, Azure 5000 (Azure allows 1-50000).",
                ),
            maxDbConnections: integer(0, 5000)
                .optional()
                .describe(
                    "PgBouncer `max_db_connections`: server connections per database, all its logins together (StackGres only); unset: 0, no limit.",
                ),
            maxUserConnections: integer(0, 5000)
                .optional()
                .describe(
                    "PgBouncer `max_user_connections`: server connections per login (StackGres only); unset: 0, no limit.",
                ),
        })
            .prefault({})
            .describe(
                "Connection pooler (StackGres PgBouncer, Azure's built-in PgBouncer); a setting left unset is not rendered and the mode's default counts in the connection budget.",
            ),
        azure: section({
            serverName: text({
                pattern: /^[a-z0-9][-a-z0-9]{1,61}[a-z0-9]$/,
                allowed: "3-63 lowercase letters, digits and dashes",
            })
                .optional()
                .describe("Server name; default derived."),
            skuName: text({
                pattern: /^Standard_[A-Za-z0-9_]+$/,
                allowed: "an Azure SKU name such as Standard_D2ds_v5",
            })
                .default(byProfile(profile, { production: "Standard_D2ds_v5", development: "Standard_B1ms" }))
                .describe("Compute SKU."),
            skuTier: choice(["Burstable", "GeneralPurpose", "MemoryOptimized"])
                .default(byProfile(profile, { production: "GeneralPurpose", development: "Burstable" }))
                .describe("SKU tier."),
            storageSizeGB: integerIn(AZURE_STORAGE_SIZES_GB)
                .default(byProfile(profile, { production: 128, development: 32 }))
                .describe("Storage in GiB."),
            autoGrow: flag()
                .default(true)
                .describe(
                    "Storage auto-grow; `storageSizeGB` is then the initial size (Azure grows the disk, the program ignores the difference).",
                ),
            backupRetentionDays: integer(7, 35)
                .default(byProfile(profile, { production: 35, development: 7 }))
                .describe("Backup retention in days."),
            geoRedundantBackup: flag()
                .default(byProfile(profile, { production: true, development: false }))
                .describe("Geo-redundant backup (create-only)."),
            highAvailability: choice(["Disabled", "ZoneRedundant", "SameZone"])
                .default(byProfile(profile, { production: "ZoneRedundant", development: "Disabled" }))
                .describe("High availability mode."),
            adminLogin: text({ pattern: /^[a-z][a-z0-9_]{0,62}$/, allowed: "a lowercase PostgreSQL role name" })
                .default("pgadmin")
                .describe("Administrator login (create-only)."),
            delegatedSubnetId: text({
                pattern: /^\/subscriptions\/.+\/subnets\/[^/]+$/i,
                allowed: "a subnet resource id",
            })
                .optional()
                .describe("Delegated subnet for private access."),
            privateDnsZoneId: text({
                pattern: /^\/subscriptions\/.+\/privateDnsZones\/[^/]+\.postgres\.database\.azure\.com$/i,
                allowed: "a private DNS zone id ending in .postgres.database.azure.com",
            })
                .optional()
                .describe("Private DNS zone for private access."),
            firewallRules: listOf(
                section({
                    name: text({ pattern: /^[-\w]{1,80}$/ }).describe("Rule name."),
                    startIpAddress: text({ pattern: IPV4, allowed: "an IPv4 address" }).describe("First address."),
                    endIpAddress: text({ pattern: IPV4, allowed: "an IPv4 address" }).describe("Last address."),
                }),
            )
                .default([])
                .describe("Firewall rules for public access (never allow-all)."),
            databases: choice(AZURE_DATABASE_CREATORS)
                .default("sql")
                .describe(
                    'Who creates the applications\' databases: `sql` the login Job, all missing ones in one run as StackGres mode does (the deploy does not wait longer with more applications); `arm` one `dbforpostgresql.Database` resource each, created one after another (ARM writes on one server are serial, ~20-30 s each); `release` step 1 of going from `arm` to `sql` (README "Who creates the databases"): the Job creates, the existing Database resources stay registered unprotected and retained for this `up`; then set `sql`, which drops them from the state only.',
                ),
            pgBouncer: flag()
                .default(byProfile(profile, { production: true, development: false }))
                .describe("Built-in PgBouncer on port 6432 (not on Burstable)."),
            maintenanceWindow: section({
                custom: flag()
                    .default(byProfile(profile, { production: true, development: false }))
                    .describe("A custom window (else Azure picks the time of planned maintenance and its restarts)."),
                dayOfWeek: integer(0, 6).default(0).describe("Day of the window, 0 = Sunday."),
                startHour: integer(0, 23).default(1).describe("Start hour (UTC)."),
                startMinute: integer(0, 59).default(0).describe("Start minute."),
            })
                .prefault({})
                .describe("Planned-maintenance window of the server (HA servers fail over in it)."),
            monitoring: flag()
                .default(byProfile(profile, { production: true, development: false }))
                .describe(
                    "A postgres_exporter Deployment scrapes the server as a `pg_monitor` login the login Job keeps (TLS verify-full), with a ServiceMonitor, PrometheusRule and dashboard labelled like Redis' (`redis.monitoringLabels`), and an Azure Monitor alert on storage_percent.",
                ),
            exporterImage: text({ pattern: PINNED_IMAGE, allowed: "a pinned image reference (no :latest)" })
                .default("quay.io/prometheuscommunity/postgres-exporter:v0.17.1")
                .describe("postgres_exporter image (monitoring on)."),
            storageAlertActionGroupIds: listOf(
                text({
                    pattern: /^\/subscriptions\/.+\/providers\/microsoft\.insights\/actionGroups\/[^/]+$/i,
                    allowed: "an action group resource id",
                }),
            )
                .default([])
                .describe(
                    "Azure Monitor action groups the storage alert notifies (monitoring on); none: the alert shows in the portal only.",
                ),
            acknowledgeRestart: flag()
                .default(false)
                .describe(
                    "Allow `maxConnections` above the SKU's default, and `extensions` whose libraries Azure does not preload by default (`shared_preload_libraries`): Azure applies both only at the next server restart, which the operator runs (`az postgres flexible-server restart`).",
                ),
        })
            .prefault({})
            .describe("Azure Flexible Server (mode azure)."),
        stackgres: section({
            clusterName: derived(text({ pattern: DNS_LABEL, maxLength: 44 })).describe(
                "SGCluster name; default `postgres`, and `postgres-<name>` for a named server.",
            ),
            instances: integer(1, 9)
                .default(byProfile(profile, { production: 3, development: 1 }))
                .describe("Instances (primary + replicas)."),
            storageSize: text({ pattern: BYTES_QUANTITY, allowed: "a size such as 20Gi" })
                .default(byProfile(profile, { production: "100Gi", development: "10Gi" }))
                .describe("Volume size per instance."),
            cpu: text({ pattern: CPU_QUANTITY, allowed: "a CPU quantity such as 500m or 2" })
                .default(byProfile(profile, { production: "2", development: "500m" }))
                .describe("CPU per instance (SGInstanceProfile)."),
            memory: text({ pattern: /^[0-9]+(\.[0-9]+)?(Mi|Gi)$/, allowed: "a memory size such as 2Gi" })
                .default(byProfile(profile, { production: "8Gi", development: "1Gi" }))
                .describe("Memory per instance (SGInstanceProfile)."),
            monitoring: flag()
                .default(byProfile(profile, { production: true, development: false }))
                .describe(
                    "Prometheus scrapes the cluster's exporter sidecar (the operator creates its PodMonitor: `configurations.observability.prometheusAutobind`), and a PrometheusRule alerts on PostgreSQL; labelled like Redis' (`redis.monitoringLabels`).",
                ),
            installOperator: flag().default(false).describe("Install the StackGres operator from its Helm chart."),
            operatorChartVersion: text({ pattern: /^\d+\.\d+\.\d+$/ })
                .default("1.18.6")
                .describe("Pinned operator chart version."),
            operatorNamespace: text({ pattern: DNS_LABEL, maxLength: 63 })
                .default("stackgres")
                .describe("Operator namespace (when installed here)."),
            poolMode: choice(["session", "transaction"])
                .default("transaction")
                .describe("PgBouncer pool mode (transaction, as Azure's built-in PgBouncer)."),
            tls: section({
                issuerKind: choice(["ClusterIssuer", "Issuer"])
                    .default("ClusterIssuer")
                    .describe("cert-manager issuer kind for the server certificate."),
                issuerName: text({ pattern: DNS_LABEL, maxLength: 63 })
                    .default("platform-ca")
                    .describe("cert-manager issuer name for the server certificate."),
                caCert: text({
                    pattern: PEM_CERTIFICATES,
                    allowed: "PEM certificates (-----BEGIN CERTIFICATE-----...)",
                }).describe("Public certificate of that issuer's CA, handed to applications as `DB_CA_CERT`."),
            })
                .optional()
                .describe(
                    "Server certificate from a cert-manager issuer, so clients can use `verify-full`; unset: the operator's self-signed one (no `DB_CA_CERT`).",
                ),
            backups: section({
                storageAccount: text({
                    pattern: /^[a-z0-9]{3,24}$/,
                    allowed: "3-24 lowercase letters and digits",
                }).describe("Storage account name."),
                container: text({
                    pattern: /^[a-z0-9](?!.*--)[-a-z0-9]{1,61}[a-z0-9](\/[^/]+)*$/,
                    allowed: "a blob container name, optionally with /sub/path",
                }).describe("Blob container (and path)."),
                accessKeySecretName: text({
                    pattern: KEY_VAULT_SECRET_NAME,
                    allowed: "a Key Vault secret name",
                }).describe("Key Vault secret holding the account access key."),
                schedule: text({ pattern: /^(\S+\s+){4}\S+$/, allowed: "a 5-field cron expression" })
                    .default("0 5 * * *")
                    .describe("Backup schedule (cron, UTC)."),
                retention: integer(1, 90).default(7).describe("Base backups kept."),
            })
                .optional()
                .describe("Scheduled backups to Azure Blob (SGObjectStorage); unset: none."),
        })
            .prefault({})
            .describe("StackGres SGCluster (mode stackgres)."),
    };
}

/** `max_connections` where not given: the SKU's own in mode azure, else the profile's. */
function withMaxConnections<T extends { mode: string; maxConnections?: number; azure: { skuName: string } }>(
    postgres: T,
    profile: Profile,
): T & { maxConnections: number } {
    return {
        ...postgres,
        maxConnections:
            postgres.maxConnections ??
            (postgres.mode === "azure" ? azureDefaultMaxConnections(postgres.azure.skuName) : undefined) ??
            byProfile(profile, PROFILE_MAX_CONNECTIONS),
    };
}

/**
 * The `postgres` section: the settings of the `default` server, and further named servers. A named server takes the
 * same keys, with the profile's defaults for those it does not set (nothing is inherited from the section).
 */
export function postgresSchema(profile: Profile) {
    const server = section({
        ...postgresSettings(profile),
        dedicated: flag()
            .default(false)
            .describe(
                "The server holds one application's database alone (its own connection budget and resources); on StackGres only its namespace reaches the server's ports. Not for a tenant stack's applications.",
            ),
    })
        .transform((settings) => withMaxConnections(settings, profile))
        .describe("A named server: the keys of the section, and `dedicated`.");
    return section({
        ...postgresSettings(profile),
        servers: mapOf(
            text({ pattern: INSTANCE_NAME, maxLength: INSTANCE_NAME_MAX_LENGTH, allowed: INSTANCE_NAME_ALLOWED }),
            server,
        )
            .default({})
            .describe(
                "Further PostgreSQL servers by name, each its own Flexible Server or SGCluster with its own connection budget; applications choose one with `apps[].postgres.server` (default: the section's own server, `default`).",
            ),
    }).transform((postgres) => withMaxConnections(postgres, profile));
}

/** The `postgres` section as parsed. */
export type PostgresSection = z.output<ReturnType<typeof postgresSchema>>;
type NamedServer = PostgresSection["servers"][string];
/**
 * The settings of one PostgreSQL server (`server` names a named one; unset: the section's own, `default`), its
 * SGCluster name filled in.
 */
export type PostgresConfig = Omit<PostgresSection, "servers" | "stackgres"> & {
    readonly server?: string;
    readonly dedicated?: NamedServer["dedicated"];
    readonly stackgres: PostgresSection["stackgres"] & { readonly clusterName: string };
};
export type PostgresMode = PostgresConfig["mode"];
export type AzurePostgresConfig = PostgresConfig["azure"];
export type FirewallRuleConfig = AzurePostgresConfig["firewallRules"][number];
export type StackGresConfig = PostgresConfig["stackgres"];
/** Scheduled base backups of the SGCluster to Azure Blob Storage. */
export type StackGresBackupConfig = NonNullable<StackGresConfig["backups"]>;
export type PoolMode = StackGresConfig["poolMode"];
