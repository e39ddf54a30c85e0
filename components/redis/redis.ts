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
import { RedisPasswords, extraDatabaseUserName, renderDataAcl, renderSentinelAcl } from "./acl";
import { REDIS_SECRET_ENV_KEYS, redisEnv, redisEnvKeys, redisExtraEnvKeys } from "./env";
import { aclCredentialIds, REDIS_SENTINEL_CLIENT_CREDENTIAL, redisAppCredentialId } from "./credentials";
import { renderFiles } from "./files";
import { NAMES, REDIS_COMPONENT_TYPE, RedisLayout, kubernetesLayout } from "./layout";
import {
    ACL_CONTENT_TYPE,
    ACL_SECRET_NAMES,
    RedisGroup,
    authSecretData,
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
} from "./spec";

export interface RedisArgs {
    /** The validated `redis` section. */
    readonly config: RedisConfig;
    /** The platform namespace (must exist); pods, Services and the synced Secret live there. */
    readonly namespace: string;
    /** Applications: one ACL user each (database index, key patterns). */
    readonly apps: readonly AppConfig[];
    /** Passwords of every id in `redisCredentialIds`. */
    readonly credentials: CredentialSource;
    /** Stores the rendered ACL files. */
    readonly vault: VaultWriter;
    /** Syncs the ACL files and the plaintext-needed passwords into the namespace. */
    readonly secretSync: SecretSyncer;
    /** `protect` the StatefulSets (their volumes hold the data); they are retained on delete regardless. */
    readonly protect: boolean;
    readonly storageClass: string;
    /** What the synced Secret waits for besides the ACL files (e.g. the credentials' Key Vault secrets). Default: none. */
    readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** Every plaintext password the ACL files are rendered from (the roles of the mode, and one per application user). */
function aclPasswords(
    redis: RedisConfig,
    apps: readonly AppConfig[],
    credentials: CredentialSource,
): pulumi.Output<RedisPasswords> {
    const ids = aclCredentialIds({ redis, apps });
    // Current and previous passwords of every role and application user: a user accepts both until the next rotation.
    const byRole = (map: Readonly<Record<string, string>>, read: (id: string) => pulumi.Output<string>) =>
        pulumi.all(Object.fromEntries(Object.entries(map).map(([key, id]) => [key, read(id)])));
    const of = (read: (id: string) => pulumi.Output<string>) =>
        pulumi.all({ roles: byRole(ids.roles, read), apps: byRole(ids.apps, read) });
    return pulumi
        .all([of((id) => credentials.password(id)), of((id) => credentials.previousPassword(id))])
        .apply(([current, previous]) => ({
            ...(current.roles as Omit<RedisPasswords, "apps" | "previous"> & Record<string, string>),
            apps: current.apps,
            previous: { ...previous.roles, apps: previous.apps },
        }));
}

export class Redis extends pulumi.ComponentResource implements DataService {
    private readonly redis: RedisConfig;
    private readonly layout: RedisLayout;
    private readonly credentials: CredentialSource;

