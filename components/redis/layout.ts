/**
 * Where the Redis processes live: names and addresses of every data node and Sentinel and the
 * directories the rendered files use. On Kubernetes these are pod FQDNs and mount paths; the
 * integration tests and the sandbox use loopback ports and temp directories with the same files.
 */
import type { RedisConfig } from "../config/redis";
import { redisPrefix } from "./groups";

export const REDIS_PORT = 6379;
export const SENTINEL_PORT = 26379;
export const EXPORTER_PORT = 9121;
export const CLUSTER_DOMAIN = "cluster.local";

/**
 * A group's Kubernetes object names and its users files' Key Vault secrets, from its prefix (`redisPrefix`: `redis`
 * for the default group). Stable: they never depend on sizes or other settings.
 */
export function redisNames(redis: Pick<RedisConfig, "group">) {
    const prefix = redisPrefix(redis);
    return {
        data: prefix,
        dataHeadless: `${prefix}-headless`,
        /** ClusterIP Service of the standalone pod (`REDIS_URL`). */
        standalone: prefix,
        /** Sentinel mode: the master endpoint (`REDIS_URL`, `REDIS_HOST`), its HAProxy pods and their objects. */
        master: `${prefix}-master`,
        sentinel: `${prefix}-sentinel`,
        config: `${prefix}-config`,
        /** The users files the servers load (phase 1 of a credential change). */
        acl: `${prefix}-acl`,
        /** The passwords the scripts use (phase 2: written once every server accepts them). */
        auth: `${prefix}-auth`,
        tls: `${prefix}-tls`,
        /** Prefix of the Job that waits until every server applied the current users files. */
        aclSyncJob: `${prefix}-acl-sync`,
        /** `redis.backup`: the RDB copy's CronJob and service account. */
        backup: `${prefix}-backup`,
        /** Key Vault secrets of the rendered users files (the data nodes' in parts: `partSecretName`). */
        dataUsersFile: `${prefix}-users-acl`,
        sentinelUsersFile: `${prefix}-sentinel-users-acl`,
    } as const;
}

export type RedisNames = ReturnType<typeof redisNames>;

/** The default group's names (the sandbox's local groups run under them). */
export const NAMES = redisNames({});

export interface Endpoint {
    readonly host: string;
    readonly port: number;
    /** The name its TLS certificate carries, when not `host` (the tests' loopback certificates name `localhost`). */
    readonly tlsName?: string;
}

/** Directories the rendered configuration and scripts refer to. */
export interface RedisDirs {
    /** Rendered configuration and scripts (a ConfigMap, read-only). */
    readonly config: string;
    /** The ACL files (users and their password hashes) the servers load (a Secret, read-only). */
    readonly acl: string;
    /** The plaintext passwords the scripts use (a Secret, read-only). */
    readonly auth: string;
    /** `tls.crt`, `tls.key`, `ca.crt` (a TLS Secret, read-only). */
    readonly tls: string;
    /** Data node persistence (AOF), on a volume. */
    readonly data: string;
    /** Sentinel state: the `sentinel.conf` Sentinel rewrites, on a volume. */
    readonly sentinelData: string;
    /** Writable scratch space for the generated `redis.conf`. */
    readonly run: string;
}

export interface RedisLayout {
    /** Data nodes by ordinal; ordinal 0 is the bootstrap master of a brand-new group. */
    readonly dataNodes: readonly Endpoint[];
    /** Sentinels by ordinal (empty in standalone mode). */
    readonly sentinels: readonly Endpoint[];
    /** Standalone: where clients connect, the ClusterIP Service `names.standalone` in the cluster; unset: the data node. */
    readonly standaloneService?: Endpoint;
    /** Sentinel mode: the master endpoint clients that do not speak Sentinel connect to (the Service `names.master`). */
    readonly masterEndpoint?: Endpoint;
    readonly dirs: RedisDirs;
}

/** Mount paths in the pods. */
export const POD_DIRS: RedisDirs = {
    config: "/etc/redis/config",
    acl: "/etc/redis/acl",
    auth: "/etc/redis/auth",
    tls: "/etc/redis/tls",
    data: "/data",
    sentinelData: "/data",
    run: "/run/redis",
};

/** `<pod>.<service>.<namespace>.svc.cluster.local`: resolvable from every namespace. */
export function podFqdn(statefulSet: string, ordinal: number, service: string, namespace: string): string {
    return `${statefulSet}-${ordinal}.${service}.${namespace}.svc.${CLUSTER_DOMAIN}`;
}

export function serviceFqdn(service: string, namespace: string): string {
    return `${service}.${namespace}.svc.${CLUSTER_DOMAIN}`;
}

/** The layout of the group in the cluster. */
export function kubernetesLayout(redis: RedisConfig, namespace: string): RedisLayout {
    const names = redisNames(redis);
    const sentinelMode = redis.mode === "sentinel";
    const dataCount = sentinelMode ? redis.replicas : 1;
    return {
        dataNodes: Array.from({ length: dataCount }, (_, i) => ({
            host: podFqdn(names.data, i, names.dataHeadless, namespace),
            port: REDIS_PORT,
        })),
        sentinels: sentinelMode
            ? Array.from({ length: redis.sentinels }, (_, i) => ({
                  host: podFqdn(names.sentinel, i, names.sentinel, namespace),
                  port: SENTINEL_PORT,
              }))
            : [],
        ...(sentinelMode
            ? { masterEndpoint: { host: serviceFqdn(names.master, namespace), port: REDIS_PORT } }
            : { standaloneService: { host: serviceFqdn(names.standalone, namespace), port: REDIS_PORT } }),
        dirs: POD_DIRS,
    };
}

/**
 * Type token of the `Redis` component (the sandbox finds its non-secret config in a recorded run by it). It keeps
 * its first name, from when only Sentinel groups existed: every child URN embeds it.
 */
export const REDIS_COMPONENT_TYPE = "data-platform:redis:RedisSentinel";
