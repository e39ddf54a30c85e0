/**
 * The rendered Redis files: redis.conf, the Sentinel configuration, and the POSIX shell scripts
 * (`scripts/*.sh`, read at render time) that start, probe and stop the processes. The same text goes into
 * the ConfigMap, the integration tests and the sandbox; only the `RedisLayout` (addresses, ports, directories)
 * differs, and it reaches the scripts through the settings at the top of `lib.sh`.
 *
 * Nothing here contains a password: the scripts read them from the mounted Secret at start.
 * Per process, the scripts need `SELF_NAME` (`<statefulset>-<ordinal>`), `SELF_HOST` and `SELF_PORT`.
 */
import * as path from "path";
import type { RedisConfig } from "../config/redis";
import { ScriptValues, renderScript } from "../scriptTemplate";
import { ACL_MARKER_PREFIX, USERS } from "./acl";
import type { Endpoint, RedisLayout } from "./layout";

/** Keys of the files in the ACL directory (the synced Secret `redis-acl`): what the servers load. */
export const ACL_FILES = { data: "users.acl", sentinel: "sentinel-users.acl" } as const;

/**
 * The file of part `index` of the data nodes' users file in the `redis-acl` Secret: `users.acl`, then `users.acl.001`,
 * ... (zero-padded, so a glob lists them in order); the pods join them (`assemble_data_acl`, scripts/lib.sh).
 */
export function dataAclPartFile(index: number): string {
    return index === 0 ? ACL_FILES.data : `${ACL_FILES.data}.${String(index).padStart(3, "0")}`;
}

/**
 * The file of part `index` of a tenant stack's users file (`renderTenantDataAcl`), `suffix` naming the stack:
 * `users.acl.<suffix>.000`, ... The tenant's own Secret is projected into the same ACL directory, and its files sort
 * after the platform's (`users.acl.001`: a digit before the suffix's letter), so `assemble_data_acl` joins them after
 * the platform's marker and every start and sync loads them.
 */
export function tenantDataAclFile(suffix: string, index: number): string {
    if (!/^[a-z][a-z0-9]*$/.test(suffix)) {
        throw new Error(`a tenant suffix is a lowercase letter then letters and digits: ${suffix}`);
    }
    return `${ACL_FILES.data}.${suffix}.${String(index).padStart(3, "0")}`;
}

/** Keys of the files in the auth directory (the synced Secret `redis-auth`): the passwords the scripts use. */
export const AUTH_FILES = {
    admin: "admin-password",
    monitor: "monitor-password",
    replication: "replication-password",
    sentinel: "sentinel-password",
    sentinelClient: "sentinel-client-password",
    backup: "backup-password",
} as const;

/** cert-manager's key names in a TLS Secret. */
export const TLS_FILES = { cert: "tls.crt", key: "tls.key", ca: "ca.crt" } as const;

/** Names of the rendered files (ConfigMap keys); each script's source is `scripts/<name>`. */
export const FILES = {
    redisConf: "redis.conf",
    sentinelConf: "sentinel.conf",
    sentinelMasterConf: "sentinel-master.conf",
    /** Settings and helpers every script sources. */
    lib: "lib.sh",
    /** Data node start: decide master or replica, write redis.conf, exec redis-server. */
    startRedis: "start-redis.sh",
    /** Sentinel start: keep the persisted state (epochs, current master, known peers), regenerate the rest. */
    startSentinel: "start-sentinel.sh",
    /** preStop of a data node: if it is the master, pause writes, ask Sentinel for a failover and wait for it. */
    preStopRedis: "prestop-redis.sh",
    /** Readiness: a master is ready; a replica only with its replication link up and no sync running. */
    readyRedis: "ready-redis.sh",
    /** Liveness: PING, accepting LOADING (AOF load) and MASTERDOWN (replica of an unreachable master). */
    liveRedis: "live-redis.sh",
    /** Readiness and liveness of a Sentinel: PING. */
    readySentinel: "ready-sentinel.sh",
    /** Sidecar of a data node: applies changed users, credentials and certificates to the running server. */
    watchRedis: "watch-redis.sh",
    /** Sidecar of a Sentinel: applies changed users and credentials; restarts it, alone, for a new certificate. */
    watchSentinel: "watch-sentinel.sh",
    /** The ACL sync Job: waits until every server applied the users files carrying its marker. */
    awaitAcl: "await-acl.sh",
} as const;

