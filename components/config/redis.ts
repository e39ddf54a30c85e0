/** Redis settings. */
import { BYTES_QUANTITY, CPU_QUANTITY, DNS_LABEL, PINNED_IMAGE } from "./names";
import { bool, int, object, oneOf, str } from "./schema";

export type RedisMode = "sentinel" | "standalone";

export interface RedisConfig {
    readonly mode: RedisMode;
    /** Official Redis image, pinned. */
    readonly image: string;
    /** Data pods (sentinel mode). */
    readonly replicas: number;
    /** Sentinel pods. */
    readonly sentinels: number;
    readonly quorum: number;
    readonly masterName: string;
    /** Logical databases (`databases`); every application has its own index below this. */
    readonly databases: number;
    readonly downAfterMilliseconds: number;
    readonly failoverTimeoutMilliseconds: number;
    readonly maxmemory: string;
    readonly maxmemoryPolicy:
        | "noeviction"
        | "allkeys-lru"
        | "volatile-lru"
        | "allkeys-lfu"
        | "volatile-lfu"
        | "allkeys-random"
        | "volatile-random"
        | "volatile-ttl";
    readonly storageSize: string;
    readonly cpu: string;
    readonly memory: string;
    readonly tls: boolean;
    /** cert-manager issuer of the server certificate (when `tls` and no `tlsSecretName`). */
    readonly tlsIssuerKind: "ClusterIssuer" | "Issuer";
    readonly tlsIssuerName: string;
    /** An existing `kubernetes.io/tls` Secret (tls.crt, tls.key, ca.crt) in the platform namespace instead of cert-manager. */
    readonly tlsSecretName?: string;
    readonly monitoring: boolean;
    /** Namespace of Prometheus, admitted to the exporter port. */
    readonly monitoringNamespace: string;
    /** redis_exporter sidecar image, pinned. */
    readonly exporterImage: string;
    /** Volume per Sentinel pod (holds its rewritten sentinel.conf). */
    readonly sentinelStorageSize: string;
}

export const redisSchema = object<RedisConfig>({
    mode: {
        schema: oneOf<RedisMode>(["sentinel", "standalone"]),
        default: { production: "sentinel", development: "standalone" },
        doc: "Sentinel HA group or a single standalone pod.",
    },
    image: {
        schema: str({ pattern: PINNED_IMAGE, allowed: "a pinned image reference (no :latest)" }),
        default: "redis:7.4.6-alpine",
        doc: "Official Redis image.",
    },
    replicas: { schema: int(1, 9), default: { production: 3, development: 1 }, doc: "Data pods." },
    sentinels: { schema: int(1, 9), default: { production: 3, development: 1 }, doc: "Sentinel pods." },
    quorum: { schema: int(1, 9), default: 2, doc: "Sentinels that must agree the master is down." },
    masterName: {
        schema: str({ pattern: DNS_LABEL, maxLength: 40 }),
        default: "redis-primary",
        doc: "Master group name announced by Sentinel.",
    },
    databases: {
        schema: int(1, 1024),
        default: 16,
        doc: "Logical databases; each application's redisDb must be below it.",
    },
    downAfterMilliseconds: { schema: int(1000, 60000), default: 5000, doc: "Sentinel down-after-milliseconds." },
    failoverTimeoutMilliseconds: {
        schema: int(5000, 600000),
        default: 20000,
        doc: "Sentinel failover-timeout; a failed attempt (e.g. a split vote) is retried after twice this.",
    },
    maxmemory: {
        schema: str({ pattern: /^[0-9]+(mb|gb)$/, allowed: "a size such as 256mb or 2gb" }),
        default: { production: "1536mb", development: "128mb" },
        doc: "Redis maxmemory.",
    },
    maxmemoryPolicy: {
        schema: oneOf([
            "noeviction",
            "allkeys-lru",
            "volatile-lru",
            "allkeys-lfu",
            "volatile-lfu",
            "allkeys-random",
            "volatile-random",
            "volatile-ttl",
        ] as const),
        default: "noeviction",
        doc: "Eviction policy.",
    },
    storageSize: {
        schema: str({ pattern: BYTES_QUANTITY, allowed: "a size such as 8Gi" }),
        default: { production: "8Gi", development: "1Gi" },
        doc: "Volume per data pod.",
    },
    cpu: {
        schema: str({ pattern: CPU_QUANTITY, allowed: "a CPU quantity such as 500m" }),
        default: { production: "1", development: "100m" },
        doc: "CPU request and limit per data pod.",
    },
    memory: {
        schema: str({ pattern: /^[0-9]+(Mi|Gi)$/, allowed: "a memory size such as 2Gi" }),
        default: { production: "2Gi", development: "256Mi" },
        doc: "Memory request and limit per data pod.",
    },
    tls: {
        schema: bool(),
        default: { production: true, development: false },
        doc: "TLS for clients, replication and Sentinel.",
    },
    tlsIssuerKind: {
        schema: oneOf(["ClusterIssuer", "Issuer"] as const),
        default: "ClusterIssuer",
        doc: "cert-manager issuer kind for the Redis certificate.",
    },
    tlsIssuerName: {
        schema: str({ pattern: DNS_LABEL, maxLength: 63 }),
        default: "platform-ca",
        doc: "cert-manager issuer name for the Redis certificate.",
    },
    tlsSecretName: {
        schema: str({ pattern: DNS_LABEL, maxLength: 63 }),
        optional: true,
        doc: "Existing TLS Secret (tls.crt, tls.key, ca.crt) in the platform namespace; unset: a cert-manager Certificate.",
    },
    monitoring: {
        schema: bool(),
        default: { production: true, development: false },
        doc: "redis_exporter sidecar, ServiceMonitor and PrometheusRule.",
    },
    monitoringNamespace: {
        schema: str({ pattern: DNS_LABEL, maxLength: 63 }),
        default: "monitoring",
        doc: "Namespace of Prometheus (admitted to the exporter port).",
    },
    exporterImage: {
        schema: str({ pattern: PINNED_IMAGE, allowed: "a pinned image reference (no :latest)" }),
        default: "oliver006/redis_exporter:v1.67.0",
        doc: "redis_exporter image.",
    },
    sentinelStorageSize: {
        schema: str({ pattern: BYTES_QUANTITY, allowed: "a size such as 1Gi" }),
        default: "1Gi",
        doc: "Volume per Sentinel pod (its persisted state).",
    },
});
