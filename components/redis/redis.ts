/**
 * Redis for the platform: a Sentinel group (data StatefulSet + Sentinel StatefulSet) or one
 * standalone pod, configured from the rendered files, with ACL credentials from Key Vault.
 * Wiring only: the objects' shapes are in `spec.ts`.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { AppConfig } from "../config/platform";
import type { RedisConfig } from "../config/redis";
import type { CredentialSource, DataService, Env, SecretSyncer, VaultWriter } from "../interfaces";
import {
    RedisPasswords,
    RedisTenant,
    aclMarker,
    dataAclPartPlan,
    dataAclParts,
    extraDatabaseUserName,
    redisTenants,
    renderSentinelAcl,
} from "./acl";
import { REDIS_SECRET_ENV_KEYS, redisClientEndpoints, redisEnv, redisEnvKeys, redisExtraEnvKeys } from "./env";
import { aclCredentialIds, redisAppCredentialId, redisRoleCredentials } from "./credentials";
import { dashboardConfigMap } from "../dashboards";
import { RedisBackup, RedisBackupArgs } from "./backup";
import { MasterEndpoint } from "./endpoint";
import { renderFiles } from "./files";
import { tenantLoginSuffix } from "../postgres/loginJob";
import { REDIS_COMPONENT_TYPE, RedisLayout, kubernetesLayout, redisNames } from "./layout";
import { redisDashboard } from "./monitoring";
import {
    ACL_CONTENT_TYPE,
    RedisRole,
    aclSecretData,
    aclSyncJob,
    aclSyncJobName,
    authSecretData,
    dataAclSecretName,
    certificate,
    configChecksum,
    configMapArgs,
    headlessService,
    networkPolicy,
    podDisruptionBudget,
    prometheusRule,
    serviceMonitor,
    standaloneService,
    statefulSet,
    volumeClaimPatch,
} from "./spec";

export interface RedisArgs {
    /** The validated `redis` section. */
    readonly config: RedisConfig;
    /** The platform namespace (must exist); pods, Services and the synced Secret live there. */
    readonly namespace: string;
    /** Applications: one ACL user each (database index, key patterns). */
    readonly apps: readonly AppConfig[];
    /** Applications moved to another group (`apps[].redis.movedFrom`): their users stay here, off, until `retireOld`. */
    readonly movedOutApps?: readonly AppConfig[];
    /** A move Job copies to or from this group: its data nodes let it in. Default: none. */
    readonly moveJobs?: boolean;
    /** Passwords of every id in `redisCredentialIds`. */
    readonly credentials: CredentialSource;
    /** Stores the rendered ACL files. */
    readonly vault: VaultWriter;
    /** Syncs the ACL files and the plaintext-needed passwords into the namespace. */
    readonly secretSync: SecretSyncer;
    readonly storageClass: string;
    /** What the synced Secret waits for besides the ACL files (e.g. the credentials' Key Vault secrets). Default: none. */
    readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
    /** The tenant stacks the platform admits (`data-platform:tenants`): their users files load with the platform's. */
    readonly tenantStacks?: readonly string[];
    /** Where `redis.backup` uploads to, and as whom (`RedisBackup`); unset: the stack has no `backups`. */
    readonly backup?: Pick<RedisBackupArgs, "backups" | "oidcIssuerUrl" | "azure" | "vaultName">;
}

/**
 * What the ACL files are rendered from, in the shape of `RedisPasswords`: `read(id)` of every role and application
 * user of the mode, and `previous(id)` as their previous values when given.
 */
function aclInputs(
    redis: RedisConfig,
    apps: readonly AppConfig[],
    read: (id: string) => pulumi.Output<string>,
    previous?: (id: string) => pulumi.Output<string>,
): pulumi.Output<RedisPasswords> {
    const ids = aclCredentialIds({ redis, apps });
    const byRole = (map: Readonly<Record<string, string>>, of: (id: string) => pulumi.Output<string>) =>
        pulumi.all(Object.fromEntries(Object.entries(map).map(([key, id]) => [key, of(id)])));
    const all = (of: (id: string) => pulumi.Output<string>) =>
        pulumi.all({ roles: byRole(ids.roles, of), apps: byRole(ids.apps, of) });
    return pulumi.all([all(read), previous ? all(previous) : undefined]).apply(([current, before]) => ({
        ...(current.roles as Omit<RedisPasswords, "apps" | "previous"> & Record<string, string>),
        apps: current.apps,
        ...(before ? { previous: { ...before.roles, apps: before.apps } } : {}),
    }));
}

