/**
 * Kubernetes objects of the Redis group (pure): the metadata and spec of everything the `Redis` component creates,
 * as plain functions of the config and layout. Names of other resources are `pulumi.Input`s, so that the wiring
 * passes their Outputs and keeps the dependencies; tests pass strings.
 */
import * as crypto from "crypto";
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { prometheusRuleObject } from "../alerts";
import type { AppConfig } from "../config/platform";
import type { RedisConfig } from "../config/redis";
import { PLATFORM_NAME, REPLACE_UNREADY_ANNOTATION, recommendedLabels } from "../labels";
import { clientPeers } from "../clientPeers";
import { DELETION_PROPAGATION_ANNOTATION } from "../../policy/lib/k8s";
import { redisRoleCredentials } from "./credentials";
import { redisPrefix } from "./groups";
import { dataAclPartPlan } from "./acl";
import { partSecretName } from "../vault/parts";
import {
    ACL_FILES,
    AUTH_FILES,
    FILES,
    GROUP_FILES,
    SENTINEL_MEMORY_MIB,
    TERMINATION_GRACE_SECONDS,
    TLS_FILES,
    dataAclPartFile,
} from "./files";
import { EXPORTER_PORT, POD_DIRS, REDIS_PORT, RedisLayout, SENTINEL_PORT, redisNames, serviceFqdn } from "./layout";
import { redisAlertRules } from "./monitoring";

type Container = k8s.types.input.core.v1.Container;

export const ACL_CONTENT_TYPE = "text/x-redis-acl";
/** uid/gid of the `redis` user in the official image. */
export const REDIS_UID = 999;
const SENTINEL_RESOURCES = { cpu: "100m", memory: `${SENTINEL_MEMORY_MIB}Mi` };
const EXPORTER_RESOURCES = { cpu: "50m", memory: "64Mi" };
const WATCHER_RESOURCES = { cpu: "20m", memory: "32Mi" };

/** The two StatefulSets of a Sentinel group (standalone has the data nodes only). */
export type RedisRole = "data" | "sentinel";

/** Who may read a group's objects by name: its settings' `group` (unset: the default group). */
type Named = Pick<RedisConfig, "group">;

/** How long the ACL sync Job waits for every server: the kubelet's Secret refresh (about a minute) and the sidecar's. */
export const ACL_SYNC_WAIT_SECONDS = 300;

/** Per role: its StatefulSet (and NetworkPolicy, PDB) name, headless Service, port and volume mount. */
function roleObjects(redis: Named, role: RedisRole) {
    const names = redisNames(redis);
    return {
        data: { objectName: names.data, service: names.dataHeadless, port: REDIS_PORT, dataDir: POD_DIRS.data },
        sentinel: {
            objectName: names.sentinel,
            service: names.sentinel,
            port: SENTINEL_PORT,
            dataDir: POD_DIRS.sentinelData,
        },
    }[role];
}

/** The volume claim template of both roles (and the volume the main container mounts): claims `data-<pod>`. */
const DATA_VOLUME = "data";

/** What each pod of the role claims. */
function claimSpec(
    redis: Pick<RedisConfig, "storageSize" | "sentinelStorageSize">,
    role: RedisRole,
    storageClass: string,
) {
    return {
        accessModes: ["ReadWriteOnce"],
        storageClassName: storageClass,
        resources: { requests: { storage: role === "data" ? redis.storageSize : redis.sentinelStorageSize } },
    };
}

/** The labels of a group's pods: `app.kubernetes.io/name` is the group's prefix, so no selector reaches another group. */
export function redisLabels(
    redis: Named,
    component: RedisRole | "acl-sync" | "backup" | "master-endpoint",
): Record<string, string> {
    return recommendedLabels({ name: redisPrefix(redis), component, partOf: PLATFORM_NAME });
}

function roleMetadata(redis: Named, role: RedisRole, namespace: string) {
    return { name: roleObjects(redis, role).objectName, namespace, labels: redisLabels(redis, role) };
}

