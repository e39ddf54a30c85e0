/**
 * Kubernetes objects of a Sentinel group's master endpoint (pure): HAProxy pods (the official image) running the
 * rendered `haproxy.cfg` (endpointConfig.ts), their ConfigMap, the Service clients connect to, a NetworkPolicy and a
 * PodDisruptionBudget. Names of other resources are `pulumi.Input`s, as in spec.ts.
 */
import * as crypto from "crypto";
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { RedisConfig } from "../config/redis";
import {
    ENDPOINT_PASSWORD_ENV,
    ENDPOINT_READY_PATH,
    EndpointListen,
    endpointCommand,
    renderEndpointConfig,
} from "./endpointConfig";
import { AUTH_FILES, TLS_FILES } from "./files";
import { POD_DIRS, REDIS_PORT, RedisLayout, redisNames } from "./layout";
import { redisLabels, tlsVolume } from "./spec";
import { clientPeers } from "../clientPeers";
import { restrictedPod } from "../podSecurity";

/**
 * The official image, pinned: HAProxy 3.2 is a long-term-support branch; 3.2.21 is its release in docker-library/haproxy
 * `versions.json` (2026-07). The tests run Debian 12's haproxy 2.6 on the same rendered file.
 */
export const ENDPOINT_IMAGE = "haproxy:3.2.21";
/** The image's user `haproxy` (docker-library/haproxy 3.2/Dockerfile: `useradd --uid 99`). */
const HAPROXY_UID = 99;
/** Where the image looks for its configuration (its `CMD`). */
const CONFIG_DIR = "/usr/local/etc/haproxy";
const CONFIG_FILE = "haproxy.cfg";
/** The readiness probe's port (`frontend health`). */
export const ENDPOINT_HEALTH_PORT = 8404;
/** Two pods: one may be drained or rolled while the other serves. */
const REPLICAS = 2;
/** CPU limited above the request: a throttled proxy delays every Redis command through it. */
const RESOURCES = { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "128Mi" } };
/**
 * Pod annotation with the Key Vault version of the monitor password: the pods read it once, from their environment, so a
 * rotation must restart them (a new version rolls the Deployment).
 */
export const MONITOR_PASSWORD_VERSION_ANNOTATION = "data-platform.io/monitor-password-version";

/** Where HAProxy listens in its pod: every address, the Redis port for clients. */
export const POD_ENDPOINT_LISTEN: EndpointListen = {
    clients: `:${REDIS_PORT}`,
    health: `:${ENDPOINT_HEALTH_PORT}`,
};

type Named = Pick<RedisConfig, "group">;

function labels(redis: Named): Record<string, string> {
    return redisLabels(redis, "master-endpoint");
}

function metadata<S>(redis: Named, namespace: S) {
    return { name: redisNames(redis).master, namespace, labels: labels(redis) };
}

/** The ConfigMap's data: the rendered `haproxy.cfg` of the group's data nodes in the cluster. */
export function endpointConfigData(
    redis: Pick<RedisConfig, "tls">,
    layout: Pick<RedisLayout, "dataNodes" | "dirs">,
): Record<string, string> {
    return { [CONFIG_FILE]: renderEndpointConfig(redis, layout, POD_ENDPOINT_LISTEN) };
}

export function endpointConfigMap(redis: Named, data: Record<string, string>, namespace: string) {
    return { metadata: metadata(redis, namespace), data };
}

const CONTAINER_SECURITY: k8s.types.input.core.v1.SecurityContext = {
    runAsNonRoot: true,
    runAsUser: HAPROXY_UID,
    runAsGroup: HAPROXY_UID,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
};

export interface EndpointDeploymentArgs {
    readonly redis: Pick<RedisConfig, "tls" | "tlsSecretName" | "group">;
    readonly namespace: string;
    readonly configMapName: pulumi.Input<string>;
    /** The ConfigMap's data: a change restarts the pods (they read it once). */
    readonly configData: Record<string, string>;
    /** Key Vault version of the monitor password (`MONITOR_PASSWORD_VERSION_ANNOTATION`). */
    readonly monitorPasswordVersion: pulumi.Input<string>;
}

/**
 * HAProxy pods: restricted Pod Security, spread over nodes and zones; the monitor password only from the synced
 * Secret. Ready while a master is up (`monitor-uri`): a pod that cannot log in to any data node (a password it read
 * before the Secret changed) never takes clients, and the rollout, which adds a pod before it removes one, stops there.
 */