export class Redis extends pulumi.ComponentResource implements DataService {
    /** Done once every data node and Sentinel accepts the current passwords: what an application's bundle waits for. */
    public readonly credentialsAccepted: pulumi.Resource;
    private readonly redis: RedisConfig;
    private readonly layout: RedisLayout;
    /** Where clients connect (`redisClientEndpoints`): the Sentinels, or the standalone node. */
    public readonly clientEndpoints: string;
    private readonly credentials: CredentialSource;

    constructor(name: string, args: RedisArgs, opts?: pulumi.ComponentResourceOptions) {
        // Only non-secret settings: the sandbox re-renders the files from them.
        super(REDIS_COMPONENT_TYPE, name, { config: args.config, namespace: args.namespace }, opts);
        const redis = args.config;
        const ns = args.namespace;
        const sentinelMode = redis.mode === "sentinel";
        const names = redisNames(redis);
        const tenants: RedisTenant[] = [
            ...redisTenants(redis, args.apps),
            ...redisTenants(redis, args.movedOutApps ?? []).map((app) => ({ ...app, movedOut: true })),
        ];
        this.redis = redis;
        this.credentials = args.credentials;
        this.layout = kubernetesLayout(redis, ns);
        this.clientEndpoints = redisClientEndpoints(redis, this.layout);
        const parent = { parent: this };

        // ACL files: rendered from the passwords (current and previous: a user accepts both until the next
        // rotation), stored (hashes only, still secret) in Key Vault, synced back as `redis-acl`. Each ends with the
        // marker named by the Key Vault versions of those passwords, which the ACL sync Job looks for.
        const passwords = aclInputs(
            redis,
            tenants,
            (id) => args.credentials.password(id),
            (id) => args.credentials.previousPassword(id),
        );
        const marker = pulumi.unsecret(
            aclInputs(redis, tenants, (id) => this.passwordVersion(args.vault, id)).apply((versions) =>
                aclMarker(redis.mode, tenants, versions),
            ),
        );
        // In parts, each under Key Vault's 25 KB: how many is known from the configuration (dataAclPartPlan).
        const dataParts = pulumi.all([passwords, marker]).apply(([p, m]) => dataAclParts(redis.mode, tenants, p, m));
        dataAclPartPlan(redis.mode, tenants, redis.backup !== undefined).forEach((_, i) =>
            args.vault.writeSecret(
                i === 0 ? `${name}-acl-data` : `${name}-acl-data-${i}`,
                {
                    secretName: dataAclSecretName(redis, i),
                    value: pulumi.secret(dataParts.apply((parts) => parts[i])),
                    contentType: ACL_CONTENT_TYPE,
                },
                parent,
            ),
        );
        if (sentinelMode) {
            args.vault.writeSecret(
                `${name}-acl-sentinel`,
                {
                    secretName: names.sentinelUsersFile,
                    value: pulumi.secret(pulumi.all([passwords, marker]).apply(([p, m]) => renderSentinelAcl(p, m))),
                    contentType: ACL_CONTENT_TYPE,
                },
                parent,
            );
        }
        // SecretSync waits for the Key Vault secrets read and carries their versions: a new app or a rotation
        // re-syncs at once, not at the refresh.
        const aclSecret = args.secretSync.syncSecret(
            `${name}-acl`,
            { namespace: ns, secretName: names.acl, data: aclSecretData(redis, tenants), dependsOn: args.dependsOn },
            parent,
        );

        const files = renderFiles(redis, this.layout);
        const configMap = new k8s.core.v1.ConfigMap(`${name}-config`, configMapArgs(redis, files, ns), parent);

        const tlsReady: pulumi.Resource[] = [];
        if (redis.tls && !redis.tlsSecretName) {
            tlsReady.push(new k8s.apiextensions.CustomResource(`${name}-cert`, certificate(redis, ns), parent));
        }

        // Passwords are handed out (`redis-auth`, the applications' bundles) only once every server accepts them:
        // `redis-auth` reads the Key Vault versions of this change, so ESO's own refresh, which may fall due before the
        // Job is done, re-reads the versions of the change before (the sidecars would use a new admin password to apply
        // the users file that brings it, and be refused for good).
        this.credentialsAccepted = new k8s.batch.v1.Job(
            `${name}-acl-sync`,
            aclSyncJob(
                redis,
                ns,
                configMap.metadata.name,
                marker,
                marker.apply((m) => aclSyncJobName(redis, m)),
            ),
            { parent: this, dependsOn: [aclSecret, ...tlsReady] },
        );
        const authSecret = args.secretSync.syncSecret(
            `${name}-auth`,
            {
                namespace: ns,
                secretName: names.auth,
                data: authSecretData(redis, (id) => args.credentials.secretName(id)),
                dependsOn: [this.credentialsAccepted, ...(args.dependsOn ?? [])],
                pinVersions: true,
            },
            parent,
        );

        if (redis.backup) {
            if (!args.backup) {
                throw new Error(`${name}: redis.backup needs backups and the cluster's OIDC issuer`);
            }
            new RedisBackup(
                `${name}-backup`,
                { ...args.backup, redis, layout: this.layout, namespace: ns, after: [authSecret] },
                parent,
            );
        }

        // The data is on the claims, which outlive the StatefulSets, and a deleted StatefulSet leaves its pods running
        // (spec.ts `statefulSet`): so neither protect nor retainOnDelete, which would refuse or wedge (the old object
        // left, the new one "already exists") the replacement a larger volume needs. Started once their Secrets exist.
        const stateful = { parent: this, dependsOn: [aclSecret, authSecret, ...tlsReady] };
        const clientNamespaces = [...args.apps, ...(args.movedOutApps ?? [])].map((app) => app.namespace);
        const workload = (component: RedisRole): pulumi.Resource => {
            const service = new k8s.core.v1.Service(
                `${name}-${component}-svc`,
                headlessService(redis, component, ns),
                parent,
            );
            const set = new k8s.apps.v1.StatefulSet(
                `${name}-${component}`,
                statefulSet({
                    redis,
                    layout: this.layout,
                    namespace: ns,
                    role: component,
                    serviceName: service.metadata.name,
                    configMapName: configMap.metadata.name,
                    checksum: configChecksum(files, component),
                    storageClass: args.storageClass,
                    tenantSuffixes: (args.tenantStacks ?? []).map(tenantLoginSuffix),
                }),
                stateful,
            );
            // The running pods' claims, at the configured size: after the StatefulSet, which creates them.
            const pods = component === "data" ? this.layout.dataNodes : this.layout.sentinels;
            pods.forEach(
                (_, ordinal) =>
                    new k8s.core.v1.PersistentVolumeClaimPatch(
                        `${name}-${component}-pvc-${ordinal}`,
                        volumeClaimPatch(redis, component, ordinal, ns, args.storageClass),
                        { parent: this, dependsOn: [set] },
                    ),
            );
            new k8s.networking.v1.NetworkPolicy(
                `${name}-${component}-netpol`,
                networkPolicy(redis, component, ns, clientNamespaces, args.moveJobs),
                parent,
            );
            return set;
        };
        const workloads = [workload("data")];
        if (!sentinelMode) {
            new k8s.core.v1.Service(`${name}-standalone-svc`, standaloneService(redis, ns), parent);
        }
        if (sentinelMode) {
            workloads.push(workload("sentinel"));
            for (const component of ["data", "sentinel"] as const) {
                new k8s.policy.v1.PodDisruptionBudget(
                    `${name}-${component}-pdb`,
                    podDisruptionBudget(redis, component, ns),
                    parent,
                );
            }
            // Clients that do not speak Sentinel: REDIS_URL and REDIS_HOST name this endpoint.
            new MasterEndpoint(
                `${name}-master`,
                {
                    redis,
                    layout: this.layout,
                    namespace: ns,
                    clientNamespaces,
                    monitorPasswordVersion: pulumi.unsecret(
                        this.passwordVersion(args.vault, redisRoleCredentials(redis).monitor),
                    ),
                    dependsOn: [authSecret, ...tlsReady],
                },
                parent,
            );
        }

        if (redis.monitoring) {
            new k8s.apiextensions.CustomResource(`${name}-monitor`, serviceMonitor(redis, ns), {
                parent: this,
                dependsOn: workloads,
            });
            new k8s.apiextensions.CustomResource(`${name}-alerts`, prometheusRule(redis, ns), parent);
            new k8s.core.v1.ConfigMap(
                `${name}-dashboard`,
                dashboardConfigMap(names.data, redis.monitoringNamespace, redisDashboard(redis, ns)),
                parent,
            );
        }

        this.registerOutputs({
            mode: redis.mode,
            sentinelHosts: this.layout.sentinels.map((s) => `${s.host}:${s.port}`),
        });
    }