/** The files each group's pods run (a change to another group's files must not restart them). */
export const GROUP_FILES = {
    data: [
        FILES.redisConf,
        FILES.lib,
        FILES.startRedis,
        FILES.readyRedis,
        FILES.liveRedis,
        FILES.preStopRedis,
        FILES.watchRedis,
    ],
    sentinel: [
        FILES.sentinelConf,
        FILES.sentinelMasterConf,
        FILES.lib,
        FILES.startSentinel,
        FILES.readySentinel,
        FILES.watchSentinel,
    ],
} as const;

/** How often the sidecars look at the mounted Secrets (the kubelet's own sync takes up to about a minute). */
export const WATCH_SECONDS = 2;
/** How long a Sentinel restarting for a new certificate holds the lock that keeps the others from restarting. */
export const RESTART_LOCK_SECONDS = 20;
/**
 * Where that lock lives on the master: a key the admin sets, in a database of the platform's own, one past every
 * application's (`databases` is rendered one higher). No tenant can select it, so none can hold or drop the lock (in
 * database 0, where every connection starts, an application with key pattern `*` could, and block every reload).
 */
export function restartLock(redis: Pick<RedisConfig, "databases">): { readonly db: number; readonly key: string } {
    return { db: redis.databases, key: "data-platform:sentinel-restart" };
}

/** Timing of the graceful hand-over in preStop; the pod's grace period is derived from it. */
export const PRESTOP_WAIT_SECONDS = 45;
export const TERMINATION_GRACE_SECONDS = PRESTOP_WAIT_SECONDS + 15;
/** How long a starting data node waits for Sentinels that disagree before giving up (the container restarts). */
export const START_WAIT_SECONDS = 120;
/** Replication lag (s) after which a master stops counting a replica for `min-replicas-to-write`. */
export const MIN_REPLICAS_MAX_LAG = 10;

/**
 * Seconds from a master's death to a promoted replica that accepts writes: detection
 * (down-after) plus agreement, the election (Sentinel desynchronises starts by up to 1 s) and
 * promotion, each about a second; measured by `npm run bench:failover`.
 */
export function promisedFailoverSeconds(redis: Pick<RedisConfig, "downAfterMilliseconds">): number {
    return redis.downAfterMilliseconds / 1000 + 5;
}

/** Memory the process needs besides its dataset and buffers: allocator, code, connections (a floor). */
const BASE_OVERHEAD_MIB = 32;
/** `repl-backlog-size` (sentinel mode). */
const REPL_BACKLOG_MIB = 64;

/** MiB of a Kubernetes memory quantity (`Mi`, `Gi`) or a redis.conf size (`mb`, `gb`: 1024-based in Redis). */
export function mebibytes(size: string): number {
    const match = /^([0-9]+)(Mi|mb|Gi|gb)$/.exec(size);
    if (!match) {
        throw new Error(`not a size in Mi/Gi or mb/gb: ${size}`);
    }
    return Number(match[1]) * (/^(Gi|gb)$/.test(match[2]) ? 1024 : 1);
}

/**
 * The largest maxmemory (MiB) that fits the container's memory limit. A fork (AOF rewrite, a replica's full sync)
 * shares pages copy-on-write, and "while saving an RDB file on disk or rewriting the AOF log, Redis can use up to
 * 2 times the memory normally used" (redis.io, Redis administration); on top: each replica's output buffer at its
 * hard limit and the backlog (sentinel mode), and a base. Beyond the limit the kernel OOM-kills the container.
 */
export function maxmemoryCeilingMiB(
    redis: Pick<RedisConfig, "mode" | "memory" | "replicas" | "replicaOutputBufferLimit">,
): number {
    const replication =
        redis.mode === "sentinel"
            ? (redis.replicas - 1) * mebibytes(redis.replicaOutputBufferLimit) + REPL_BACKLOG_MIB
            : 0;
    return Math.floor((mebibytes(redis.memory) - BASE_OVERHEAD_MIB - replication) / 2);
}

