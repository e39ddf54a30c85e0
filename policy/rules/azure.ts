/** Azure rules: PostgreSQL Flexible Server (TLS, firewall, network, HA, backups), Key Vault, role assignment scopes. */
import type { ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import type { Unwrap } from "@pulumi/pulumi";
import type { ServerArgs } from "@pulumi/azure-native/dbforpostgresql";
import type { VaultArgs } from "@pulumi/azure-native/keyvault";
import { TYPES } from "../lib/k8s";
import { EnvironmentSettings, isProduction, schema, settingsOf } from "../lib/settings";

export const AZURE_TYPES = {
    pgServer: "azure-native:dbforpostgresql:Server",
    pgConfiguration: "azure-native:dbforpostgresql:Configuration",
    pgFirewallRule: "azure-native:dbforpostgresql:FirewallRule",
    vault: "azure-native:keyvault:Vault",
    roleAssignment: "azure-native:authorization:RoleAssignment",
} as const;

type Server = Unwrap<ServerArgs>;
type Vault = Unwrap<VaultArgs>;

/** The props of a resource of `type`, or not-applicable. */
function propsOf<T>(args: ResourceValidationArgs, type: string): T {
    if (args.type !== type) {
        args.notApplicable(`only applies to ${type}`);
    }
    return args.props as T;
}

/** Production-only rules: not-applicable elsewhere. */
function requireProduction(args: ResourceValidationArgs, configSchema: ReturnType<typeof schema>): void {
    if (!isProduction(args, settingsOf<EnvironmentSettings>(args, configSchema), args.urn)) {
        args.notApplicable("not a production stack");
    }
}

const TLS_VERSIONS = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];
const OFF = ["off", "false", "0", "no"];

/** Below TLS 1.2 (`ssl_min_protocol_version` values as PostgreSQL spells them). */
function weakTls(version: unknown): boolean {
    return (
        typeof version === "string" &&
        TLS_VERSIONS.indexOf(version) >= 0 &&
        TLS_VERSIONS.indexOf(version) < TLS_VERSIONS.indexOf("TLSv1.2")
    );
}

/** Azure requires TLS 1.2+ by default (require_secure_transport=on); this keeps anyone from switching it off.
 *  StackGres: SSL stays enabled and its minimum protocol is not lowered. */
export const postgresTls: ResourceValidationPolicy = {
    name: "postgres-tls-1-2",
    description:
        "PostgreSQL enforces TLS 1.2 or newer: require_secure_transport stays on, ssl_min_protocol_version is not lowered, StackGres SSL stays enabled.",
    enforcementLevel: "mandatory",
    severity: "critical",
    validateResource: (args, report) => {
        const p = args.props;
        if (args.type === AZURE_TYPES.pgConfiguration) {
            const name = String(p.configurationName ?? args.name).toLowerCase();
            const value = String(p.value ?? "");
            if (name === "require_secure_transport" && OFF.includes(value.toLowerCase())) {
                report(
                    `Server ${p.serverName}: require_secure_transport=${value} allows unencrypted connections; keep it on.`,
                );
            } else if (name === "ssl_min_protocol_version" && weakTls(value)) {
                report(`Server ${p.serverName}: ssl_min_protocol_version=${value}; the minimum is TLSv1.2.`);
            }
        } else if (args.type === TYPES.sgPostgresConfig) {
            const version = p.spec?.["postgresql.conf"]?.ssl_min_protocol_version;
            if (weakTls(version)) {
                report(
                    `SGPostgresConfig ${p.metadata?.name}: ssl_min_protocol_version=${version}; the minimum is TLSv1.2.`,
                );
            }
        } else if (args.type === TYPES.sgCluster) {
            if (p.spec?.postgres?.ssl?.enabled === false) {
                report(
                    `SGCluster ${p.metadata?.namespace}/${p.metadata?.name}: spec.postgres.ssl.enabled is false; clients could not use TLS at all.`,
                );
            }
        } else {
            args.notApplicable("not a PostgreSQL server setting");
        }
    },
};

const firewallSchema = schema({}, true);

export const postgresFirewall: ResourceValidationPolicy = {
    name: "postgres-no-allow-all-firewall",
    description:
        "No PostgreSQL firewall rule admits every address (0.0.0.0-255.255.255.255); in production not even all of Azure (0.0.0.0-0.0.0.0).",
    enforcementLevel: "mandatory",
    severity: "critical",
    configSchema: firewallSchema,
    validateResource: (args, report) => {
        const rule = propsOf<{ serverName?: string; startIpAddress?: string; endIpAddress?: string }>(
            args,
            AZURE_TYPES.pgFirewallRule,
        );
        const range = `${rule.startIpAddress}-${rule.endIpAddress}`;
        if (rule.startIpAddress === "0.0.0.0" && rule.endIpAddress === "255.255.255.255") {
            report(`Firewall rule ${args.name} on server ${rule.serverName} admits the whole internet (${range}).`);
        } else if (
            range === "0.0.0.0-0.0.0.0" &&
            isProduction(args, settingsOf<EnvironmentSettings>(args, firewallSchema), args.urn)
        ) {
            report(
                `Firewall rule ${args.name} on server ${rule.serverName} admits every Azure tenant's services (${range}); production uses private access.`,
            );
        }
    },
};