    private passwordVersion(vault: VaultWriter, id: string): pulumi.Output<string> {
        return credentialVersion(vault, this.credentials, id);
    }

    /** The application's Redis contract; password-bearing values are secret. */
    env(app: AppConfig): Env {
        const sentinelPassword =
            this.redis.mode === "sentinel"
                ? this.credentials.password(redisRoleCredentials(this.redis).sentinelClient)
                : pulumi.output("");
        return redisAppEnv(
            { redis: this.redis, layout: this.layout, credentials: this.credentials, sentinelPassword },
            app,
        );
    }
}

/** The version URI of the Key Vault secret holding credential `id` (names no password). */
export function credentialVersion(
    vault: VaultWriter,
    credentials: CredentialSource,
    id: string,
): pulumi.Output<string> {
    const stored = vault.storedSecret(credentials.secretName(id));
    if (!stored.resource) {
        throw new Error(`credential ${id} is not written by this program, so its version is unknown`);
    }
    return stored.resource.properties.secretUriWithVersion;
}

/** What an application's Redis contract is rendered from. */
export interface RedisAppEnvArgs {
    readonly redis: RedisConfig;
    readonly layout: RedisLayout;
    /** The application users' passwords. */
    readonly credentials: CredentialSource;
    /** The Sentinels' client password (Sentinel mode), or what stands for it. */
    readonly sentinelPassword: pulumi.Output<string>;
}

