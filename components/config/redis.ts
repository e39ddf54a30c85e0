/** Redis settings. */
import type { z } from "zod";
import {
    BYTES_QUANTITY,
    CPU_QUANTITY,
    DNS_LABEL,
    INSTANCE_NAME,
    INSTANCE_NAME_ALLOWED,
    INSTANCE_NAME_MAX_LENGTH,
    PEM_CERTIFICATES,
    PINNED_IMAGE,
} from "./names";
import { backupScheduleSchema } from "./backups";
import { Profile, byProfile, choice, flag, integer, listOf, mapOf, section, text } from "./fields";

/** A label key: an optional DNS-subdomain prefix and `/`, then a name of up to 63 characters. */
const LABEL_KEY =
    /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
/** A label value: empty, or alphanumerics at both ends with `-`, `_` and `.` between. */
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** The settings of one Redis group: the section's own (the `default` group) and each of `groups`. */
function redisSettings(profile: Profile) {
    return {
        mode: choice(["sentinel", "standalone"])
            .default(byProfile(profile, { production: "sentinel", development: "standalone" }))
            .describe("Sentinel HA group or a single standalone pod."),
        image: text({ pattern: PINNED_IMAGE, allowed: "a pinned image reference (no :latest)" })
            .default("redis:7.4.6-alpine")
            .describe("Official Redis image."),
        replicas: integer(1, 9)
            .default(byProfile(profile, { production: 3, development: 1 }))
            .describe("Data pods."),
        sentinels: integer(1, 9)
            .default(byProfile(profile, { production: 3, development: 1 }))
            .describe("Sentinel pods."),
        quorum: integer(1, 9).default(2).describe("Sentinels that must agree the master is down."),
        masterName: text({ pattern: DNS_LABEL, maxLength: 40 })
            .default("redis-primary")
            .describe("Master group name announced by Sentinel."),
        databases: integer(1, 1024)
            .default(16)
            .describe(
                "Logical databases of the applications; each application's redisDb must be below it (the servers get one more, the platform's own).",
            ),
        downAfterMilliseconds: integer(1000, 60000).default(5000).describe("Sentinel down-after-milliseconds."),
        failoverTimeoutMilliseconds: integer(5000, 600000)
            .default(20000)
            .describe("Sentinel failover-timeout; a failed attempt (e.g. a split vote) is retried after twice this."),
        maxmemory: text({ pattern: /^[0-9]+(mb|gb)$/, allowed: "a size such as 256mb or 2gb" })
            .optional()
            .describe(
                "Redis maxmemory. Unset: the largest that fits `memory` (a fork's copy-on-write can double the dataset; replica output buffers and the backlog come on top); a larger value is refused.",
            ),
        replicaOutputBufferLimit: text({ pattern: /^[0-9]+mb$/, allowed: "a size such as 256mb" })
            .default("256mb")
            .describe(
                "Sentinel mode: hard `client-output-buffer-limit` of each replica's link (soft: a quarter of it for 60 s). A replica whose full sync needs more is dropped and retries; counted once per replica against `memory`.",
            ),
        snapshots: listOf(
            section({
                seconds: integer(60, 86400).describe("Seconds since the last snapshot."),
                changes: integer(1, 100000000).describe("Writes since the last snapshot."),
            }),
            { maxItems: 8 },
        )
            .default([])
            .describe(
                "RDB snapshots beside the AOF, one `save <seconds> <changes>` rule each (any rule met starts a BGSAVE); empty: none. The AOF stays the durable copy (at most a second of writes lost); a snapshot is the one compact file a backup copies and a restore loads (README, Backup and restore), and loses what came after it. Each snapshot forks (copy-on-write within the memory `maxmemory` already leaves for AOF rewrites) and writes the whole dataset to the volume.",
            ),
        backup: backupScheduleSchema
            .optional()
            .describe(
                "A scheduled copy of the master's RDB (`redis-cli --rdb` as the ACL user `backup`, which may only SYNC) uploaded to `backups` under `redis/<group>/`; unset: none.",
            ),
        maxmemoryPolicy: choice([
            "noeviction",
            "allkeys-lru",
            "volatile-lru",
            "allkeys-lfu",
            "volatile-lfu",
            "allkeys-random",
            "volatile-random",
            "volatile-ttl",
        ])
            .default("noeviction")
            .describe("Eviction policy."),
        storageSize: text({ pattern: BYTES_QUANTITY, allowed: "a size such as 8Gi" })
            .default(byProfile(profile, { production: "8Gi", development: "1Gi" }))
            .describe(
                "Volume per data pod. A larger size grows each pod's volume in place, no pod restarted (the StorageClass must allow volume expansion: AKS's built-in ones do); a volume never shrinks (`plan:diff` and Kubernetes refuse it).",
            ),
        cpu: text({ pattern: CPU_QUANTITY, allowed: "a CPU quantity such as 500m" })
            .default(byProfile(profile, { production: "1", development: "100m" }))
            .describe("CPU request and limit per data pod."),
        memory: text({ pattern: /^[0-9]+(Mi|Gi)$/, allowed: "a memory size such as 2Gi" })
            .default(byProfile(profile, { production: "2Gi", development: "256Mi" }))
            .describe("Memory request and limit per data pod."),
        tls: flag()
            .default(byProfile(profile, { production: true, development: false }))
            .describe(
                "TLS for clients, replication and Sentinel. Production keeps it on every shared group; a dedicated group may go without for clients that set no TLS options, and only its application's namespace reaches it (its traffic in clear on the pod network).",
            ),
        tlsIssuerKind: choice(["ClusterIssuer", "Issuer"])
            .default("ClusterIssuer")
            .describe("cert-manager issuer kind for the Redis certificate."),
        tlsIssuerName: text({ pattern: DNS_LABEL, maxLength: 63 })
            .default("platform-ca")
            .describe("cert-manager issuer name for the Redis certificate."),
        tlsSecretName: text({ pattern: DNS_LABEL, maxLength: 63 })
            .optional()
            .describe(
                "Existing TLS Secret (tls.crt, tls.key, ca.crt) in the platform namespace; unset: a cert-manager Certificate.",
            ),
        tlsCaCert: text({ pattern: PEM_CERTIFICATES, allowed: "PEM certificates (-----BEGIN CERTIFICATE-----...)" })
            .optional()
            .describe(
                "Public certificate of the CA that signs the Redis certificate (the issuer's, or `ca.crt` of `tlsSecretName`), handed to applications as `REDIS_CA_CERT`; required with `tls` (clients verify the servers against it).",
            ),
        monitoring: flag()
            .default(byProfile(profile, { production: true, development: false }))
            .describe("redis_exporter sidecar, ServiceMonitor and PrometheusRule."),
        monitoringLabels: mapOf(
            text({ pattern: LABEL_KEY, maxLength: 317, allowed: "a Kubernetes label key such as release" }),
            text({ pattern: LABEL_VALUE, maxLength: 63, allowed: "a Kubernetes label value (at most 63 characters)" }),
        )
            .default({})
            .describe(
                "Labels added to the ServiceMonitor and PrometheusRule, for a Prometheus that selects them (kube-prometheus-stack: `release: <its release name>`); the platform's own labels take precedence.",
            ),
        monitoringNamespace: text({ pattern: DNS_LABEL, maxLength: 63 })
            .default("monitoring")
            .describe("Namespace of Prometheus (admitted to the exporter port)."),
        exporterImage: text({ pattern: PINNED_IMAGE, allowed: "a pinned image reference (no :latest)" })
            .default("oliver006/redis_exporter:v1.67.0")
            .describe("redis_exporter image."),
        sentinelStorageSize: text({ pattern: BYTES_QUANTITY, allowed: "a size such as 1Gi" })
            .default("1Gi")
            .describe("Volume per Sentinel pod (its persisted state); grows like `storageSize`, never shrinks."),
    };
}