const publicAccessSchema = schema({}, true);

export const postgresPrivateInProduction: ResourceValidationPolicy = {
    name: "postgres-private-in-production",
    description:
        "In production the PostgreSQL server has public network access disabled (VNet-injected or private endpoint only).",
    enforcementLevel: "mandatory",
    severity: "critical",
    configSchema: publicAccessSchema,
    validateResource: (args, report) => {
        const server = propsOf<Server>(args, AZURE_TYPES.pgServer);
        requireProduction(args, publicAccessSchema);
        const network = server.network ?? {};
        const isPrivate =
            network.publicNetworkAccess === "Disabled" ||
            (network.delegatedSubnetResourceId !== undefined && network.publicNetworkAccess !== "Enabled");
        if (!isPrivate) {
            report(
                `Server ${server.serverName ?? args.name} allows public network access (publicNetworkAccess=${network.publicNetworkAccess ?? "unset"}, no delegated subnet); production servers are private.`,
            );
        }
    },
};

const haSchema = schema({}, true);

export const postgresHaInProduction: ResourceValidationPolicy = {
    name: "postgres-ha-in-production",
    description: "In production the PostgreSQL server runs with high availability (a standby to fail over to).",
    enforcementLevel: "mandatory",
    severity: "high",
    configSchema: haSchema,
    validateResource: (args, report) => {
        const server = propsOf<Server>(args, AZURE_TYPES.pgServer);
        requireProduction(args, haSchema);
        // Azure creates a restored server without high availability (MicrosoftDocs/azure-docs flexible-server
        // concepts-backup-restore.md, "Post-restore tasks"), and a restore's copy serves no application: it is read
        // once and deleted (README, Backup and restore). Its other settings are checked like any server's.
        if (server.createMode === "PointInTimeRestore") {
            args.notApplicable("a point-in-time restore's copy, which serves no application");
        }
        const mode = server.highAvailability?.mode ?? "Disabled";
        if (mode !== "ZoneRedundant" && mode !== "SameZone") {
            report(
                `Server ${server.serverName ?? args.name} has highAvailability.mode=${mode}; production needs ZoneRedundant (or SameZone).`,
            );
        }
    },
};

const geoSchema = schema({}, true);

export const postgresGeoBackupInProduction: ResourceValidationPolicy = {
    name: "postgres-geo-backup-in-production",
    description: "In production PostgreSQL backups are geo-redundant (set at creation: it cannot be turned on later).",
    enforcementLevel: "mandatory",
    severity: "high",
    configSchema: geoSchema,
    validateResource: (args, report) => {
        const server = propsOf<Server>(args, AZURE_TYPES.pgServer);
        requireProduction(args, geoSchema);
        if (server.backup?.geoRedundantBackup !== "Enabled") {
            report(
                `Server ${server.serverName ?? args.name} has backup.geoRedundantBackup=${server.backup?.geoRedundantBackup ?? "unset"}; production needs Enabled (create-only: fixing it later replaces the server).`,
            );
        }
    },
};

const retentionSchema = schema(
    {
        minBackupRetentionDays: {
            type: "integer",
            minimum: 7,
            maximum: 35,
            default: 7,
            description: "Minimum backup retention outside production.",
        },
        minBackupRetentionDaysInProduction: {
            type: "integer",
            minimum: 7,
            maximum: 35,
            default: 35,
            description: "Minimum backup retention in production.",
        },
    },
    true,
);

export const postgresBackupRetention: ResourceValidationPolicy = {
    name: "postgres-backup-retention",
    description:
        "PostgreSQL keeps backups at least the configured number of days (point-in-time restore reaches that far back).",
    enforcementLevel: "mandatory",
    severity: "high",
    configSchema: retentionSchema,
    validateResource: (args, report) => {
        const server = propsOf<Server>(args, AZURE_TYPES.pgServer);
        const settings = settingsOf<
            EnvironmentSettings & { minBackupRetentionDays: number; minBackupRetentionDaysInProduction: number }
        >(args, retentionSchema);
        const prod = isProduction(args, settings, args.urn);
        const minimum = prod ? settings.minBackupRetentionDaysInProduction : settings.minBackupRetentionDays;
        // The SDK defaults an unset retention to 7 days.
        const days = server.backup?.backupRetentionDays ?? 7;
        if (days < minimum) {
            report(
                `Server ${server.serverName ?? args.name} keeps backups ${days} days; ${prod ? "production" : "this stack"} requires at least ${minimum}.`,
            );
        }
    },
};

