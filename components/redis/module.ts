/**
 * Redis as a data service module: read this file to know what the service brings to a stack. It implements
 * `DataServiceModule` (`../serviceModule.ts`) and is listed in the catalog (`../services.ts`).
 */
import * as pulumi from "@pulumi/pulumi";
import { redisSchema } from "../config/redis";
import { dataService } from "../serviceModule";
import { redisConfigRules, uniqueRedisDatabases } from "./configRules";
import { redisContract } from "./contract";
import { redisCredentialIds } from "./credentials";
import { redisGroupOf, redisGroupSettings, redisGroups } from "./groups";
import { Redis } from "./redis";
import { TenantRedis } from "./tenant";

export const redisModule = dataService({
    name: "redis",
    configSchema: (profile) => redisSchema(profile).prefault({}).describe("Redis."),
    appRules: uniqueRedisDatabases,
    configRules: redisConfigRules,
    credentials: {
        // Roles (admin, monitor; replication and Sentinel in sentinel mode) and one ACL user per application database.
        ids: redisCredentialIds,
        // Redis users accept their previous password too, until the next rotation.
        keepPrevious: redisCredentialIds,
    },
    // `REDIS_*` of the mode, `REDIS_CA_CERT` with a known CA, `REDIS_<NAME>_*` per extra database.
    contract: redisContract,
    // A Sentinel group or one standalone pod; applications wait until every node accepts the current passwords.
    // The section's own group (`default`) and each of `redis.groups`; an application names its own.
    instances: (config) => redisGroups(config.redis),
    instanceOf: redisGroupOf,
    create: (name, group, { config, namespace, credentials, vault, secretSync, oidcIssuerUrl, tenant }, opts) => {
        // In a tenant stack, only its applications' contract on its platform's group (`TenantRedis`).
        if (tenant) {
            const part = new TenantRedis(
                name,
                {
                    config: redisGroupSettings(config.redis, group),
                    namespace,
                    apps: config.apps,
                    credentials,
                    secretPrefix: config.keyVault.secretPrefix ?? "",
                    vault,
                    secretSync,
                    tenant,
                },
                opts,
            );
            return {
                env: (app) => part.env(app),
                platformKeys: (app) => part.platformKeys(app),
                ready: [part.usersLoaded],
            };
        }
        const redis = new Redis(
            name,
            {
                config: redisGroupSettings(config.redis, group),
                // `redis.backup` uploads to `backups` (the config rules require it then).
                backup:
                    config.backups && oidcIssuerUrl !== undefined
                        ? {
                              backups: config.backups,
                              oidcIssuerUrl,
                              azure: config.azure,
                              vaultName: config.keyVault.name,
                          }
                        : undefined,
                namespace,
                apps: config.apps,
                credentials,
                vault,
                secretSync,
                storageClass: config.cluster.storageClass,
                tenantStacks: Object.keys(config.tenants),
            },
            opts,
        );
        return {
            env: (app) => redis.env(app),
            ready: [redis.credentialsAccepted],
            outputs: { redisEndpoints: pulumi.output(redis.clientEndpoints) },
        };
    },
});
