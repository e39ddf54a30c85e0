/**
 * Redis for the platform: a Sentinel group (data StatefulSet + Sentinel StatefulSet) or one
 * standalone pod, configured from the rendered files, with ACL credentials from Key Vault.
 */
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { AppConfig } from "../config/platform";
import type { RedisConfig } from "../config/redis";
import type { CredentialSource, DataService, Env, SecretSyncer, VaultWriter } from "../interfaces";
import { CONSUMER_LABEL } from "../labels";
import { RedisPasswords, renderDataAcl, renderSentinelAcl } from "./acl";
import { REDIS_SECRET_ENV_KEYS, redisEnv, redisEnvKeys } from "./env";
import {
    REDIS_ADMIN_CREDENTIAL,
    REDIS_MONITOR_CREDENTIAL,
    REDIS_REPLICATION_CREDENTIAL,
    REDIS_SENTINEL_CLIENT_CREDENTIAL,
    REDIS_SENTINEL_CREDENTIAL,
    redisAppCredentialId,
} from "./credentials";
import { AUTH_FILES, FILES, TERMINATION_GRACE_SECONDS, TLS_FILES, renderFiles } from "./files";
import {
    EXPORTER_PORT,
    NAMES,
    POD_DIRS,
    REDIS_COMPONENT_TYPE,
    REDIS_PORT,
    RedisLayout,
    SENTINEL_PORT,
    kubernetesLayout,
    serviceFqdn,
} from "./layout";
import { redisAlertRules } from "./monitoring";

/** Key Vault secrets holding the rendered ACL files. */
export const ACL_SECRET_NAMES = { data: "redis-users-acl", sentinel: "redis-sentinel-users-acl" } as const;
export const ACL_CONTENT_TYPE = "text/x-redis-acl";
/** uid/gid of the `redis` user in the official image. */
const REDIS_UID = 999;
const SENTINEL_RESOURCES = { cpu: "100m", memory: "128Mi" };
const EXPORTER_RESOURCES = { cpu: "50m", memory: "64Mi" };

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

function labels(component: "data" | "sentinel"): Record<string, string> {
    return {
        "app.kubernetes.io/name": "redis",
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": "data-platform",
    };
}

const CONTAINER_SECURITY: k8s.types.input.core.v1.SecurityContext = {
    runAsNonRoot: true,
    runAsUser: REDIS_UID,
    runAsGroup: REDIS_UID,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
};

