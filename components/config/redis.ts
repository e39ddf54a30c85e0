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
    readonly downAfterMilliseconds: number;
    readonly failoverTimeoutMilliseconds: number;
    readonly maxmemory: string;
    readonly maxmemoryPolicy: "noeviction" | "allkeys-lru" | "volatile-lru" | "allkeys-lfu" | "volatile-lfu" | "allkeys-random" | "volatile-random" | "volatile-ttl";
    readonly storageSize: string;
    readonly cpu: string;
    readonly memory: string;
    readonly tls: boolean;
    readonly monitoring: boolean;
}

export const redisSchema = object<RedisConfig>({
    mode: { schema: oneOf<RedisMode>(["sentinel", "standalone"]), default: { production: "sentinel", development: "standalone" }, doc: "Sentinel HA group or a single standalone pod." },
    image: { schema: str({ pattern: PINNED_IMAGE, allowed: "a pinned image reference (no :latest)" }), default: "redis:7.4.6-alpine", doc: "Official Redis image." },
    replicas: { schema: int(1, 9), default: { production: 3, development: 1 }, doc: "Data pods." },
    sentinels: { schema: int(1, 9), default: { production: 3, development: 1 }, doc: "Sentinel pods." },
    quorum: { schema: int(1, 9), default: 2, doc: "Sentinels that must agree the master is down." },
    masterName: { schema: str({ pattern: DNS_LABEL, maxLength: 40 }), default: "redis-primary", doc: "Master group name announced by Sentinel." },
    downAfterMilliseconds: { schema: int(1000, 60000), default: 5000, doc: "Sentinel down-after-milliseconds." },
    failoverTimeoutMilliseconds: { schema: int(5000, 600000), default: 60000, doc: "Sentinel failover-timeout." },
    maxmemory: { schema: str({ pattern: /^[0-9]+(mb|gb)$/, allowed: "a size such as 256mb or 2gb" }), default: { production: "1536mb", development: "128mb" }, doc: "Redis maxmemory." },
    maxmemoryPolicy: { schema: oneOf(["noeviction", "allkeys-lru", "volatile-lru", "allkeys-lfu", "volatile-lfu", "allkeys-random", "volatile-random", "volatile-ttl"] as const), default: "noeviction", doc: "Eviction policy." },
    storageSize: { schema: str({ pattern: BYTES_QUANTITY, allowed: "a size such as 8Gi" }), default: { production: "8Gi", development: "1Gi" }, doc: "Volume per data pod." },
    cpu: { schema: str({ pattern: CPU_QUANTITY, allowed: "a CPU quantity such as 500m" }), default: { production: "1", development: "100m" }, doc: "CPU request and limit per data pod." },
    memory: { schema: str({ pattern: /^[0-9]+(Mi|Gi)$/, allowed: "a memory size such as 2Gi" }), default: { production: "2Gi", development: "256Mi" }, doc: "Memory request and limit per data pod." },
    tls: { schema: bool(), default: { production: true, development: false }, doc: "TLS for clients, replication and Sentinel." },
    monitoring: { schema: bool(), default: { production: true, development: false }, doc: "redis_exporter sidecar, ServiceMonitor and PrometheusRule." },
});