/** The maxmemory redis.conf gets (MiB): the configured one, or the ceiling. */
export function maxmemoryMiB(
    redis: Pick<RedisConfig, "mode" | "memory" | "replicas" | "replicaOutputBufferLimit" | "maxmemory">,
): number {
    return redis.maxmemory !== undefined ? mebibytes(redis.maxmemory) : maxmemoryCeilingMiB(redis);
}

/**
 * What every normal client's buffers (query and reply) may hold together on a data node, in MiB: a tenth of maxmemory.
 * Client buffers count against maxmemory (`used_memory`), so unbounded they refused every tenant's writes (or evicted
 * their keys) while one tenant's connections announced large arguments. The budget is carved out of maxmemory, so the
 * container's memory limit (`maxmemoryCeilingMiB`) needs nothing more: beyond it the largest clients are evicted
 * (`maxmemory-clients`), and no query or reply buffer of one client exceeds it.
 */
export function clientBuffersMiB(redis: Parameters<typeof maxmemoryMiB>[0]): number {
    return Math.max(2, Math.floor(maxmemoryMiB(redis) / 10));
}

/**
 * The largest argument (`proto-max-bulk-len`, MiB): half the clients' budget, so that one argument and its header fit
 * a query buffer. It also caps SETBIT/SETRANGE offsets: one command cannot allocate more.
 */
export function maxArgumentMiB(redis: Parameters<typeof maxmemoryMiB>[0]): number {
    return Math.floor(clientBuffersMiB(redis) / 2);
}

/** The Sentinel container's memory (MiB): a few MiB of its own, plus its clients' buffers. */
export const SENTINEL_MEMORY_MIB = 128;
/**
 * What a Sentinel's clients may hold together (MiB), within `SENTINEL_MEMORY_MIB`: every application holds the Sentinel
 * password, and one connection streaming a 300 MB argument took an unbounded Sentinel to 307 MiB. Its commands are small,
 * so one argument and one query buffer get 1mb.
 */
const SENTINEL_CLIENT_BUFFERS_MIB = 32;

function tlsLines(redis: RedisConfig, layout: RedisLayout): string[] {
    if (!redis.tls) {
        return [];
    }
    const dir = layout.dirs.tls;
    return [
        `tls-cert-file ${dir}/${TLS_FILES.cert}`,
        `tls-key-file ${dir}/${TLS_FILES.key}`,
        `tls-ca-cert-file ${dir}/${TLS_FILES.ca}`,
        "# Replication and Sentinel links use TLS too; clients authenticate with ACL passwords, not certificates.",
        "tls-replication yes",
        "tls-auth-clients no",
    ];
}

/** RDB snapshot rules (`redis.snapshots`); `save ""` turns the default ones off. */
function saveLines(redis: Pick<RedisConfig, "snapshots">): string[] {
    return redis.snapshots.length === 0
        ? ['save ""']
        : [`save ${redis.snapshots.map((s) => `${s.seconds} ${s.changes}`).join(" ")}`];
}

/** Base redis.conf of every data node (the start script appends port, announce address, credentials, role). */
export function renderRedisConf(redis: RedisConfig, layout: RedisLayout): string {
    const sentinel = redis.mode === "sentinel";
    return (
        [
            "# Rendered by data-platform. Appended at start: port, replica-announce-*, masteruser/masterauth, replicaof.",
            "bind * -::*",
            "# The default user is off and has no password: ACLs are the access control.",
            "protected-mode no",
            `dir ${layout.dirs.data}`,
            // Joined from its parts by the start script (the Secret holds the users file in parts).
            `aclfile ${layout.dirs.run}/${ACL_FILES.data}`,
            "# One more than the applications': the last is the platform's own (restartLock).",
            `databases ${restartLock(redis).db + 1}`,
            "appendonly yes",
            "appendfsync everysec",
            "aof-use-rdb-preamble yes",
            ...saveLines(redis),
            `maxmemory ${maxmemoryMiB(redis)}mb`,
            `maxmemory-policy ${redis.maxmemoryPolicy}`,
            "# Client buffers count against maxmemory: all together at most a tenth of it (the largest clients are evicted",
            "# beyond), no query or reply buffer larger, no argument over half of it.",
            `maxmemory-clients ${clientBuffersMiB(redis)}mb`,
            `client-query-buffer-limit ${clientBuffersMiB(redis)}mb`,
            `proto-max-bulk-len ${maxArgumentMiB(redis)}mb`,
            `client-output-buffer-limit normal ${clientBuffersMiB(redis)}mb 0 0`,
            "tcp-keepalive 60",
            "# A SIGTERM-ed master waits this long for lagging replicas.",
            "shutdown-timeout 10",
            ...(sentinel
                ? [
                      "# Bound the writes an isolated master can accept (redis/docs sentinel.md, Example 2).",
                      "min-replicas-to-write 1",
                      `min-replicas-max-lag ${MIN_REPLICAS_MAX_LAG}`,
                      "replica-read-only yes",
                      "replica-serve-stale-data yes",
                      "replica-priority 100",
                      "repl-diskless-sync yes",
                      `repl-backlog-size ${REPL_BACKLOG_MIB}mb`,
                      "# A replica whose sync needs more is dropped (and retries); the memory budget counts this per replica.",
                      `client-output-buffer-limit replica ${redis.replicaOutputBufferLimit} ${mebibytes(redis.replicaOutputBufferLimit) / 4}mb 60`,
                  ]
                : []),
            ...tlsLines(redis, layout),
        ].join("\n") + "\n"
    );
}