/** The application's Redis contract (`redisEnv`) as Pulumi values; password-bearing values are secret. */
export function redisAppEnv(args: RedisAppEnvArgs, app: AppConfig): Env {
    const { redis, layout, credentials } = args;
    const password = credentials.password(redisAppCredentialId(app.name));
    const extraPasswords = pulumi.all(
        Object.fromEntries(
            app.redisExtraDatabases.map((extra) => [
                extra.name,
                credentials.password(redisAppCredentialId(extraDatabaseUserName(app, extra))),
            ]),
        ),
    );
    const blankExtras = Object.fromEntries(app.redisExtraDatabases.map((extra) => [extra.name, ""]));
    const plain = redisEnv({ redis, layout, app, password: "", extraPasswords: blankExtras, sentinelPassword: "" });
    const full = pulumi
        .all([password, extraPasswords, args.sentinelPassword])
        .apply(([p, x, s]) => redisEnv({ redis, layout, app, password: p, extraPasswords: x, sentinelPassword: s }));
    const keys = [...redisEnvKeys(redis).map((key) => ({ key, base: key })), ...redisExtraEnvKeys(redis.mode, app)];
    const env: Env = {};
    for (const { key, base } of keys) {
        env[key] = REDIS_SECRET_ENV_KEYS.includes(base) ? pulumi.secret(full.apply((e) => e[key])) : plain[key];
    }
    return env;
}