/** Password files the scripts read, and the credential each holds. */
function passwordFiles(redis: Pick<RedisConfig, "mode" | "group" | "backup">): [string, string][] {
    const ids = redisRoleCredentials(redis);
    return [
        [AUTH_FILES.admin, ids.admin],
        [AUTH_FILES.monitor, ids.monitor],
        ...(redis.mode === "sentinel"
            ? ([
                  [AUTH_FILES.replication, ids.replication],
                  [AUTH_FILES.sentinel, ids.sentinel],
                  [AUTH_FILES.sentinelClient, ids.sentinelClient],
              ] as [string, string][])
            : []),
        ...(redis.backup ? ([[AUTH_FILES.backup, ids.backup]] as [string, string][]) : []),
    ];
}

/** Keys of `redis-auth` (the files in the auth directory) and the Key Vault secret each comes from. */
export function authSecretData(
    redis: Pick<RedisConfig, "mode" | "group" | "backup">,
    credentialSecretName: (credentialId: string) => string,
): Array<{ secretKey: string; remoteKey: string }> {
    return passwordFiles(redis).map(([secretKey, id]) => ({ secretKey, remoteKey: credentialSecretName(id) }));
}

/** Keys of `redis-acl` (the files in the ACL directory) and the Key Vault secret each comes from. */
export function aclSecretData(
    redis: Pick<RedisConfig, "mode" | "group" | "backup">,
    apps: readonly AppConfig[],
): Array<{ secretKey: string; remoteKey: string }> {
    return [
        ...dataAclPartPlan(redis.mode, apps, redis.backup !== undefined).map((_, i) => ({
            secretKey: dataAclPartFile(i),
            remoteKey: dataAclSecretName(redis, i),
        })),
        ...(redis.mode === "sentinel"
            ? [{ secretKey: ACL_FILES.sentinel, remoteKey: redisNames(redis).sentinelUsersFile }]
            : []),
    ];
}

/** The Key Vault secret of part `index` of the data nodes' users file (the first keeps the single file's name). */
export function dataAclSecretName(redis: Named, index: number): string {
    return partSecretName(redisNames(redis).dataUsersFile, index);
}

/** A tenant stack's ACL sync Job's ConfigMap (`renderTenantAclSyncFiles`), named by its suffix. */
export function tenantAclSyncConfigMap(redis: Named, suffix: string, files: Record<string, string>, namespace: string) {
    return {
        metadata: { name: `${redisNames(redis).aclSyncJob}-${suffix}`, namespace, labels: aclSyncLabels(redis) },
        data: files,
    };
}

/** The ConfigMap of the rendered files (`renderFiles`). */
export function configMapArgs(redis: Named, files: Record<string, string>, namespace: string) {
    return { metadata: { name: redisNames(redis).config, namespace, labels: redisLabels(redis, "data") }, data: files };
}

/**
 * A group's pods restart when the rendered files they run change, and only then: a Sentinel-only setting restarts no
 * data node. The Secrets are not in it: the sidecars apply their changes live.
 */
export function configChecksum(files: Record<string, string>, role: RedisRole): string {
    const own = Object.fromEntries(GROUP_FILES[role].filter((f) => f in files).map((f) => [f, files[f]]));
    return crypto.createHash("sha256").update(JSON.stringify(own)).digest("hex");
}