export function endpointDeployment(args: EndpointDeploymentArgs) {
    const { redis } = args;
    const podLabels = labels(redis);
    const checksum = crypto.createHash("sha256").update(JSON.stringify(args.configData)).digest("hex");
    return {
        metadata: metadata(redis, args.namespace),
        spec: {
            replicas: REPLICAS,
            selector: { matchLabels: podLabels },
            strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
            template: {
                metadata: {
                    labels: podLabels,
                    annotations: {
                        "data-platform.io/config-checksum": checksum,
                        [MONITOR_PASSWORD_VERSION_ANNOTATION]: args.monitorPasswordVersion,
                    },
                },
                spec: {
                    automountServiceAccountToken: false,
                    securityContext: restrictedPod(HAPROXY_UID, { fsGroup: false }),
                    affinity: {
                        podAntiAffinity: {
                            preferredDuringSchedulingIgnoredDuringExecution: [
                                {
                                    weight: 100,
                                    podAffinityTerm: {
                                        labelSelector: { matchLabels: podLabels },
                                        topologyKey: "kubernetes.io/hostname",
                                    },
                                },
                            ],
                        },
                    },
                    topologySpreadConstraints: [
                        {
                            maxSkew: 1,
                            topologyKey: "topology.kubernetes.io/zone",
                            whenUnsatisfiable: "ScheduleAnyway",
                            labelSelector: { matchLabels: podLabels },
                        },
                    ],
                    containers: [
                        {
                            name: "haproxy",
                            image: ENDPOINT_IMAGE,
                            command: endpointCommand(`${CONFIG_DIR}/${CONFIG_FILE}`),
                            env: [
                                {
                                    name: ENDPOINT_PASSWORD_ENV,
                                    valueFrom: {
                                        secretKeyRef: { name: redisNames(redis).auth, key: AUTH_FILES.monitor },
                                    },
                                },
                            ],
                            ports: [
                                { name: "redis", containerPort: REDIS_PORT },
                                { name: "health", containerPort: ENDPOINT_HEALTH_PORT },
                            ],
                            resources: RESOURCES,
                            securityContext: CONTAINER_SECURITY,
                            // Unready only after 30 s without a master: a failover (seconds) keeps the pods serving.
                            readinessProbe: {
                                httpGet: { path: ENDPOINT_READY_PATH, port: "health" },
                                periodSeconds: 2,
                                failureThreshold: 15,
                            },
                            livenessProbe: { tcpSocket: { port: "health" }, periodSeconds: 10, failureThreshold: 3 },
                            volumeMounts: [
                                { name: "config", mountPath: CONFIG_DIR, readOnly: true },
                                ...(redis.tls ? [{ name: "tls", mountPath: POD_DIRS.tls, readOnly: true }] : []),
                            ],
                        },
                    ],
                    volumes: [
                        { name: "config", configMap: { name: args.configMapName, defaultMode: 0o444 } },
                        // The CA only: HAProxy verifies the data nodes' certificates in its checks.
                        ...(redis.tls ? [tlsVolume(redis, [TLS_FILES.ca])] : []),
                    ],
                },
            },
        },
    };
}

/** The Service behind `REDIS_URL`/`REDIS_HOST` in Sentinel mode. */
export function endpointService(redis: Named, namespace: string) {
    return {
        metadata: metadata(redis, namespace),
        spec: { selector: labels(redis), ports: [{ name: "redis", port: REDIS_PORT, targetPort: "redis" }] },
    };
}

/**
 * Client namespaces (`clientPeers`) on the Redis port. The kubelet's readiness probe needs no rule: "traffic to and from the node
 * where a Pod is running is always allowed" (Kubernetes docs, Network Policies).
 */
export function endpointNetworkPolicy(
    redis: Named & Pick<RedisConfig, "dedicated">,
    namespace: string,
    clientNamespaces: readonly string[],
) {
    return {
        metadata: metadata(redis, namespace),
        spec: {
            podSelector: { matchLabels: labels(redis) },
            policyTypes: ["Ingress"],
            ingress: [
                {
                    from: clientPeers(redis.dedicated, clientNamespaces),
                    ports: [{ protocol: "TCP", port: REDIS_PORT }],
                },
            ],
        },
    };
}

/** At most one HAProxy pod down by a voluntary disruption. */
export function endpointPodDisruptionBudget(redis: Named, namespace: string) {
    return {
        metadata: metadata(redis, namespace),
        spec: { maxUnavailable: 1, selector: { matchLabels: labels(redis) } },
    };
}