/**
 * The `redis` section: the settings of the `default` group, and further named groups. A named group takes the same
 * keys, with the profile's defaults for those it does not set (nothing is inherited from the section: a group does not
 * change when another's settings do).
 */
export function redisSchema(profile: Profile) {
    return section({
        ...redisSettings(profile),
        groups: mapOf(
            text({ pattern: INSTANCE_NAME, maxLength: INSTANCE_NAME_MAX_LENGTH, allowed: INSTANCE_NAME_ALLOWED }),
            section({
                ...redisSettings(profile),
                dedicated: flag()
                    .default(false)
                    .describe(
                        "The group serves one application alone: its ACL user reaches every key and channel (`~*`, `&*`), so clients that write unprefixed keys (Celery, sessions) connect unmodified, under the group's own memory and eviction policy; only its namespace reaches the group's ports. Not for a tenant stack's applications.",
                    ),
            }).describe("A named group: the keys of the section, and `dedicated`."),
        )
            .default({})
            .describe(
                "Further Redis groups by name, each its own servers, Sentinels, memory and eviction policy; applications choose one with `apps[].redis.group` (default: the section's own group, `default`).",
            ),
    });
}

/** The `redis` section as parsed. */
export type RedisSection = z.output<ReturnType<typeof redisSchema>>;
/** The settings of one Redis group (`group` names a named one; unset: the section's own, `default`). */
export type RedisConfig = Omit<RedisSection, "groups"> & {
    readonly group?: string;
    readonly dedicated?: boolean;
};
export type RedisMode = RedisConfig["mode"];