/** cert-manager Certificate for every data node and Sentinel, and the standalone Service (TLS on, no Secret given). */
export function certificate(
    redis: Pick<RedisConfig, "mode" | "tlsIssuerName" | "tlsIssuerKind" | "group">,
    namespace: string,
) {
    const names = redisNames(redis);
    return {
        apiVersion: "cert-manager.io/v1",
        kind: "Certificate",
        metadata: { name: names.tls, namespace, labels: redisLabels(redis, "data") },
        spec: {
            secretName: names.tls,
            issuerRef: { name: redis.tlsIssuerName, kind: redis.tlsIssuerKind, group: "cert-manager.io" },
            dnsNames: [
                ...[names.dataHeadless, names.sentinel].flatMap((svc) => [
                    serviceFqdn(svc, namespace),
                    `*.${serviceFqdn(svc, namespace)}`,
                ]),
                // The Service clients connect to by name: the standalone pod's, or the master endpoint's (TLS passes it).
                serviceFqdn(redis.mode === "standalone" ? names.standalone : names.master, namespace),
            ],
            usages: ["server auth", "client auth", "digital signature", "key encipherment"],
            privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
            duration: "2160h",
            renewBefore: "360h",
        },
    };
}

/** The group's headless Service (stable pod names; the exporter's port too when monitoring is on). */
export function headlessService(redis: Pick<RedisConfig, "monitoring" | "group">, role: RedisRole, namespace: string) {
    const metricsPort = redis.monitoring ? [{ name: "metrics", port: EXPORTER_PORT, targetPort: "metrics" }] : [];
    const portName = role === "data" ? "redis" : "sentinel";
    return {
        metadata: { name: roleObjects(redis, role).service, namespace, labels: redisLabels(redis, role) },
        spec: {
            clusterIP: "None",
            // Peers and Sentinels resolve a pod before it is Ready (a replica is not Ready until it synced).
            publishNotReadyAddresses: true,
            selector: redisLabels(redis, role),
            ports: [{ name: portName, port: roleObjects(redis, role).port, targetPort: portName }, ...metricsPort],
        },
    };
}