export const keyVaultRbac: ResourceValidationPolicy = {
    name: "keyvault-rbac-authorization",
    description:
        "Key Vault uses Azure RBAC for data access (access policies are not audited per role and ESO's role assignment would grant nothing).",
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: (args, report) => {
        const vault = propsOf<Vault>(args, AZURE_TYPES.vault);
        if (vault.properties?.enableRbacAuthorization !== true) {
            report(
                `Key Vault ${vault.vaultName ?? args.name} has enableRbacAuthorization=${vault.properties?.enableRbacAuthorization ?? "unset (false)"}; set it to true.`,
            );
        }
        if ((vault.properties?.accessPolicies ?? []).length > 0) {
            report(
                `Key Vault ${vault.vaultName ?? args.name} declares access policies; grant data access with role assignments only.`,
            );
        }
    },
};

export const keyVaultPurgeProtection: ResourceValidationPolicy = {
    name: "keyvault-purge-protection",
    description:
        "Key Vault has purge protection, so a deleted vault or secret stays recoverable for the soft-delete retention.",
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: (args, report) => {
        const vault = propsOf<Vault>(args, AZURE_TYPES.vault);
        if (vault.properties?.enablePurgeProtection !== true) {
            report(
                `Key Vault ${vault.vaultName ?? args.name} has enablePurgeProtection=${vault.properties?.enablePurgeProtection ?? "unset"}; set it to true.`,
            );
        }
        if (vault.properties?.enableSoftDelete === false) {
            report(`Key Vault ${vault.vaultName ?? args.name} disables soft delete.`);
        }
    },
};

const vaultNetworkSchema = schema({}, true);

export const keyVaultPrivateInProduction: ResourceValidationPolicy = {
    name: "keyvault-private-in-production",
    description:
        "In production Key Vault has public network access disabled; elsewhere a public vault denies by default (IP allow-list).",
    enforcementLevel: "mandatory",
    severity: "high",
    configSchema: vaultNetworkSchema,
    validateResource: (args, report) => {
        const vault = propsOf<Vault>(args, AZURE_TYPES.vault);
        const name = vault.vaultName ?? args.name;
        // The SDK defaults publicNetworkAccess to "enabled".
        const publicAccess = String(vault.properties?.publicNetworkAccess ?? "enabled").toLowerCase();
        if (isProduction(args, settingsOf<EnvironmentSettings>(args, vaultNetworkSchema), args.urn)) {
            if (publicAccess !== "disabled") {
                report(
                    `Key Vault ${name} has publicNetworkAccess=${publicAccess}; production vaults are reachable only privately.`,
                );
            }
        } else if (publicAccess !== "disabled" && vault.properties?.networkAcls?.defaultAction !== "Deny") {
            report(
                `Key Vault ${name} is public with networkAcls.defaultAction=${vault.properties?.networkAcls?.defaultAction ?? "unset (Allow)"}; deny by default and list the allowed ranges.`,
            );
        }
    },
};

/** Key Vault data-plane roles (built-in role definition GUIDs, identical in every tenant). */
const VAULT_DATA_ROLES: Record<string, string> = {
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": "Key Vault Secrets Officer",
    "00482a5a-887f-4fb3-b363-3b7fe8e74483": "Key Vault Administrator",
};
const VAULT_SCOPE =
    /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.KeyVault\/vaults\/[^/]+(\/secrets\/[^/]+)?$/i;

export const vaultRoleScope: ResourceValidationPolicy = {
    name: "keyvault-role-assignment-scope",
    description:
        "Key Vault data roles (the secret reader above all) are assigned on one vault (or one secret), never on a resource group or subscription.",
    enforcementLevel: "mandatory",
    severity: "critical",
    validateResource: (args, report) => {
        const ra = propsOf<{ roleDefinitionId?: string; scope?: string; principalId?: string }>(
            args,
            AZURE_TYPES.roleAssignment,
        );
        const role =
            VAULT_DATA_ROLES[
                String(ra.roleDefinitionId ?? "")
                    .split("/")
                    .pop()
                    ?.toLowerCase() ?? ""
            ];
        if (!role) {
            args.notApplicable("not a Key Vault data role");
        }
        if (!VAULT_SCOPE.test(String(ra.scope ?? ""))) {
            report(
                `Role assignment ${args.name} grants ${role} to ${ra.principalId} on "${ra.scope}"; scope it to the vault (…/providers/Microsoft.KeyVault/vaults/<name>).`,
            );
        }
    },
};

export const azurePolicies = [
    postgresTls,
    postgresFirewall,
    postgresPrivateInProduction,
    postgresHaInProduction,
    postgresGeoBackupInProduction,
    postgresBackupRetention,
    keyVaultRbac,
    keyVaultPurgeProtection,
    keyVaultPrivateInProduction,
    vaultRoleScope,
];