/** Global part of sentinel.conf. */
export function renderSentinelConf(redis: RedisConfig, layout: RedisLayout): string {
    return (
        [
            "# Rendered by data-platform. Appended at start: port, announce-ip/port, sentinel-pass, state (monitor, epochs, known peers).",
            "bind * -::*",
            "protected-mode no",
            `dir ${layout.dirs.sentinelData}`,
            `aclfile ${layout.dirs.acl}/${ACL_FILES.sentinel}`,
            "sentinel resolve-hostnames yes",
            "sentinel announce-hostnames yes",
            "sentinel deny-scripts-reconfig yes",
            `sentinel sentinel-user ${USERS.sentinel}`,
            `# Clients' buffers bounded within the container's ${SENTINEL_MEMORY_MIB}Mi.`,
            `maxmemory-clients ${SENTINEL_CLIENT_BUFFERS_MIB}mb`,
            "client-query-buffer-limit 1mb",
            "proto-max-bulk-len 1mb",
            ...tlsLines(redis, layout),
        ].join("\n") + "\n"
    );
}

/** Settings of the monitored master; they follow the `sentinel monitor` line. */
export function renderSentinelMasterConf(redis: RedisConfig): string {
    const m = redis.masterName;
    return (
        [
            `sentinel down-after-milliseconds ${m} ${redis.downAfterMilliseconds}`,
            `sentinel failover-timeout ${m} ${redis.failoverTimeoutMilliseconds}`,
            `sentinel parallel-syncs ${m} 1`,
            `sentinel auth-user ${m} ${USERS.sentinel}`,
        ].join("\n") + "\n"
    );
}

function endpoints(list: readonly Endpoint[]): string {
    return list.map((e) => `${e.host}:${e.port}`).join(" ");
}

/**
 * Where the scripts live (`scripts/<FILES value>`), and the values their `@NAME@` placeholders stand for. They source
 * `lib.sh` by its name, the same in `scripts/` and in the ConfigMap, so shellcheck follows it.
 */
const SCRIPTS_DIR = path.join(__dirname, "scripts");
const SCRIPT_VALUES: ScriptValues = {
    REDIS_CONF: FILES.redisConf,
    SENTINEL_CONF: FILES.sentinelConf,
    SENTINEL_MASTER_CONF: FILES.sentinelMasterConf,
    TLS_CA: TLS_FILES.ca,
    ADMIN_PASSWORD_FILE: AUTH_FILES.admin,
    MONITOR_PASSWORD_FILE: AUTH_FILES.monitor,
    REPLICATION_PASSWORD_FILE: AUTH_FILES.replication,
    SENTINEL_PASSWORD_FILE: AUTH_FILES.sentinel,
    SENTINEL_CLIENT_PASSWORD_FILE: AUTH_FILES.sentinelClient,
    DATA_ACL_FILE: ACL_FILES.data,
    SENTINEL_ACL_FILE: ACL_FILES.sentinel,
    TLS_CERT: TLS_FILES.cert,
    TLS_KEY: TLS_FILES.key,
    ADMIN_USER: USERS.admin,
    ACL_MARKER_PREFIX,
    MONITOR_USER: USERS.monitor,
    REPLICATION_USER: USERS.replication,
    SENTINEL_USER: USERS.sentinel,
    // prestop-redis.sh has always shipped a raw carriage return in `tr -d '<CR>'` (tr reads '\r' the same way);
    // the placeholder keeps that byte out of the source until a change may alter the ConfigMap.
    CR: "\r",
};