/** Standalone: the ClusterIP Service behind `REDIS_URL` (a stable name, whatever the pod is called). */
export function standaloneService(redis: Named, namespace: string) {
    return {
        metadata: { name: redisNames(redis).standalone, namespace, labels: redisLabels(redis, "data") },
        spec: {
            selector: redisLabels(redis, "data"),
            ports: [{ name: "redis", port: REDIS_PORT, targetPort: "redis" }],
        },
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

/** `sh <config dir>/<file>`: the rendered scripts are not executable (ConfigMap files). */
function script(file: string): string[] {
    return ["sh", `${POD_DIRS.config}/${file}`];
}

/** What the scripts need to know about their own process: `SELF_NAME`, `SELF_HOST`, `SELF_PORT`. */
function selfEnv(redis: Named, role: RedisRole, namespace: string): k8s.types.input.core.v1.EnvVar[] {
    const own = roleObjects(redis, role);
    return [
        { name: "SELF_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
        { name: "SELF_HOST", value: `$(SELF_NAME).${serviceFqdn(own.service, namespace)}` },
        { name: "SELF_PORT", value: String(own.port) },
    ];
}

/** The group's TLS Secret as a volume (`keys`: default all of cert-manager's). */
export function tlsVolume(
    redis: Pick<RedisConfig, "tlsSecretName" | "group">,
    keys: readonly string[] = Object.values(TLS_FILES),
): k8s.types.input.core.v1.Volume {
    return {
        name: "tls",
        secret: {
            secretName: redis.tlsSecretName ?? redisNames(redis).tls,
            defaultMode: 0o440,
            items: keys.map((key) => ({ key, path: key })),
        },
    };
}

/**
 * The Secret of a tenant stack's users file on a group (`suffix`: its stack's, `tenantLoginSuffix`), which that stack
 * syncs into the platform namespace through the platform's store.
 */
export function tenantAclSecretName(redis: Named, suffix: string): string {
    return `${redisNames(redis).acl}-${suffix}`;
}

/** The Key Vault secret of part `index` of a tenant stack's users file on a group. */
export function tenantDataAclSecretName(redis: Named, suffix: string, index: number): string {
    return partSecretName(`${redisNames(redis).dataUsersFile}-${suffix}`, index);
}

/**
 * The data nodes' ACL directory: `redis-acl`, and with tenant stacks each one's Secret too, optional (a tenant not
 * deployed yet, or destroyed, has none), every key: its parts sort after the platform's (`tenantDataAclFile`). The
 * kubelet collects every source at each setup of the volume, a missing optional Secret as no files, and writes them in
 * one atomic swap (kubernetes `pkg/volume/projected/projected.go` `collectData`, `NewAtomicWriter`), so a tenant's
 * Secret appears, changes or goes with its refreshes. Admitting a tenant changes the pod template: the data pods roll
 * once.
 */
function dataAclVolume(aclSecret: string, tenantSecrets: readonly string[]): k8s.types.input.core.v1.Volume {
    if (tenantSecrets.length === 0) {
        return { name: "acl", secret: { secretName: aclSecret, defaultMode: 0o440 } };
    }
    return {
        name: "acl",
        projected: {
            defaultMode: 0o440,
            sources: [
                { secret: { name: aclSecret } },
                ...tenantSecrets.map((name) => ({ secret: { name, optional: true } })),
            ],
        },
    };
}

function volumes(
    redis: Pick<RedisConfig, "mode" | "tls" | "tlsSecretName" | "group">,
    role: RedisRole,
    configMapName: pulumi.Input<string>,
    tenantSuffixes: readonly string[],
): k8s.types.input.core.v1.Volume[] {
    const names = redisNames(redis);
    const passwords =
        role === "data"
            ? [
                  AUTH_FILES.admin,
                  AUTH_FILES.monitor,
                  ...(redis.mode === "sentinel" ? [AUTH_FILES.replication, AUTH_FILES.sentinelClient] : []),
              ]
            : [AUTH_FILES.admin, AUTH_FILES.sentinel, AUTH_FILES.monitor, AUTH_FILES.sentinelClient];
    const items = (keys: readonly string[]) => keys.map((key) => ({ key, path: key }));
    // Whole-volume mounts (never subPath): the kubelet updates the files in place, and the sidecar applies them.
    return [
        { name: "config", configMap: { name: configMapName, defaultMode: 0o444 } },
        // Data nodes take every key: their users file is in parts, as many as the applications need, and a list of
        // them here would roll the pods when one is added. (Sentinels' file beside it is unused.)
        role === "data"
            ? dataAclVolume(
                  names.acl,
                  tenantSuffixes.map((suffix) => tenantAclSecretName(redis, suffix)),
              )
            : {
                  name: "acl",
                  secret: { secretName: names.acl, defaultMode: 0o440, items: items([ACL_FILES.sentinel]) },
              },
        { name: "auth", secret: { secretName: names.auth, defaultMode: 0o440, items: items(passwords) } },
        ...(redis.tls ? [tlsVolume(redis)] : []),
        // Generated config holds masterauth: keep it in memory only.
        { name: "run", emptyDir: { medium: "Memory", sizeLimit: "16Mi" } },
        { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
    ];
}

function volumeMounts(redis: Pick<RedisConfig, "tls">, role: RedisRole): k8s.types.input.core.v1.VolumeMount[] {
    return [
        { name: "config", mountPath: POD_DIRS.config, readOnly: true },
        { name: "acl", mountPath: POD_DIRS.acl, readOnly: true },
        { name: "auth", mountPath: POD_DIRS.auth, readOnly: true },
        ...(redis.tls ? [{ name: "tls", mountPath: POD_DIRS.tls, readOnly: true }] : []),
        { name: DATA_VOLUME, mountPath: POD_DIRS[role === "data" ? "data" : "sentinelData"] },
        { name: "run", mountPath: POD_DIRS.run },
        { name: "tmp", mountPath: "/tmp" },
    ];
}

/** redis_exporter beside each process (monitoring on), as the `monitor` user. */
function exporter(redis: RedisConfig, role: RedisRole, namespace: string): Container[] {
    if (!redis.monitoring) {
        return [];
    }
    const tlsCa = redis.tls
        ? [{ name: "REDIS_EXPORTER_TLS_CA_CERT_FILE", value: `${POD_DIRS.tls}/${TLS_FILES.ca}` }]
        : [];
    return [
        {
            name: "exporter",
            image: redis.exporterImage,
            env: [
                ...selfEnv(redis, role, namespace),
                {
                    name: "REDIS_ADDR",
                    value: `${redis.tls ? "rediss" : "redis"}://$(SELF_HOST):${roleObjects(redis, role).port}`,
                },
                { name: "REDIS_USER", value: "monitor" },
                // No CONFIG GET (the monitor user may not run it: it returns masterauth); `-` skips it (main.go).
                { name: "REDIS_EXPORTER_CONFIG_COMMAND", value: "-" },
                {
                    name: "REDIS_PASSWORD",
                    valueFrom: { secretKeyRef: { name: redisNames(redis).auth, key: AUTH_FILES.monitor } },
                },
                ...tlsCa,
                // CLIENT LIST (the monitor user's `+client|list`): one series per connection with its ACL user.
                ...(role === "data" ? [{ name: "REDIS_EXPORTER_EXPORT_CLIENT_LIST", value: "true" }] : []),
            ],
            ports: [{ name: "metrics", containerPort: EXPORTER_PORT }],
            resources: { requests: EXPORTER_RESOURCES, limits: EXPORTER_RESOURCES },
            securityContext: CONTAINER_SECURITY,
            volumeMounts: redis.tls ? [{ name: "tls", mountPath: POD_DIRS.tls, readOnly: true }] : [],
        },
    ];
}

/** The sidecar that applies changed users, credentials and certificates to the group's running process. */
function watcher(redis: RedisConfig, role: RedisRole, namespace: string): Container {
    return {
        name: "reload",
        image: redis.image,
        command: script(role === "data" ? FILES.watchRedis : FILES.watchSentinel),
        env: selfEnv(redis, role, namespace),
        resources: { requests: WATCHER_RESOURCES, limits: WATCHER_RESOURCES },
        securityContext: CONTAINER_SECURITY,
        volumeMounts: volumeMounts(redis, role).filter((m) => m.name !== DATA_VOLUME),
    };
}

function dataContainer(redis: RedisConfig, namespace: string): Container {
    const resources = { cpu: redis.cpu, memory: redis.memory };
    return {
        name: "redis",
        image: redis.image,
        command: script(FILES.startRedis),
        env: selfEnv(redis, "data", namespace),
        ports: [{ name: "redis", containerPort: REDIS_PORT }],
        resources: { requests: resources, limits: resources },
        securityContext: CONTAINER_SECURITY,
        volumeMounts: volumeMounts(redis, "data"),
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
        ...(redis.mode === "sentinel"
            ? { lifecycle: { preStop: { exec: { command: script(FILES.preStopRedis) } } } }
            : {}),
    };
}

function sentinelContainer(redis: RedisConfig, namespace: string): Container {
    return {
        name: "sentinel",
        image: redis.image,
        command: script(FILES.startSentinel),
        env: selfEnv(redis, "sentinel", namespace),
        ports: [{ name: "sentinel", containerPort: SENTINEL_PORT }],
        resources: { requests: SENTINEL_RESOURCES, limits: SENTINEL_RESOURCES },
        securityContext: CONTAINER_SECURITY,
        volumeMounts: volumeMounts(redis, "sentinel"),
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
    };
}

/** Sentinel mode: hard anti-affinity (two members of a group on one node would fail together), spread over zones. */
function scheduling(
    redis: Pick<RedisConfig, "mode" | "group">,
    role: RedisRole,
): Pick<k8s.types.input.core.v1.PodSpec, "affinity" | "topologySpreadConstraints"> {
    if (redis.mode !== "sentinel") {
        return {};
    }
    return {
        affinity: {
            podAntiAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: [
                    { labelSelector: { matchLabels: redisLabels(redis, role) }, topologyKey: "kubernetes.io/hostname" },
                ],
            },
        },
        topologySpreadConstraints: [
            {
                maxSkew: 1,
                topologyKey: "topology.kubernetes.io/zone",
                whenUnsatisfiable: "ScheduleAnyway",
                labelSelector: { matchLabels: redisLabels(redis, role) },
            },
        ],
    };
}

export interface StatefulSetArgs {
    readonly redis: RedisConfig;
    readonly layout: RedisLayout;
    readonly namespace: string;
    readonly role: RedisRole;
    /** The group's headless Service. */
    readonly serviceName: pulumi.Input<string>;
    readonly configMapName: pulumi.Input<string>;
    /** `configChecksum` of the rendered files. */
    readonly checksum: string;
    readonly storageClass: string;
    /**
     * Suffixes of the tenant stacks the platform admits (`data-platform:tenants`, `tenantAclSecretName`): their users
     * files are projected into the data nodes' ACL directory. Default: none.
     */
    readonly tenantSuffixes?: readonly string[];
}

/**
 * One shape for both roles; they differ in their container, exporter target, volume size and grace period.
 * Deleted with its pods orphaned (`DELETION_PROPAGATION_ANNOTATION`), its claims kept: a change of the claim template
 * (a larger volume) replaces it, and the new one adopts the running pods instead of every pod going down at once.
 */
export function statefulSet(args: StatefulSetArgs) {
    const { redis, namespace, role } = args;
    const data = role === "data";
    const labels = redisLabels(redis, role);
    return {
        metadata: {
            ...roleMetadata(redis, role, namespace),
            annotations: { [DELETION_PROPAGATION_ANNOTATION]: "orphan" },
        },
        spec: {
            serviceName: args.serviceName,
            replicas: data ? args.layout.dataNodes.length : args.layout.sentinels.length,
            // The start script, not start order, prevents a second master; OrderedReady would deadlock a full
            // restart (a replica of a dead master is never Ready, so the pods after it would never start).
            podManagementPolicy: "Parallel",
            updateStrategy: { type: "RollingUpdate" },
            selector: { matchLabels: labels },
            template: {
                metadata: { labels, annotations: { "data-platform.io/config-checksum": args.checksum } },
                spec: {
                    automountServiceAccountToken: false,
                    securityContext: POD_SECURITY,
                    ...(data ? { terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS } : {}),
                    ...scheduling(redis, role),
                    containers: [
                        data ? dataContainer(redis, namespace) : sentinelContainer(redis, namespace),
                        watcher(redis, role, namespace),
                        ...exporter(redis, role, namespace),
                    ],
                    volumes: volumes(redis, role, args.configMapName, args.tenantSuffixes ?? []),
                },
            },
            // Claims of new pods only: those of running pods grow through `volumeClaimPatch`.
            volumeClaimTemplates: [
                { metadata: { name: DATA_VOLUME, labels }, spec: claimSpec(redis, role, args.storageClass) },
            ],
        },
    };
}

/**
 * The claim of the pod `ordinal`, as the claim template has it: a claim grows in place, by a larger request, when its
 * StorageClass allows volume expansion (AKS's built-in `managed-csi*` classes do, and the Azure Disk CSI driver grows an
 * attached disk without a restart: learn.microsoft.com azure/aks/create-volume-azure-disk, "Resize a persistent volume
 * without downtime"; kubernetes-sigs/azuredisk-csi-driver `deploy/example/resize`). Kubernetes refuses a smaller
 * request ("field can not be less than previous value"), a larger one on a class without expansion (admission plugin
 * PersistentVolumeClaimResize) and another class (a claim's spec is immutable but for its requests), all at the
 * preview's server-side dry run already. The whole spec: server-side apply creates what does not exist, so the
 * preview of a new stack's first deploy, before the StatefulSet made its claims, dry-runs a valid claim.
 * `patchForce`: the StatefulSet controller, which created the claim, owns its fields too; without force, server-side
 * apply stops at that conflict (pulumi-kubernetes v4.32 `await.go` `patchForce`).
 */
export function volumeClaimPatch(
    redis: Pick<RedisConfig, "storageSize" | "sentinelStorageSize" | "group">,
    role: RedisRole,
    ordinal: number,
    namespace: string,
    storageClass: string,
) {
    return {
        metadata: {
            // `<claim template>-<StatefulSet>-<ordinal>` (kubernetes.io StatefulSet docs, "Stable Storage").
            name: `${DATA_VOLUME}-${roleObjects(redis, role).objectName}-${ordinal}`,
            namespace,
            annotations: { "pulumi.com/patchForce": "true" },
        },
        spec: claimSpec(redis, role, storageClass),
    };
}

/** Pods of the ACL sync Job (the NetworkPolicies admit them to both groups). */
/** The pod of an application's move Job (`moveSpec.ts`): the groups it copies between let it in (`networkPolicy`). */
export const MOVE_JOB_LABELS = recommendedLabels({ name: "redis-move", component: "move", partOf: PLATFORM_NAME });

function aclSyncLabels(redis: Named): Record<string, string> {
    return redisLabels(redis, "acl-sync");
}

/** The ACL sync Job's name: one per marker, so each change of the users files runs it once (a Job is immutable). */
export function aclSyncJobName(redis: Named, marker: string): string {
    return `${redisNames(redis).aclSyncJob}-${marker.slice(marker.lastIndexOf(":") + 1).slice(0, 10)}`;
}

/**
 * The ACL sync Job (`await-acl.sh`): done once every server applied the users files ending with `marker`. It needs
 * no password (the marker accepts any); only the CA, with TLS.
 */
export function aclSyncJob(
    redis: Pick<RedisConfig, "image" | "tls" | "tlsSecretName" | "group">,
    namespace: string,
    configMapName: pulumi.Input<string>,
    marker: pulumi.Input<string>,
    name: pulumi.Input<string>,
) {
    return {
        metadata: { name, namespace, labels: aclSyncLabels(redis), annotations: REPLACE_UNREADY_ANNOTATION },
        spec: {
            backoffLimit: 2,
            activeDeadlineSeconds: ACL_SYNC_WAIT_SECONDS + 120,
            template: {
                metadata: { labels: aclSyncLabels(redis) },
                spec: {
                    restartPolicy: "Never",
                    automountServiceAccountToken: false,
                    securityContext: POD_SECURITY,
                    containers: [
                        {
                            name: "await-acl",
                            image: redis.image,
                            command: script(FILES.awaitAcl),
                            env: [
                                { name: "ACL_MARKER", value: marker },
                                { name: "WAIT_SECONDS", value: String(ACL_SYNC_WAIT_SECONDS) },
                            ],
                            resources: { requests: WATCHER_RESOURCES, limits: WATCHER_RESOURCES },
                            securityContext: CONTAINER_SECURITY,
                            volumeMounts: [
                                { name: "config", mountPath: POD_DIRS.config, readOnly: true },
                                ...(redis.tls ? [{ name: "tls", mountPath: POD_DIRS.tls, readOnly: true }] : []),
                            ],
                        },
                    ],
                    volumes: [
                        { name: "config", configMap: { name: configMapName, defaultMode: 0o444 } },
                        // The CA only: clients present no certificate (`tls-auth-clients no`).
                        ...(redis.tls ? [tlsVolume(redis, [TLS_FILES.ca])] : []),
                    ],
                },
            },
        },
    };
}

/**
 * Ingress to the group: consumer namespaces and the group's own pods on its port (and to the data nodes, the master
 * endpoint's HAProxy pods in Sentinel mode); Prometheus on the exporter's.
 */
export function networkPolicy(
    redis: Pick<RedisConfig, "mode" | "monitoring" | "monitoringNamespace" | "group" | "backup" | "dedicated">,
    role: RedisRole,
    namespace: string,
    clientNamespaces: readonly string[],
    moveJobs = false,
) {
    const ownPods = [
        { podSelector: { matchLabels: redisLabels(redis, "data") } },
        ...(redis.mode === "sentinel" ? [{ podSelector: { matchLabels: redisLabels(redis, "sentinel") } }] : []),
        { podSelector: { matchLabels: aclSyncLabels(redis) } },
        // `redis.backup`: the backup Job asks a Sentinel for the master and copies its RDB.
        ...(redis.backup ? [{ podSelector: { matchLabels: redisLabels(redis, "backup") } }] : []),
        ...(redis.mode === "sentinel" && role === "data"
            ? [{ podSelector: { matchLabels: redisLabels(redis, "master-endpoint") } }]
            : []),
        // An application moving to or off the group: its copy Job reads and writes the data nodes as the admin.
        ...(moveJobs && role === "data" ? [{ podSelector: { matchLabels: MOVE_JOB_LABELS } }] : []),
    ];
    const prometheus = {
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": redis.monitoringNamespace } },
    };
    const metricsIngress = redis.monitoring
        ? [{ from: [prometheus], ports: [{ protocol: "TCP", port: EXPORTER_PORT }] }]
        : [];
    return {
        metadata: roleMetadata(redis, role, namespace),
        spec: {
            podSelector: { matchLabels: redisLabels(redis, role) },
            policyTypes: ["Ingress"],
            ingress: [
                {
                    from: [...clientPeers(redis.dedicated, clientNamespaces), ...ownPods],
                    ports: [{ protocol: "TCP", port: roleObjects(redis, role).port }],
                },
                ...metricsIngress,
            ],
        },
    };
}

/** Sentinel mode: at most one member of a group down by a voluntary disruption. */
export function podDisruptionBudget(redis: Named, role: RedisRole, namespace: string) {
    return {
        metadata: roleMetadata(redis, role, namespace),
        spec: { maxUnavailable: 1, selector: { matchLabels: redisLabels(redis, role) } },
    };
}

/** Labels of the monitoring objects: the configured ones (a Prometheus selects by them), then the platform's. */
function monitoringLabels(redis: Pick<RedisConfig, "monitoringLabels" | "group">): Record<string, string> {
    return { ...redis.monitoringLabels, ...redisLabels(redis, "data") };
}

/**
 * What Prometheus keeps of the client list: `redis_connected_client_info` (one series per connection, by `id`, with its
 * `user` and `db`), none of the other per-connection metrics redis_exporter exports beside it (v1.67.0
 * exporter/clients.go; the regular expression drops every `redis_connected_client_*` not starting with `in`), and no
 * `flags` label, which changes whenever a client blocks or subscribes, each change a new series.
 */
export const CLIENT_LIST_RELABELINGS = [
    { sourceLabels: ["__name__"], regex: "redis_connected_client_([^i].*|i[^n].*)", action: "drop" },
    { regex: "flags", action: "labeldrop" },
];

/** Scrapes the exporters of both groups. */
export function serviceMonitor(redis: Pick<RedisConfig, "monitoringLabels" | "group">, namespace: string) {
    return {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "ServiceMonitor",
        metadata: { name: redisNames(redis).data, namespace, labels: monitoringLabels(redis) },
        spec: {
            selector: { matchLabels: recommendedLabels({ name: redisPrefix(redis), partOf: PLATFORM_NAME }) },
            endpoints: [{ port: "metrics", interval: "30s", metricRelabelings: CLIENT_LIST_RELABELINGS }],
        },
    };
}

export function prometheusRule(redis: RedisConfig, namespace: string) {
    return prometheusRuleObject(
        { name: redisNames(redis).data, namespace, labels: monitoringLabels(redis) },
        "redis",
        redisAlertRules(redis, namespace),
    );
}