const POD_SECURITY: k8s.types.input.core.v1.PodSecurityContext = {
    runAsNonRoot: true,
    runAsUser: REDIS_UID,
    runAsGroup: REDIS_UID,
    fsGroup: REDIS_UID,
    fsGroupChangePolicy: "OnRootMismatch",
    seccompProfile: { type: "RuntimeDefault" },
};

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
        const pw = (id: string) => args.credentials.password(id);
        const passwordInputs: Record<string, pulumi.Output<string>> = {
            admin: pw(REDIS_ADMIN_CREDENTIAL),
            monitor: pw(REDIS_MONITOR_CREDENTIAL),
        };
        if (sentinelMode) {
            Object.assign(passwordInputs, {
                replication: pw(REDIS_REPLICATION_CREDENTIAL),
                sentinel: pw(REDIS_SENTINEL_CREDENTIAL),
                sentinelClient: pw(REDIS_SENTINEL_CLIENT_CREDENTIAL),
            });
        }
        const appPasswords = pulumi.all(
            Object.fromEntries(args.apps.map((a) => [a.name, pw(redisAppCredentialId(a.name))])),
        );
        const passwords: pulumi.Output<RedisPasswords> = pulumi
            .all([pulumi.all(passwordInputs), appPasswords])
            .apply(([roles, apps]) => ({ ...(roles as Omit<RedisPasswords, "apps"> & Record<string, string>), apps }));
        const aclSecrets = [
            args.vault.writeSecret(
                `${name}-acl-data`,
                {
                    secretName: ACL_SECRET_NAMES.data,
                    value: pulumi.secret(passwords.apply((p) => renderDataAcl(redis.mode, args.apps, p))),
                    contentType: ACL_CONTENT_TYPE,
                },
                parent,
            ),
        ];
        if (sentinelMode) {
            aclSecrets.push(
                args.vault.writeSecret(
                    `${name}-acl-sentinel`,
                    {
                        secretName: ACL_SECRET_NAMES.sentinel,
                        value: pulumi.secret(passwords.apply((p) => renderSentinelAcl(p))),
                        contentType: ACL_CONTENT_TYPE,
                    },
                    parent,
                ),
            );
        }
        const synced: [string, string][] = [
            [AUTH_FILES.dataAcl, ACL_SECRET_NAMES.data],
            [AUTH_FILES.admin, args.credentials.secretName(REDIS_ADMIN_CREDENTIAL)],
            [AUTH_FILES.monitor, args.credentials.secretName(REDIS_MONITOR_CREDENTIAL)],
        ];
        if (sentinelMode) {
            synced.push(
                [AUTH_FILES.sentinelAcl, ACL_SECRET_NAMES.sentinel],
                [AUTH_FILES.replication, args.credentials.secretName(REDIS_REPLICATION_CREDENTIAL)],
                [AUTH_FILES.sentinel, args.credentials.secretName(REDIS_SENTINEL_CREDENTIAL)],
                [AUTH_FILES.sentinelClient, args.credentials.secretName(REDIS_SENTINEL_CLIENT_CREDENTIAL)],
            );
        }
        const authSecret = args.secretSync.syncSecret(
            `${name}-auth`,
            {
                namespace: ns,
                secretName: NAMES.auth,
                data: synced.map(([secretKey, remoteKey]) => ({ secretKey, remoteKey })),
                dependsOn: [...aclSecrets, ...(args.dependsOn ?? [])],
            },
            parent,
        );

        const files = renderFiles(redis, this.layout);
        const configMap = new k8s.core.v1.ConfigMap(
            `${name}-config`,
            {
                metadata: { name: NAMES.config, namespace: ns, labels: labels("data") },
                data: files,
            },
            parent,
        );
        // Pods restart when the rendered files change (the Secret's content is not known here; ESO refreshes it in place).
        const checksum = crypto.createHash("sha256").update(JSON.stringify(files)).digest("hex");

        const tlsReady: pulumi.Resource[] = [];
        if (redis.tls && !redis.tlsSecretName) {
            tlsReady.push(
                new k8s.apiextensions.CustomResource(
                    `${name}-cert`,
                    {
                        apiVersion: "cert-manager.io/v1",
                        kind: "Certificate",
                        metadata: { name: NAMES.tls, namespace: ns, labels: labels("data") },
                        spec: {
                            secretName: NAMES.tls,
                            issuerRef: {
                                name: redis.tlsIssuerName,
                                kind: redis.tlsIssuerKind,
                                group: "cert-manager.io",
                            },
                            dnsNames: [NAMES.dataHeadless, NAMES.sentinel].flatMap((svc) => [
                                serviceFqdn(svc, ns),
                                `*.${serviceFqdn(svc, ns)}`,
                            ]),
                            usages: ["server auth", "client auth", "digital signature", "key encipherment"],
                            privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
                            duration: "2160h",
                            renewBefore: "360h",
                        },
                    },
                    parent,
                ),
            );
        }
        const tlsSecretName = redis.tlsSecretName ?? NAMES.tls;

        const metricsPort = redis.monitoring ? [{ name: "metrics", port: EXPORTER_PORT, targetPort: "metrics" }] : [];
        const dataService = new k8s.core.v1.Service(
            `${name}-data-svc`,
            {
                metadata: { name: NAMES.dataHeadless, namespace: ns, labels: labels("data") },
                spec: {
                    clusterIP: "None",
                    // Peers and Sentinels resolve a pod before it is Ready (a replica is not Ready until it synced).
                    publishNotReadyAddresses: true,
                    selector: labels("data"),
                    ports: [{ name: "redis", port: REDIS_PORT, targetPort: "redis" }, ...metricsPort],
                },
            },
            parent,
        );

        const volumes = (component: "data" | "sentinel"): k8s.types.input.core.v1.Volume[] => {
            const keys =
                component === "data"
                    ? [
                          AUTH_FILES.dataAcl,
                          AUTH_FILES.admin,
                          AUTH_FILES.monitor,
                          ...(sentinelMode ? [AUTH_FILES.replication, AUTH_FILES.sentinelClient] : []),
                      ]
                    : [AUTH_FILES.sentinelAcl, AUTH_FILES.sentinel, AUTH_FILES.monitor, AUTH_FILES.sentinelClient];
            return [
                { name: "config", configMap: { name: configMap.metadata.name, defaultMode: 0o444 } },
                {
                    name: "auth",
                    secret: {
                        secretName: NAMES.auth,
                        defaultMode: 0o440,
                        items: keys.map((key) => ({ key, path: key })),
                    },
                },
                ...(redis.tls
                    ? [
                          {
                              name: "tls",
                              secret: {
                                  secretName: tlsSecretName,
                                  defaultMode: 0o440,
                                  items: Object.values(TLS_FILES).map((key) => ({ key, path: key })),
                              },
                          },
                      ]
                    : []),
                // Generated config holds masterauth: keep it in memory only.
                { name: "run", emptyDir: { medium: "Memory", sizeLimit: "16Mi" } },
                { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
            ];
        };
        const mounts = (component: "data" | "sentinel"): k8s.types.input.core.v1.VolumeMount[] => [
            { name: "config", mountPath: POD_DIRS.config, readOnly: true },
            { name: "auth", mountPath: POD_DIRS.auth, readOnly: true },
            ...(redis.tls ? [{ name: "tls", mountPath: POD_DIRS.tls, readOnly: true }] : []),
            { name: "data", mountPath: component === "data" ? POD_DIRS.data : POD_DIRS.sentinelData },
            { name: "run", mountPath: POD_DIRS.run },
            { name: "tmp", mountPath: "/tmp" },
        ];
        const selfEnv = (service: string, port: number): k8s.types.input.core.v1.EnvVar[] => [
            { name: "SELF_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
            { name: "SELF_HOST", value: `$(SELF_NAME).${serviceFqdn(service, ns)}` },
            { name: "SELF_PORT", value: String(port) },
        ];
        const script = (file: string) => ["sh", `${POD_DIRS.config}/${file}`];
        const exporter = (service: string, port: number): k8s.types.input.core.v1.Container[] =>
            redis.monitoring
                ? [
                      {
                          name: "exporter",
                          image: redis.exporterImage,
                          env: [
                              ...selfEnv(service, port),
                              { name: "REDIS_ADDR", value: `${redis.tls ? "rediss" : "redis"}://$(SELF_HOST):${port}` },
                              { name: "REDIS_USER", value: "monitor" },
                              {
                                  name: "REDIS_PASSWORD",
                                  valueFrom: { secretKeyRef: { name: NAMES.auth, key: AUTH_FILES.monitor } },
                              },
                              ...(redis.tls
                                  ? [
                                        {
                                            name: "REDIS_EXPORTER_TLS_CA_CERT_FILE",
                                            value: `${POD_DIRS.tls}/${TLS_FILES.ca}`,
                                        },
                                    ]
                                  : []),
                          ],
                          ports: [{ name: "metrics", containerPort: EXPORTER_PORT }],
                          resources: { requests: EXPORTER_RESOURCES, limits: EXPORTER_RESOURCES },
                          securityContext: CONTAINER_SECURITY,
                          volumeMounts: redis.tls ? [{ name: "tls", mountPath: POD_DIRS.tls, readOnly: true }] : [],
                      },
                  ]
                : [];
        const scheduling = (
            component: "data" | "sentinel",
        ): Pick<k8s.types.input.core.v1.PodSpec, "affinity" | "topologySpreadConstraints"> =>
            sentinelMode
                ? {
                      // Hard: two members of a group on one node would fail together.
                      affinity: {
                          podAntiAffinity: {
                              requiredDuringSchedulingIgnoredDuringExecution: [
                                  {
                                      labelSelector: { matchLabels: labels(component) },
                                      topologyKey: "kubernetes.io/hostname",
                                  },
                              ],
                          },
                      },
                      topologySpreadConstraints: [
                          {
                              maxSkew: 1,
                              topologyKey: "topology.kubernetes.io/zone",
                              whenUnsatisfiable: "ScheduleAnyway",
                              labelSelector: { matchLabels: labels(component) },
                          },
                      ],
                  }
                : {};
        const stateful = {
            parent: this,
            protect: args.protect,
            retainOnDelete: true,
            dependsOn: [authSecret, ...tlsReady],
        };

        // One shape for both groups; they differ in their container, exporter target, volume size and grace period.
        const groupStatefulSet = (
            component: "data" | "sentinel",
            group: {
                serviceName: pulumi.Input<string>;
                replicas: number;
                container: k8s.types.input.core.v1.Container;
                exporterHost: string;
                port: number;
                storage: string;
                podSpec?: Pick<k8s.types.input.core.v1.PodSpec, "terminationGracePeriodSeconds">;
            },
        ) =>
            new k8s.apps.v1.StatefulSet(
                `${name}-${component}`,
                {
                    metadata: {
                        name: component === "data" ? NAMES.data : NAMES.sentinel,
                        namespace: ns,
                        labels: labels(component),
                    },
                    spec: {
                        serviceName: group.serviceName,
                        replicas: group.replicas,
                        // The start script, not start order, prevents a second master; OrderedReady would deadlock a full
                        // restart (a replica of a dead master is never Ready, so the pods after it would never start).
                        podManagementPolicy: "Parallel",
                        updateStrategy: { type: "RollingUpdate" },
                        selector: { matchLabels: labels(component) },
                        template: {
                            metadata: {
                                labels: labels(component),
                                annotations: { "data-platform.io/config-checksum": checksum },
                            },
                            spec: {
                                automountServiceAccountToken: false,
                                securityContext: POD_SECURITY,
                                ...group.podSpec,
                                ...scheduling(component),
                                containers: [group.container, ...exporter(group.exporterHost, group.port)],
                                volumes: volumes(component),
                            },
                        },
                        volumeClaimTemplates: [
                            {
                                metadata: { name: "data", labels: labels(component) },
                                spec: {
                                    accessModes: ["ReadWriteOnce"],
                                    storageClassName: args.storageClass,
                                    resources: { requests: { storage: group.storage } },
                                },
                            },
                        ],
                    },
                },
                stateful,
            );

        const dataResources = { cpu: redis.cpu, memory: redis.memory };
        const dataSet = groupStatefulSet("data", {
            serviceName: dataService.metadata.name,
            replicas: this.layout.dataNodes.length,
            exporterHost: NAMES.dataHeadless,
            port: REDIS_PORT,
            storage: redis.storageSize,
            podSpec: { terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS },
            container: {
                name: "redis",
                image: redis.image,
                command: script(FILES.startRedis),
                env: selfEnv(NAMES.dataHeadless, REDIS_PORT),
                ports: [{ name: "redis", containerPort: REDIS_PORT }],
                resources: { requests: dataResources, limits: dataResources },
                securityContext: CONTAINER_SECURITY,
                volumeMounts: mounts("data"),
                // Long enough to load a large AOF.
                startupProbe: {
                    exec: { command: script(FILES.liveRedis) },
                    periodSeconds: 5,
                    timeoutSeconds: 5,
                    failureThreshold: 120,
                },
                livenessProbe: {
                    exec: { command: script(FILES.liveRedis) },
                    periodSeconds: 10,
                    timeoutSeconds: 6,
                    failureThreshold: 6,
                },
                readinessProbe: {
                    exec: { command: script(FILES.readyRedis) },
                    periodSeconds: 5,
                    timeoutSeconds: 6,
                    failureThreshold: 2,
                },
                ...(sentinelMode ? { lifecycle: { preStop: { exec: { command: script(FILES.preStopRedis) } } } } : {}),
            },
        });
        const workloads: pulumi.Resource[] = [dataSet];

        const consumers = { namespaceSelector: { matchLabels: { [CONSUMER_LABEL]: "true" } } };
        const ownPods = [
            { podSelector: { matchLabels: labels("data") } },
            ...(sentinelMode ? [{ podSelector: { matchLabels: labels("sentinel") } }] : []),
        ];
        const metricsIngress = redis.monitoring
            ? [
                  {
                      from: [
                          {
                              namespaceSelector: {
                                  matchLabels: { "kubernetes.io/metadata.name": redis.monitoringNamespace },
                              },
                          },
                      ],
                      ports: [{ protocol: "TCP", port: EXPORTER_PORT }],
                  },
              ]
            : [];
        const networkPolicy = (component: "data" | "sentinel", port: number) =>
            new k8s.networking.v1.NetworkPolicy(
                `${name}-${component}-netpol`,
                {
                    metadata: {
                        name: component === "data" ? NAMES.data : NAMES.sentinel,
                        namespace: ns,
                        labels: labels(component),
                    },
                    spec: {
                        podSelector: { matchLabels: labels(component) },
                        policyTypes: ["Ingress"],
                        ingress: [
                            { from: [consumers, ...ownPods], ports: [{ protocol: "TCP", port }] },
                            ...metricsIngress,
                        ],
                    },
                },
                parent,
            );
        networkPolicy("data", REDIS_PORT);

        if (sentinelMode) {
            const sentinelService = new k8s.core.v1.Service(
                `${name}-sentinel-svc`,
                {
                    metadata: { name: NAMES.sentinel, namespace: ns, labels: labels("sentinel") },
                    spec: {
                        clusterIP: "None",
                        publishNotReadyAddresses: true,
                        selector: labels("sentinel"),
                        ports: [{ name: "sentinel", port: SENTINEL_PORT, targetPort: "sentinel" }, ...metricsPort],
                    },
                },
                parent,
            );
            const sentinelSet = groupStatefulSet("sentinel", {
                serviceName: sentinelService.metadata.name,
                replicas: this.layout.sentinels.length,
                exporterHost: NAMES.sentinel,
                port: SENTINEL_PORT,
                storage: redis.sentinelStorageSize,
                container: {
                    name: "sentinel",
                    image: redis.image,
                    command: script(FILES.startSentinel),
                    env: selfEnv(NAMES.sentinel, SENTINEL_PORT),
                    ports: [{ name: "sentinel", containerPort: SENTINEL_PORT }],
                    resources: { requests: SENTINEL_RESOURCES, limits: SENTINEL_RESOURCES },
                    securityContext: CONTAINER_SECURITY,
                    volumeMounts: mounts("sentinel"),
                    // Generous: a Sentinel in TILT or under load answers slowly and must not be restarted for it.
                    livenessProbe: {
                        exec: { command: script(FILES.readySentinel) },
                        periodSeconds: 10,
                        timeoutSeconds: 6,
                        failureThreshold: 6,
                    },
                    readinessProbe: {
                        exec: { command: script(FILES.readySentinel) },
                        periodSeconds: 5,
                        timeoutSeconds: 6,
                        failureThreshold: 2,
                    },
                },
            });
            workloads.push(sentinelSet);
            networkPolicy("sentinel", SENTINEL_PORT);
            for (const component of ["data", "sentinel"] as const) {
                new k8s.policy.v1.PodDisruptionBudget(
                    `${name}-${component}-pdb`,
                    {
                        metadata: {
                            name: component === "data" ? NAMES.data : NAMES.sentinel,
                            namespace: ns,
                            labels: labels(component),
                        },
                        spec: { maxUnavailable: 1, selector: { matchLabels: labels(component) } },
                    },
                    parent,
                );
            }
        }

        if (redis.monitoring) {
            new k8s.apiextensions.CustomResource(
                `${name}-monitor`,
                {
                    apiVersion: "monitoring.coreos.com/v1",
                    kind: "ServiceMonitor",
                    metadata: { name: NAMES.data, namespace: ns, labels: labels("data") },
                    spec: {
                        selector: {
                            matchLabels: {
                                "app.kubernetes.io/name": "redis",
                                "app.kubernetes.io/part-of": "data-platform",
                            },
                        },
                        endpoints: [{ port: "metrics", interval: "30s" }],
                    },
                },
                { parent: this, dependsOn: workloads },
            );
            new k8s.apiextensions.CustomResource(
                `${name}-alerts`,
                {
                    apiVersion: "monitoring.coreos.com/v1",
                    kind: "PrometheusRule",
                    metadata: { name: NAMES.data, namespace: ns, labels: labels("data") },
                    spec: { groups: [{ name: "redis", rules: redisAlertRules(redis, ns) }] },
                },
                parent,
            );
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
        const sentinelPassword = sentinelMode
            ? this.credentials.password(REDIS_SENTINEL_CLIENT_CREDENTIAL)
            : pulumi.output("");
        const plain = redisEnv({ redis: this.redis, layout: this.layout, app, password: "", sentinelPassword: "" });
        const full = pulumi
            .all([password, sentinelPassword])
            .apply(([p, s]) =>
                redisEnv({ redis: this.redis, layout: this.layout, app, password: p, sentinelPassword: s }),
            );
        const env: Env = {};
        for (const key of redisEnvKeys(this.redis)) {
            env[key] = REDIS_SECRET_ENV_KEYS.includes(key) ? pulumi.secret(full.apply((e) => e[key])) : plain[key];
        }
        return env;
    }
}
