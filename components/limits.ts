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
import { dataAclPartPlan, redisTenants, tenantDataAclPartPlan } from "./redis/acl";
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
 * What a tenant stack grants its platform's store identity (which it does not create: `PlatformStoreReader`), one read
 * per secret it writes for that store: its login Job's key, on each server it uses its logins' verifiers (in parts),
 * and on each group it uses its users file (in parts).
 */
function tenantPlatformStoreGrants(config: PlatformConfig): number {
    const servers = postgresServers(config.postgres)
        .map((server) => postgresServerConfig(config, server))
        .filter((server) => server.apps.length > 0);
    // Its Job keeps only its applications' logins (the monitoring login is the platform's).
    const verifiers = servers.reduce(
        (sum, server) => sum + loginVerifierParts(appLogins(server.apps, config.keyVault.rotations)).length,
        0,
    );
    const users = redisGroups(config.redis).reduce((sum, group) => {
        const apps = config.apps.filter((app) => redisGroupOf(app) === group);
        const redis = redisGroupSettings(config.redis, group);
        return sum + (apps.length === 0 ? 0 : tenantDataAclPartPlan(redisTenants(redis, apps)).length);
    }, 0);
    return (servers.length > 0 ? 1 : 0) + verifiers + users;
}

/**
 * Every user-assigned identity the program creates for `config`: the platform store's (a platform stack's), each
 * application's store's (reads its bundle and, in a tenant stack, its Sentinel group's client password, which the
 * platform holds), each exporting application's and each backed-up Redis group's Blob writer (a platform stack's).
 */
export function plannedIdentities(config: PlatformConfig): PlannedIdentity[] {
    const stack = config.azure.resourceGroupName;
    const tenant = config.tenantStack !== undefined;
    const writer = (purpose: string, resourceGroupName: string, roleAssignments = 1): PlannedIdentity => ({
        purpose,
        resourceGroupName,
        federatedCredentials: 1,
        roleAssignments,
    });
    const platformKeys = (app: AppConfig) =>
        tenant && redisGroupSettings(config.redis, redisGroupOf(app)).mode === "sentinel" ? 1 : 0;
    const groupWriters = redisGroups(config.redis)
        .filter((group) => redisGroupSettings(config.redis, group).backup !== undefined && config.backups)
        .map((group) => writer(`Redis group ${group}'s backup`, stack));
    return [
        ...(tenant
            ? []
            : [
                  {
                      purpose: "the platform store",
                      resourceGroupName: stack,
                      federatedCredentials: 1,
                      roleAssignments: platformGrants(config),
                  },
              ]),
        ...config.apps.flatMap((app) => [
            writer(
                `application ${app.name}'s store`,
                appIdentityResourceGroup(config.azure, app),
                1 + platformKeys(app),
            ),
            ...(app.backup && config.backups
                ? [writer(`application ${app.name}'s export`, appIdentityResourceGroup(config.azure, app))]
                : []),
        ]),
        ...(tenant ? [] : groupWriters),
    ];
}

/** The stack's use of each counted limit: role assignments, identities per resource group, credentials per identity. */
export interface AzureFootprint {
    readonly roleAssignments: number;
    readonly identitiesByResourceGroup: ReadonlyMap<string, number>;
    readonly mostFederatedCredentials: number;
}

/** The stack's footprint (a tenant stack's: its own identities and the grants it gives its platform's store). */
export function azureFootprint(config: PlatformConfig): AzureFootprint {
    const identities = plannedIdentities(config);
    const storeGrants = config.tenantStack !== undefined ? tenantPlatformStoreGrants(config) : 0;
    const identitiesByResourceGroup = new Map<string, number>();
    for (const identity of identities) {
        identitiesByResourceGroup.set(
            identity.resourceGroupName,
            (identitiesByResourceGroup.get(identity.resourceGroupName) ?? 0) + 1,
        );
    }
    return {
        roleAssignments: identities.reduce((sum, identity) => sum + identity.roleAssignments, storeGrants),
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

/** One stack's footprint in its environment: the subscription its resources are in (its platform's, for a tenant). */
export interface StackFootprint {
    readonly stack: string;
    /** The subscription (`azure-native:subscriptionId`), or `platform stack <name>` when its file sets none. */
    readonly subscription: string;
    readonly footprint: AzureFootprint;
}

/** `items` largest first, the first `max` named, then how many more. */
function largestStacks(items: ReadonlyArray<{ stack: string; count: number }>, max = 5): string {
    const sorted = [...items].sort((a, b) => b.count - a.count || a.stack.localeCompare(b.stack));
    const named = sorted.slice(0, max).map((i) => `${i.stack} ${i.count}`);
    return sorted.length > max ? `${named.join(", ")} and ${sorted.length - max} more` : named.join(", ");
}

/** The role assignments and identities per resource group of several stacks, summed per subscription. */
export interface EnvironmentUse {
    readonly limit: "roleAssignments" | "identitiesPerResourceGroup";
    /** The subscription, and for identities the resource group. */
    readonly scope: string;
    readonly used: number;
    readonly stacks: ReadonlyArray<{ stack: string; count: number }>;
}

/**
 * What stacks sharing a subscription use together of the limits Azure counts across them: role assignments per
 * subscription and user-assigned identities per resource group (a platform stack and its tenant stacks share both; a
 * stack's own check sees only its own). Largest use of each limit first.
 */
export function environmentUse(stacks: readonly StackFootprint[]): EnvironmentUse[] {
    const uses = new Map<string, { limit: EnvironmentUse["limit"]; scope: string; stacks: Map<string, number> }>();
    const add = (limit: EnvironmentUse["limit"], scope: string, stack: string, count: number) => {
        const key = `${limit} ${scope}`;
        const use = uses.get(key) ?? { limit, scope, stacks: new Map<string, number>() };
        use.stacks.set(stack, (use.stacks.get(stack) ?? 0) + count);
        uses.set(key, use);
    };
    for (const { stack, subscription, footprint } of stacks) {
        add("roleAssignments", `subscription ${subscription}`, stack, footprint.roleAssignments);
        for (const [group, count] of footprint.identitiesByResourceGroup) {
            add("identitiesPerResourceGroup", `resource group ${group} (subscription ${subscription})`, stack, count);
        }
    }
    return [...uses.values()]
        .map(({ limit, scope, stacks }) => {
            const counts = [...stacks].map(([stack, count]) => ({ stack, count }));
            return { limit, scope, used: counts.reduce((sum, c) => sum + c.count, 0), stacks: counts };
        })
        .sort((a, b) => a.limit.localeCompare(b.limit) || b.used - a.used || a.scope.localeCompare(b.scope));
}

/** Each use of `environmentUse` past its documented limit: the limit, the sum, the stacks that fill it, the source. */
export function environmentLimitProblems(stacks: readonly StackFootprint[]): string[] {
    const remedy = {
        roleAssignments: "fewer applications or exports in this subscription, or a platform in another subscription",
        identitiesPerResourceGroup:
            "place applications' identities in other resource groups (apps[].identityResourceGroupName)",
    };
    return environmentUse(stacks)
        .filter((use) => use.used > LIMITS[use.limit].max)
        .map(
            (use) =>
                `${use.scope}: ${use.used} ${LIMITS[use.limit].unit} across ${use.stacks.length} stacks ` +
                `(${largestStacks(use.stacks)}), over ${overLimit(LIMITS[use.limit], remedy[use.limit])}`,
        );
}
