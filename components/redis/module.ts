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
import { redisGroupOf, redisGroupSettings, redisGroups, redisMoveOf } from "./groups";
import { createRedisMoveJob, redisMovesTo, redisRetiresFrom } from "./move";
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
    // An application moving here (`apps[].redis.movedFrom`) gets a copy Job after this group's ACL sync; its bundle
    // waits for that too, so its Secret names this group only once its keys are here. Its users stay on the old group,
    // off, until `retireOld` deletes them and a Job of the old group deletes its keys there.
    moveOf: redisMoveOf,
    create: (name, group, args, opts) => {
        const { config, namespace, credentials, vault, secretSync, oidcIssuerUrl, tenant } = args;
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
                movedOutApps: config.movedOutApps,
                // A Job of a move reaches its data nodes: an application moves here, or off it, or its old copy here is
                // deleted.
                moveJobs:
                    redisMovesTo(config, group).length +
                        (config.movedOutApps ?? []).length +
                        redisRetiresFrom(config, group).length >
                    0,
                credentials,
                vault,
                secretSync,
                storageClass: config.cluster.storageClass,
                tenantStacks: Object.keys(config.tenants),
            },
            opts,
        );
        const copies = new Map(
            redisMovesTo(config, group).map(({ app, from }) => [
                app.name,
                createRedisMoveJob(redis, name, args, "copy", { app, from, to: group }, [redis.credentialsAccepted]),
            ]),
        );
        // Nothing waits for a deletion: the application already uses its new group.
        for (const move of redisRetiresFrom(config, group)) {
            createRedisMoveJob(redis, name, args, "retire", move, [redis.credentialsAccepted]);
        }
        return {
            env: (app) => redis.env(app),
            ready: [redis.credentialsAccepted],
            readyFor: (app) => [redis.credentialsAccepted, ...[copies.get(app.name) ?? []].flat()],
            outputs: { redisEndpoints: pulumi.output(redis.clientEndpoints) },
        };
    },
});
