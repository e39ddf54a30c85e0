/**
 * A tenant stack's part of a Redis group of its platform stack: its applications' users and contract, from the group's
 * settings alone. The Sentinels' client password is the platform's: the application's ExternalSecret reads it from the
 * platform's Key Vault secret (`platformKeys`), so no credential crosses stacks through Pulumi.
 *
 * Its users (issue 26 item 7): this stack renders its applications' users file (`renderTenantDataAcl`, hashes only,
 * ending with its own marker), writes it in parts into the platform's vault under fixed names derived from its stack
 * (`tenantDataAclSecretName`), and syncs it through the platform's store into its own Secret in the platform namespace
 * (`tenantAclSecretName`), which the platform's data nodes project beside `redis-acl` for every tenant stack the
 * platform admits (`data-platform:tenants`). The reload sidecars then apply the platform's users and every tenant's
 * together (a restart loads the same joined aclfile), and its own ACL sync Job waits until every data node took its
 * marker. It holds no platform password: the sidecars apply with theirs; the Job needs none.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { AppConfig } from "../config/platform";
import type { RedisConfig } from "../config/redis";
import type { CredentialSource, DataService, Env, SecretSyncer, VaultWriter } from "../interfaces";
import type { TenantContext } from "../serviceModule";
import { tenantLoginSuffix } from "../postgres/loginJob";
import { credentialSecretName, prefixedSecretName } from "../vault/secretNames";
import { AppPasswords, redisTenants, tenantAclMarker, tenantDataAclPartPlan, tenantDataAclParts } from "./acl";
import { aclCredentialIds, redisRoleCredentials } from "./credentials";
import { redisEnvKeys, redisExtraEnvKeys } from "./env";
import { renderTenantAclSyncFiles, tenantDataAclFile } from "./files";
import { kubernetesLayout } from "./layout";
import { credentialVersion, redisAppEnv } from "./redis";
import {
    ACL_CONTENT_TYPE,
    aclSyncJob,
    aclSyncJobName,
    tenantAclSyncConfigMap,
    tenantAclSecretName,
    tenantDataAclSecretName,
} from "./spec";

/** The contract key whose value is the Sentinels' client password (one per extra database too). */
const SENTINEL_PASSWORD_KEY = "REDIS_SENTINEL_PASSWORD";

export interface TenantRedisArgs {
    /** The group's settings, as its platform stack has them. */
    readonly config: RedisConfig;
    /** The platform namespace, where the group runs (its hosts are named in it). */
    readonly namespace: string;
    /** This stack's applications on the group. */
    readonly apps: readonly AppConfig[];
    /** Their users' passwords (this stack's own credentials). */
    readonly credentials: CredentialSource;
    /** The platform vault's secret prefix (`keyVault.secretPrefix`). */
    readonly secretPrefix: string;
    /** The platform's vault, which this stack writes its users file into. */
    readonly vault: VaultWriter;
    /** Syncs its users file through the platform's store (`tenant.platformStore`). */
    readonly secretSync: SecretSyncer;
    /** This stack beside its platform. */
    readonly tenant: TenantContext;
}

/** The application users' passwords (`read`) and their previous ones (`previous`) in the shape `AppPasswords` has. */
function appPasswordInputs(
    ids: Readonly<Record<string, string>>,
    read: (id: string) => pulumi.Output<string>,
    previous?: (id: string) => pulumi.Output<string>,
): pulumi.Output<AppPasswords> {
    const of = (get: (id: string) => pulumi.Output<string>) =>
        pulumi.all(Object.fromEntries(Object.entries(ids).map(([user, id]) => [user, get(id)])));
    return pulumi
        .all([of(read), previous ? of(previous) : undefined])
        .apply(([apps, before]) => ({ apps, ...(before ? { previous: { apps: before } } : {}) }));
}

export class TenantRedis extends pulumi.ComponentResource implements DataService {
    /** Done once every data node of the group took this stack's users (its ACL sync Job). */
    public readonly usersLoaded: pulumi.Resource;
    private readonly args: TenantRedisArgs;

