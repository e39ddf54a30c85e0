/** Rules that span several keys of one section (or several sections). Run only on an otherwise valid config. */
import type { PlatformConfig } from "./index";
import { ParseContext, report } from "./schema";
import { RESERVED_USER_NAMES } from "../redis/acl";
import { platformCredentialIds } from "../credentialNames";

type Check = (config: PlatformConfig, ctx: ParseContext) => void;

/** Role names Azure refuses as the Flexible Server administrator login (checked case-insensitively). */
export const AZURE_RESERVED_ADMIN_LOGINS = [
    "azure_superuser",
    "azure_pg_admin",
    "admin",
    "administrator",
    "root",
    "guest",
    "public",
    "azuresu",
];

/** Connections Azure keeps for itself (reserved_connections + superuser_reserved_connections). */
export const AZURE_RESERVED_CONNECTIONS = 15;

/** Connections StackGres keeps: superuser_reserved_connections plus Patroni and monitoring sessions. */
export const STACKGRES_RESERVED_CONNECTIONS = 10;

/** Sum over applications of replicas x pool size. */
export function connectionDemand(config: PlatformConfig): number {
    return config.apps.reduce((sum, app) => sum + app.replicas * app.poolSize, 0);
}

export function reservedConnections(config: PlatformConfig): number {
    return config.postgres.mode === "azure" ? AZURE_RESERVED_CONNECTIONS : STACKGRES_RESERVED_CONNECTIONS;
}

const postgresChecks: Check = (config, ctx) => {
    const path = "data-platform:postgres";
    const { azure } = config.postgres;
    const budget = config.postgres.maxConnections - reservedConnections(config);
    const demand = connectionDemand(config);
    if (demand > budget) {
        report(
            ctx,
            `${path}.maxConnections`,
            config.postgres.maxConnections,
            `at least ${demand + reservedConnections(config)}: applications need ${demand} connections (sum of replicas x poolSize) ` +
                `and ${reservedConnections(config)} are reserved; lower apps[].poolSize or apps[].replicas, or raise maxConnections`,
        );
    }
    if (config.postgres.mode !== "azure") {
        return;
    }
    const login = azure.adminLogin.toLowerCase();
    if (AZURE_RESERVED_ADMIN_LOGINS.includes(login) || login.startsWith("pg_")) {
        report(
            ctx,
            `${path}.azure.adminLogin`,
            azure.adminLogin,
            `a login other than ${AZURE_RESERVED_ADMIN_LOGINS.join(", ")} and not starting with pg_`,
        );
    }
    if (azure.skuTier === "Burstable" && azure.pgBouncer) {
        report(
            ctx,
            `${path}.azure.pgBouncer`,
            true,
            "false on a Burstable SKU (the built-in PgBouncer needs GeneralPurpose or MemoryOptimized)",
        );
    }
    if (azure.skuTier === "Burstable" && azure.highAvailability !== "Disabled") {
        report(
            ctx,
            `${path}.azure.highAvailability`,
            azure.highAvailability,
            `"Disabled" on a Burstable SKU (HA needs GeneralPurpose or MemoryOptimized)`,
        );
    }
    const tierPrefix = { Burstable: /^Standard_B/, GeneralPurpose: /^Standard_D/, MemoryOptimized: /^Standard_E/ }[
        azure.skuTier
    ];
    if (!tierPrefix.test(azure.skuName)) {
        report(
            ctx,
            `${path}.azure.skuName`,
            azure.skuName,
            `a ${azure.skuTier} SKU (${tierPrefix.source.slice(1)}...)`,
        );
    }
    const privateAccess = azure.delegatedSubnetId !== undefined || azure.privateDnsZoneId !== undefined;
    if (privateAccess && (azure.delegatedSubnetId === undefined || azure.privateDnsZoneId === undefined)) {
        report(
            ctx,
            `${path}.azure.${azure.delegatedSubnetId === undefined ? "delegatedSubnetId" : "privateDnsZoneId"}`,
            undefined,
            "both delegatedSubnetId and privateDnsZoneId for private access",
        );
    }
    if (!privateAccess && azure.firewallRules.length === 0) {
        report(
            ctx,
            `${path}.azure.firewallRules`,
            [],
            "at least one rule with public access (the cluster's egress addresses), or delegatedSubnetId and privateDnsZoneId for private access",
        );
    }
    if (privateAccess && azure.firewallRules.length > 0) {
        report(
            ctx,
            `${path}.azure.firewallRules`,
            azure.firewallRules.map((r) => r.name),
            "no firewall rules with private access (VNet-injected servers use NSGs)",
        );
    }
    azure.firewallRules.forEach((rule, i) => {
        const rulePath = `${path}.azure.firewallRules[${i}]`;
        if (ipToNumber(rule.startIpAddress) > ipToNumber(rule.endIpAddress)) {
            report(
                ctx,
                `${rulePath}.endIpAddress`,
                rule.endIpAddress,
                `an address not below startIpAddress ${rule.startIpAddress}`,
            );
        }
        if (rule.startIpAddress === "0.0.0.0" && rule.endIpAddress === "255.255.255.255") {
            report(ctx, rulePath, `${rule.startIpAddress}-${rule.endIpAddress}`, "a rule narrower than allow-all");
        }
    });
};

