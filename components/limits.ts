/**
 * Documented limits a stack's Azure footprint counts against, and what a configuration would create of each: pure, so
 * the config refuses a stack over one before anything is registered. The objects whose size grows with applications
 * are checked by their services' rules (`LOGIN_JOB_FILES_MAX_BYTES`, `REDIS_USERS_FILE_MAX_BYTES`; Key Vault values are
 * kept in parts, `vault/parts.ts`). `tests/unit/config/azureLimits.test.ts` compares these counts with recorded plans.
 */
import type { AppConfig } from "./config/platform";
import { ConfigRule, PROJECT, PlatformConfig } from "./config/types";
import { report } from "./config/issues";
import { postgresServerConfig, postgresServers } from "./postgres/servers";
import { appLogins, loginSqlOptions, loginVerifierParts } from "./postgres/sql";
import { redisGroupOf, redisGroupSettings, redisGroups } from "./redis/groups";
import { dataAclPartPlan, redisTenants } from "./redis/acl";
import { platformCredentialIds } from "./vault/credentialIds";
import { LIMITS } from "./documentedLimits";

export { LIMITS } from "./documentedLimits";
export type { DocumentedLimit } from "./documentedLimits";

/** One user-assigned identity the stack creates: where, and what it is federated with and granted. */
export interface PlannedIdentity {
    readonly purpose: string;
    readonly resourceGroupName: string;
    readonly federatedCredentials: number;
    readonly roleAssignments: number;
}

/** The resource group of an application's identities: its own `identityResourceGroupName`, else the stack's. */
export function appIdentityResourceGroup(azure: { readonly resourceGroupName: string }, app: AppConfig): string {
    return app.identityResourceGroupName ?? azure.resourceGroupName;
}

/**
 * The Key Vault secrets the platform's store reads, one grant each: the platform's credentials, each server's login
 * verifiers (in parts), each group's users file (in parts) and, in Sentinel mode, its Sentinels' users file.
 */
function platformGrants(config: PlatformConfig): number {
    const credentials = platformCredentialIds({ ...config, apps: [] }).length;
    const verifiers = postgresServers(config.postgres).reduce((sum, server) => {
        const serverConfig = postgresServerConfig(config, server);
        return sum + loginVerifierParts(appLogins(serverConfig.apps), loginSqlOptions(serverConfig)).length;
    }, 0);
    const users = redisGroups(config.redis).reduce((sum, group) => {
        const redis = redisGroupSettings(config.redis, group);
        const apps = config.apps.filter((app) => redisGroupOf(app) === group);
        const parts = dataAclPartPlan(redis.mode, redisTenants(redis, apps), redis.backup !== undefined).length;
        return sum + parts + (redis.mode === "sentinel" ? 1 : 0);
    }, 0);
    return credentials + verifiers + users;
}

/**
 * Every user-assigned identity the program creates for `config`: the platform store's, each application's store's
 * (reads its bundle), each exporting application's and each backed-up Redis group's Blob writer.
 */
export function plannedIdentities(config: PlatformConfig): PlannedIdentity[] {
    const stack = config.azure.resourceGroupName;
    const writer = (purpose: string, resourceGroupName: string): PlannedIdentity => ({
        purpose,
        resourceGroupName,
        federatedCredentials: 1,
        roleAssignments: 1,
    });
    const groupWriters = redisGroups(config.redis)
        .filter((group) => redisGroupSettings(config.redis, group).backup !== undefined && config.backups)
        .map((group) => writer(`Redis group ${group}'s backup`, stack));
    return [
        {
            purpose: "the platform store",
            resourceGroupName: stack,
            federatedCredentials: 1,
            roleAssignments: platformGrants(config),
        },
        ...config.apps.flatMap((app) => [
            writer(`application ${app.name}'s store`, appIdentityResourceGroup(config.azure, app)),
            ...(app.backup && config.backups
                ? [writer(`application ${app.name}'s export`, appIdentityResourceGroup(config.azure, app))]
                : []),
        ]),
        ...groupWriters,
    ];
}

/** The stack's use of each counted limit: role assignments, identities per resource group, credentials per identity. */
export interface AzureFootprint {
    readonly roleAssignments: number;
    readonly identitiesByResourceGroup: ReadonlyMap<string, number>;
    readonly mostFederatedCredentials: number;
}

export function azureFootprint(config: PlatformConfig): AzureFootprint {
    const identities = plannedIdentities(config);
    const identitiesByResourceGroup = new Map<string, number>();
    for (const identity of identities) {
        identitiesByResourceGroup.set(
            identity.resourceGroupName,
            (identitiesByResourceGroup.get(identity.resourceGroupName) ?? 0) + 1,
        );
    }
    return {
        roleAssignments: identities.reduce((sum, identity) => sum + identity.roleAssignments, 0),
        identitiesByResourceGroup,
        mostFederatedCredentials: Math.max(...identities.map((identity) => identity.federatedCredentials)),
    };
}

/** The allowed text of a refusal: the limit, its source and what to change. */
function overLimit(limit: (typeof LIMITS)[keyof typeof LIMITS], remedy: string): string {
    return `at most ${limit.max} ${limit.unit}: ${limit.source}; ${remedy}`;
}

/**
 * Refuses a stack whose Azure footprint passes a documented limit, naming the key, the count and the limit. Federated
 * credentials need no check: every identity has exactly one (`mostFederatedCredentials` is reported as headroom).
 */
export const azureLimitRules: ConfigRule = (config, ctx) => {
    const footprint = azureFootprint(config);
    if (footprint.roleAssignments > LIMITS.roleAssignments.max) {
        report(
            ctx,
            `${PROJECT}:apps`,
            `${config.apps.length} applications (${footprint.roleAssignments} role assignments)`,
            overLimit(
                LIMITS.roleAssignments,
                "one per application, one more per exporting application (apps[].backup) and the platform store's; " +
                    "fewer applications or exports in this subscription (other stacks and assignments count too)",
            ),
        );
    }
    for (const [resourceGroup, count] of footprint.identitiesByResourceGroup) {
        if (count > LIMITS.identitiesPerResourceGroup.max) {
            const key =
                resourceGroup === config.azure.resourceGroupName
                    ? `${PROJECT}:azure.resourceGroupName`
                    : `${PROJECT}:apps[].identityResourceGroupName`;
            report(
                ctx,
                key,
                `${resourceGroup} (${count} user-assigned identities)`,
                overLimit(
                    LIMITS.identitiesPerResourceGroup,
                    "place applications' identities in other resource groups (apps[].identityResourceGroupName)",
                ),
            );
        }
    }
};