    constructor(name: string, args: RedisArgs, opts?: pulumi.ComponentResourceOptions) {
        // Only non-secret settings: the sandbox re-renders the files from them.
        super(REDIS_COMPONENT_TYPE, name, { config: args.config, namespace: args.namespace }, opts);
        const redis = args.config;
        const ns = args.namespace;
        const sentinelMode = redis.mode === "sentinel";
        this.redis = redis;
        this.credentials = args.credentials;
        this.layout = kubernetesLayout(redis, ns);
        const parent = { parent: this };

        // ACL files: rendered from the passwords, stored (hashes only, still secret) in Key Vault, synced back.
        const passwords = aclPasswords(redis, args.apps, args.credentials);
        args.vault.writeSecret(
            `${name}-acl-data`,
            {
                secretName: ACL_SECRET_NAMES.data,
                value: pulumi.secret(passwords.apply((p) => renderDataAcl(redis.mode, args.apps, p))),
                contentType: ACL_CONTENT_TYPE,
            },
            parent,
        );
        if (sentinelMode) {
            args.vault.writeSecret(
                `${name}-acl-sentinel`,
                {
                    secretName: ACL_SECRET_NAMES.sentinel,
                    value: pulumi.secret(passwords.apply((p) => renderSentinelAcl(p))),
                    contentType: ACL_CONTENT_TYPE,
                },
                parent,
            );
        }
        const authSecret = args.secretSync.syncSecret(
            `${name}-auth`,
            {
                namespace: ns,
                secretName: NAMES.auth,
                data: authSecretData(
                    redis,
                    (id) => args.credentials.secretName(id),
                    (id) => args.credentials.previousSecretName(id),
                ),
                // SecretSync waits for the Key Vault secrets read and carries their versions; every Redis password is
                // in an ACL file, so a new app or a rotation re-syncs at once, not at the refresh.
                dependsOn: args.dependsOn,
            },
            parent,
        );

        const files = renderFiles(redis, this.layout);
        const configMap = new k8s.core.v1.ConfigMap(`${name}-config`, configMapArgs(files, ns), parent);

        const tlsReady: pulumi.Resource[] = [];
        if (redis.tls && !redis.tlsSecretName) {
            tlsReady.push(new k8s.apiextensions.CustomResource(`${name}-cert`, certificate(redis, ns), parent));
        }

        // The StatefulSets hold the data: protected (if asked), kept on delete, started once their Secrets exist.
        const stateful = {
            parent: this,
            protect: args.protect,
            retainOnDelete: true,
            dependsOn: [authSecret, ...tlsReady],
        };
        const group = (component: RedisGroup): pulumi.Resource => {
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
                    group: component,
                    serviceName: service.metadata.name,
                    configMapName: configMap.metadata.name,
                    checksum: configChecksum(files, component),
                    storageClass: args.storageClass,
                }),
                stateful,
            );
            new k8s.networking.v1.NetworkPolicy(
                `${name}-${component}-netpol`,
                networkPolicy(redis, component, ns),
                parent,
            );
            return set;
        };
        const workloads = [group("data")];
        if (!sentinelMode) {
            new k8s.core.v1.Service(`${name}-standalone-svc`, standaloneService(ns), parent);
        }
        if (sentinelMode) {
            workloads.push(group("sentinel"));
            for (const component of ["data", "sentinel"] as const) {
                new k8s.policy.v1.PodDisruptionBudget(
                    `${name}-${component}-pdb`,
                    podDisruptionBudget(component, ns),
                    parent,
                );
            }
        }

        if (redis.monitoring) {
            new k8s.apiextensions.CustomResource(`${name}-monitor`, serviceMonitor(redis, ns), {
                parent: this,
                dependsOn: workloads,
            });
            new k8s.apiextensions.CustomResource(`${name}-alerts`, prometheusRule(redis, ns), parent);
        }

        this.registerOutputs({
            mode: redis.mode,
            sentinelHosts: this.layout.sentinels.map((s) => `${s.host}:${s.port}`),
        });
    }

    /** The application's Redis contract; password-bearing values are secret. */
    env(app: AppConfig): Env {
        const sentinelMode = this.redis.mode === "sentinel";
        const password = this.credentials.password(redisAppCredentialId(app.name));
        const extraPasswords = pulumi.all(
            Object.fromEntries(
                app.redisExtraDatabases.map((extra) => [
                    extra.name,
                    this.credentials.password(redisAppCredentialId(extraDatabaseUserName(app, extra))),
                ]),
            ),
        );
        const sentinelPassword = sentinelMode
            ? this.credentials.password(REDIS_SENTINEL_CLIENT_CREDENTIAL)
            : pulumi.output("");
        const blankExtras = Object.fromEntries(app.redisExtraDatabases.map((extra) => [extra.name, ""]));
        const plain = redisEnv({
            redis: this.redis,
            layout: this.layout,
            app,
            password: "",
            extraPasswords: blankExtras,
            sentinelPassword: "",
        });
        const full = pulumi.all([password, extraPasswords, sentinelPassword]).apply(([p, x, s]) =>
            redisEnv({
                redis: this.redis,
                layout: this.layout,
                app,
                password: p,
                extraPasswords: x,
                sentinelPassword: s,
            }),
        );
        const keys = [
            ...redisEnvKeys(this.redis).map((key) => ({ key, base: key })),
            ...redisExtraEnvKeys(this.redis.mode, app),
        ];
        const env: Env = {};
        for (const { key, base } of keys) {
            env[key] = REDIS_SECRET_ENV_KEYS.includes(base) ? pulumi.secret(full.apply((e) => e[key])) : plain[key];
        }
        return env;
    }
}