    constructor(name: string, args: TenantRedisArgs, opts?: pulumi.ComponentResourceOptions) {
        super(
            "data-platform:redis:TenantRedis",
            name,
            { group: args.config.group, apps: args.apps.map((a) => a.name) },
            opts,
        );
        this.args = args;
        const { config: redis, namespace, credentials, vault, tenant } = args;
        const parent = { parent: this };
        const suffix = tenantLoginSuffix(tenant.stack);
        const tenants = redisTenants(redis, args.apps);
        const ids = aclCredentialIds({ redis, apps: args.apps }).apps;
        // Current and previous passwords (a rotated user accepts both until the next rotation, as the platform's do).
        const passwords = appPasswordInputs(
            ids,
            (id) => credentials.password(id),
            (id) => credentials.previousPassword(id),
        );
        // Named by its stack and its passwords' Key Vault versions: changes with any user, rule or password.
        const marker = pulumi.unsecret(
            appPasswordInputs(ids, (id) => credentialVersion(vault, credentials, id)).apply((versions) =>
                tenantAclMarker(tenant.stack, tenants, versions),
            ),
        );
        const parts = pulumi.all([passwords, marker]).apply(([p, m]) => tenantDataAclParts(tenants, p, m));
        const plan = tenantDataAclPartPlan(tenants);
        plan.forEach((_, i) =>
            vault.writeSecret(
                `${name}-acl-data-${i}`,
                {
                    secretName: tenantDataAclSecretName(redis, suffix, i),
                    value: pulumi.secret(parts.apply((all) => all[i])),
                    contentType: ACL_CONTENT_TYPE,
                },
                parent,
            ),
        );
        // Its own Secret, named explicitly per part (no `dataFrom.find`, which lists the whole vault), carrying their
        // versions: a change re-syncs at once.
        const synced = args.secretSync.syncSecret(
            `${name}-acl`,
            {
                namespace,
                secretName: tenantAclSecretName(redis, suffix),
                store: tenant.platformStore,
                data: plan.map((_, i) => ({
                    secretKey: tenantDataAclFile(suffix, i),
                    remoteKey: tenantDataAclSecretName(redis, suffix, i),
                })),
            },
            parent,
        );
        const layout = kubernetesLayout(redis, namespace);
        const configMap = new k8s.core.v1.ConfigMap(
            `${name}-acl-sync-files`,
            tenantAclSyncConfigMap(redis, suffix, renderTenantAclSyncFiles(redis, layout), namespace),
            parent,
        );
        this.usersLoaded = new k8s.batch.v1.Job(
            `${name}-acl-sync`,
            aclSyncJob(
                redis,
                namespace,
                configMap.metadata.name,
                marker,
                marker.apply((m) => `${aclSyncJobName(redis, m)}-${suffix}`),
            ),
            { parent: this, dependsOn: [synced] },
        );
        this.registerOutputs({ apps: args.apps.map((a) => a.name) });
    }

    env(app: AppConfig): Env {
        const { config: redis, namespace, credentials } = this.args;
        // Stands for the platform's password, which `platformKeys` sources from Key Vault instead.
        const sentinelPassword = pulumi.secret("");
        return redisAppEnv({ redis, layout: kubernetesLayout(redis, namespace), credentials, sentinelPassword }, app);
    }

    /** Keys whose values the platform holds, by the Key Vault secret that holds each. */
    platformKeys(app: AppConfig): Record<string, string> {
        const redis = this.args.config;
        if (redis.mode !== "sentinel") {
            return {};
        }
        const secret = prefixedSecretName(
            this.args.secretPrefix,
            credentialSecretName(redisRoleCredentials(redis).sentinelClient),
        );
        const keys = [...redisEnvKeys(redis).map((key) => ({ key, base: key })), ...redisExtraEnvKeys(redis.mode, app)];
        return Object.fromEntries(keys.filter((k) => k.base === SENTINEL_PASSWORD_KEY).map((k) => [k.key, secret]));
    }
}