function renderScriptFile(file: string, values: ScriptValues = {}): string {
    return renderScript(SCRIPTS_DIR, file, { ...SCRIPT_VALUES, ...values });
}

/** Settings every script sources (from the config and layout), then the helpers of `scripts/lib.sh`. */
export function renderLib(redis: RedisConfig, layout: RedisLayout): string {
    const d = layout.dirs;
    const bootstrap = layout.dataNodes[0];
    const settings = [
        "# Sourced by the Redis scripts. Rendered by data-platform.",
        `MODE=${redis.mode}`,
        `MASTER_NAME=${redis.masterName}`,
        `SENTINELS="${endpoints(layout.sentinels)}"`,
        `DATA_NODES="${endpoints(layout.dataNodes)}"`,
        `BOOTSTRAP_MASTER="${bootstrap.host}:${bootstrap.port}"`,
        `TLS=${redis.tls ? "yes" : "no"}`,
        `CONFIG_DIR=${d.config}`,
        `ACL_DIR=${d.acl}`,
        `AUTH_DIR=${d.auth}`,
        `TLS_DIR=${d.tls}`,
        `DATA_DIR=${d.data}`,
        `SENTINEL_DATA_DIR=${d.sentinelData}`,
        `RUN_DIR=${d.run}`,
        `START_WAIT_SECONDS=${START_WAIT_SECONDS}`,
        `PRESTOP_WAIT_SECONDS=${PRESTOP_WAIT_SECONDS}`,
        `WATCH_SECONDS=${WATCH_SECONDS}`,
        `RESTART_LOCK_SECONDS=${RESTART_LOCK_SECONDS}`,
    ];
    return settings.map((line) => `${line}\n`).join("") + renderScriptFile(FILES.lib);
}

/**
 * The files of a tenant stack's ACL sync Job (its own ConfigMap in the platform namespace): `await-acl.sh` and its
 * settings, with the data nodes only. A tenant's marker is in the data nodes' users file alone: the Sentinels' file is
 * the platform's (no application user logs in to a Sentinel but as its `default` user).
 */
export function renderTenantAclSyncFiles(redis: RedisConfig, layout: RedisLayout): Record<string, string> {
    return {
        [FILES.lib]: renderLib(redis, { ...layout, sentinels: [] }),
        [FILES.awaitAcl]: renderScriptFile(FILES.awaitAcl),
    };
}

/** Every rendered file by name (the ConfigMap's data). */
export function renderFiles(redis: RedisConfig, layout: RedisLayout): Record<string, string> {
    const files: Record<string, string> = {
        [FILES.redisConf]: renderRedisConf(redis, layout),
        [FILES.lib]: renderLib(redis, layout),
        [FILES.startRedis]: renderScriptFile(FILES.startRedis),
        [FILES.readyRedis]: renderScriptFile(FILES.readyRedis),
        [FILES.liveRedis]: renderScriptFile(FILES.liveRedis),
        [FILES.watchRedis]: renderScriptFile(FILES.watchRedis),
        [FILES.awaitAcl]: renderScriptFile(FILES.awaitAcl),
    };
    if (redis.mode === "sentinel") {
        files[FILES.sentinelConf] = renderSentinelConf(redis, layout);
        files[FILES.sentinelMasterConf] = renderSentinelMasterConf(redis);
        files[FILES.startSentinel] = renderScriptFile(FILES.startSentinel, { QUORUM: String(redis.quorum) });
        files[FILES.preStopRedis] = renderScriptFile(FILES.preStopRedis);
        files[FILES.readySentinel] = renderScriptFile(FILES.readySentinel);
        files[FILES.watchSentinel] = renderScriptFile(FILES.watchSentinel, {
            RESTART_LOCK_KEY: restartLock(redis).key,
            RESTART_LOCK_DB: String(restartLock(redis).db),
        });
    }
    return files;
}