const redisChecks: Check = (config, ctx) => {
    const path = "data-platform:redis";
    const { redis } = config;
    config.apps.forEach((app, i) => {
        // The application's name is its Redis ACL user.
        if (RESERVED_USER_NAMES.includes(app.name)) {
            report(
                ctx,
                `data-platform:apps[${i}].name`,
                app.name,
                `a name other than ${RESERVED_USER_NAMES.join(", ")} (Redis ACL users of the platform)`,
            );
        }
        if (app.redisDb >= redis.databases) {
            report(
                ctx,
                `data-platform:apps[${i}].redisDb`,
                app.redisDb,
                `an index from 1 to ${redis.databases - 1} (data-platform:redis.databases is ${redis.databases})`,
            );
        }
    });
    if (redis.mode === "standalone") {
        return;
    }
    if (redis.sentinels < 3 || redis.sentinels % 2 === 0) {
        report(ctx, `${path}.sentinels`, redis.sentinels, "an odd number of at least 3 in sentinel mode");
    }
    if (redis.quorum <= Math.floor(redis.sentinels / 2) || redis.quorum > redis.sentinels) {
        report(
            ctx,
            `${path}.quorum`,
            redis.quorum,
            `a majority of the ${redis.sentinels} Sentinels (${Math.floor(redis.sentinels / 2) + 1} to ${redis.sentinels})`,
        );
    }
    if (redis.replicas < 2) {
        report(
            ctx,
            `${path}.replicas`,
            redis.replicas,
            "at least 2 data pods in sentinel mode (a master and a replica; 3 recommended)",
        );
    }
};

const keyVaultChecks: Check = (config, ctx) => {
    const path = "data-platform:keyVault";
    if (!config.keyVault.publicNetworkAccess && config.keyVault.allowedIpRanges.length > 0) {
        report(
            ctx,
            `${path}.allowedIpRanges`,
            config.keyVault.allowedIpRanges,
            "no ranges while publicNetworkAccess is false",
        );
    }
    if (!config.keyVault.existingVaultId && !config.keyVault.publicNetworkAccess && !config.keyVault.privateEndpoint) {
        report(
            ctx,
            `${path}.privateEndpoint`,
            undefined,
            "a private endpoint (subnetId, privateDnsZoneId) while publicNetworkAccess is false: External Secrets could not reach the vault otherwise",
        );
    }
    // A rotation under a mistyped id would silently rotate nothing.
    const ids = platformCredentialIds(config);
    for (const id of Object.keys(config.keyVault.rotations)) {
        if (!ids.includes(id)) {
            report(ctx, `${path}.rotations.${id} (key)`, id, `a credential id of this stack: ${ids.join(", ")}`);
        }
    }
};

export const sectionChecks: readonly Check[] = [postgresChecks, redisChecks, keyVaultChecks];

function ipToNumber(ip: string): number {
    return ip.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
}
