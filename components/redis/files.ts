/**
 * The rendered Redis files (pure): redis.conf, the Sentinel configuration, and the POSIX shell
 * scripts that start, probe and stop the processes. The same text goes into the ConfigMap, the
 * integration tests and the sandbox; only the `RedisLayout` (addresses, ports, directories) differs.
 *
 * Nothing here contains a password: the scripts read them from the mounted Secret at start.
 * Per process, the scripts need `SELF_NAME` (`<statefulset>-<ordinal>`), `SELF_HOST` and `SELF_PORT`.
 */
import type { RedisConfig } from "../config/redis";
import { USERS } from "./acl";
import type { Endpoint, RedisLayout } from "./layout";

/** Keys of the files in the auth directory (the synced Secret). */
export const AUTH_FILES = {
    dataAcl: "users.acl",
    sentinelAcl: "sentinel-users.acl",
    admin: "admin-password",
    monitor: "monitor-password",
    replication: "replication-password",
    sentinel: "sentinel-password",
    sentinelClient: "sentinel-client-password",
} as const;

/** cert-manager's key names in a TLS Secret. */
export const TLS_FILES = { cert: "tls.crt", key: "tls.key", ca: "ca.crt" } as const;

/** Names of the rendered files (ConfigMap keys). */
export const FILES = {
    redisConf: "redis.conf",
    sentinelConf: "sentinel.conf",
    sentinelMasterConf: "sentinel-master.conf",
    lib: "lib.sh",
    startRedis: "start-redis.sh",
    startSentinel: "start-sentinel.sh",
    preStopRedis: "prestop-redis.sh",
    readyRedis: "ready-redis.sh",
    liveRedis: "live-redis.sh",
    readySentinel: "ready-sentinel.sh",
} as const;

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
            `aclfile ${layout.dirs.auth}/${AUTH_FILES.dataAcl}`,
            `databases ${redis.databases}`,
            "appendonly yes",
            "appendfsync everysec",
            "aof-use-rdb-preamble yes",
            'save ""',
            `maxmemory ${redis.maxmemory}`,
            `maxmemory-policy ${redis.maxmemoryPolicy}`,
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
                      "repl-backlog-size 64mb",
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
            `aclfile ${layout.dirs.auth}/${AUTH_FILES.sentinelAcl}`,
            "sentinel resolve-hostnames yes",
            "sentinel announce-hostnames yes",
            "sentinel deny-scripts-reconfig yes",
            `sentinel sentinel-user ${USERS.sentinel}`,
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

/** Settings and helpers every script sources. */
export function renderLib(redis: RedisConfig, layout: RedisLayout): string {
    const d = layout.dirs;
    const bootstrap = layout.dataNodes[0];
    return `# Sourced by the Redis scripts. Rendered by data-platform.
MODE=${redis.mode}
MASTER_NAME=${redis.masterName}
QUORUM=${redis.quorum}
SENTINELS="${endpoints(layout.sentinels)}"
DATA_NODES="${endpoints(layout.dataNodes)}"
BOOTSTRAP_MASTER="${bootstrap.host}:${bootstrap.port}"
TLS=${redis.tls ? "yes" : "no"}
CONFIG_DIR=${d.config}
AUTH_DIR=${d.auth}
TLS_DIR=${d.tls}
DATA_DIR=${d.data}
SENTINEL_DATA_DIR=${d.sentinelData}
RUN_DIR=${d.run}
START_WAIT_SECONDS=${START_WAIT_SECONDS}
PRESTOP_WAIT_SECONDS=${PRESTOP_WAIT_SECONDS}
TLS_ARGS=""
if [ "$TLS" = yes ]; then TLS_ARGS="--tls --cacert $TLS_DIR/${TLS_FILES.ca}"; fi

# Static Sentinel id: the same on every fresh start, and known to the peers in advance.
myid() { printf '%s' "$1" | sha1sum | cut -c1-40; }

log() { echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $*" >&2; }

# rcli <password file> [redis-cli arguments]: redis-cli with TLS and a password from the Secret, bounded in time.
rcli() {
    pwfile=$1
    shift
    REDISCLI_AUTH="$(cat "$AUTH_DIR/$pwfile")" timeout 5 redis-cli --no-auth-warning $TLS_ARGS "$@"
}

# Double-quoted config value (the file format's escaping).
quote() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\\\/\\\\\\\\/g; s/"/\\\\"/g')"; }

# sentinel_votes [skip]: "<count> <host:port>" lines, most named master first, from every Sentinel but <skip>.
sentinel_votes() {
    skip="\${1:-}"
    for s in $SENTINELS; do
        [ "$s" = "$skip" ] && continue
        reply=$(rcli ${AUTH_FILES.sentinelClient} -h "\${s%:*}" -p "\${s##*:}" SENTINEL get-master-addr-by-name "$MASTER_NAME" 2>/dev/null | tr '\\r\\n' '  ') || reply=""
        # shellcheck disable=SC2086
        set -- $reply
        if [ $# -eq 2 ] && [ "$2" -eq "$2" ] 2>/dev/null; then echo "$1:$2"; fi
    done | sort | uniq -c | sort -rn
}
`;
}

/** Data node start: decide master or replica, write redis.conf, exec redis-server. */
export function renderStartRedis(): string {
    return `#!/bin/sh
# Starts a data node. The Sentinels decide who is master; only ordinal 0 of a brand-new group
# (no Sentinel answers, nothing persisted) starts as master on its own. Everything else is a replica.
set -eu
: "\${SELF_NAME:?}" "\${SELF_HOST:?}" "\${SELF_PORT:?}"
. "$(dirname "$0")/${FILES.lib}"
SELF="$SELF_HOST:$SELF_PORT"
ORDINAL="\${SELF_NAME##*-}"

has_state() { [ -n "$(ls -A "$DATA_DIR/appendonlydir" 2>/dev/null)" ]; }

# Does another data node hold keys? (An empty master would wipe them through full resyncs.)
others_have_data() {
    for d in $DATA_NODES; do
        [ "$d" = "$SELF" ] && continue
        if rcli ${AUTH_FILES.monitor} --user ${USERS.monitor} -h "\${d%:*}" -p "\${d##*:}" INFO keyspace 2>/dev/null | grep -q '^db[0-9]*:keys='; then
            return 0
        fi
    done
    return 1
}

role=master
if [ "$MODE" = sentinel ]; then
    deadline=$(( $(date +%s) + START_WAIT_SECONDS ))
    attempt=0
    while :; do
        attempt=$((attempt + 1))
        top=$(sentinel_votes | head -n 1)
        votes=0
        named=""
        # shellcheck disable=SC2086
        [ -n "$top" ] && set -- $top && votes=$1 && named=$2
        if [ "$votes" -ge "$QUORUM" ]; then
            if [ "$named" != "$SELF" ]; then
                role="$named"
                log "$votes Sentinels name $named as master"
                break
            fi
            if has_state || ! others_have_data; then
                role=master
                log "$votes Sentinels name me ($named) as master"
                break
            fi
            # Lost volume: stay down so the Sentinels fail over to a replica that has the data.
            [ -n "\${lost_logged:-}" ] || log "Sentinels name me as master but my data is gone and other nodes hold data: waiting for a failover"
            lost_logged=yes
        fi
        if [ "$attempt" -ge 2 ]; then
            if [ "$votes" -gt 0 ] && [ "$named" != "$SELF" ]; then
                role="$named"
                log "$votes Sentinel(s) name $named as master (below quorum): starting as its replica"
                break
            fi
            if [ "$votes" -eq 0 ] && [ "$ORDINAL" = 0 ] && ! has_state; then
                role=master
                log "no Sentinel answers and nothing is persisted: bootstrapping a new group as master"
                break
            fi
            if [ "$votes" -eq 0 ] && [ "$ORDINAL" != 0 ]; then
                role="$BOOTSTRAP_MASTER"
                log "no Sentinel answers: starting as replica of the bootstrap node $BOOTSTRAP_MASTER"
                break
            fi
            [ "$attempt" -eq 2 ] && log "waiting for the Sentinels to name a master ($votes of $QUORUM agree)"
        fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            log "no usable answer from the Sentinels within \${START_WAIT_SECONDS}s; not starting as master on my own"
            exit 1
        fi
        sleep 2
    done
fi

mkdir -p "$RUN_DIR"
conf="$RUN_DIR/redis.conf"
umask 077
{
    cat "$CONFIG_DIR/${FILES.redisConf}"
    if [ "$TLS" = yes ]; then echo "port 0"; echo "tls-port $SELF_PORT"; else echo "port $SELF_PORT"; fi
    echo "replica-announce-ip $SELF_HOST"
    echo "replica-announce-port $SELF_PORT"
    if [ "$MODE" = sentinel ]; then
        echo "masteruser ${USERS.replication}"
        echo "masterauth $(quote "$(cat "$AUTH_DIR/${AUTH_FILES.replication}")")"
    fi
    if [ "$role" != master ]; then echo "replicaof \${role%:*} \${role##*:}"; fi
} > "$conf.tmp"
mv "$conf.tmp" "$conf"
log "starting as \${role}"
exec redis-server "$conf"
`;
}

/** Sentinel start: keep the persisted state (epochs, current master, known peers), regenerate the rest. */
export function renderStartSentinel(): string {
    return `#!/bin/sh
# Starts a Sentinel. Its state lives in $SENTINEL_DATA_DIR/sentinel.conf (a volume): the current master,
# epochs and known peers are kept; settings and credentials are regenerated from the rendered files.
set -eu
: "\${SELF_HOST:?}" "\${SELF_PORT:?}"
. "$(dirname "$0")/${FILES.lib}"
SELF="$SELF_HOST:$SELF_PORT"
state="$SENTINEL_DATA_DIR/sentinel.conf"

persisted=$(grep -E '^sentinel (myid|monitor|config-epoch|leader-epoch|known-replica|known-sentinel|current-epoch) ' "$state" 2>/dev/null || true)
monitor=$(printf '%s\\n' "$persisted" | grep "^sentinel monitor $MASTER_NAME " || true)
if [ -n "$monitor" ]; then
    # shellcheck disable=SC2086
    set -- $monitor
    master="$4:$5"
    rest=$(printf '%s\\n' "$persisted" | grep -v '^sentinel monitor ' || true)
    log "persisted state: master $master"
else
    top=$(sentinel_votes "$SELF" | head -n 1)
    if [ -n "$top" ]; then
        # shellcheck disable=SC2086
        set -- $top
        master=$2
        log "no persisted state; other Sentinels name $master"
    else
        master="$BOOTSTRAP_MASTER"
        log "no persisted state and no other Sentinel answers: monitoring the bootstrap node $master"
    fi
    # Pre-seed every replica and peer: a Sentinel that has not yet seen a replica in the master's INFO
    # (refreshed every 10 s) would otherwise leave it pointing at a dead master after a failover.
    rest="sentinel myid $(myid "$SELF")"
    for d in $DATA_NODES; do
        [ "$d" = "$master" ] || rest="$rest
sentinel known-replica $MASTER_NAME \${d%:*} \${d##*:}"
    done
    for s in $SENTINELS; do
        [ "$s" = "$SELF" ] || rest="$rest
sentinel known-sentinel $MASTER_NAME \${s%:*} \${s##*:} $(myid "$s")"
    done
fi

mkdir -p "$SENTINEL_DATA_DIR"
umask 077
{
    cat "$CONFIG_DIR/${FILES.sentinelConf}"
    if [ "$TLS" = yes ]; then echo "port 0"; echo "tls-port $SELF_PORT"; else echo "port $SELF_PORT"; fi
    echo "sentinel announce-ip $SELF_HOST"
    echo "sentinel announce-port $SELF_PORT"
    echo "sentinel sentinel-pass $(quote "$(cat "$AUTH_DIR/${AUTH_FILES.sentinel}")")"
    echo "sentinel monitor $MASTER_NAME \${master%:*} \${master##*:} $QUORUM"
    cat "$CONFIG_DIR/${FILES.sentinelMasterConf}"
    echo "sentinel auth-pass $MASTER_NAME $(quote "$(cat "$AUTH_DIR/${AUTH_FILES.sentinel}")")"
    printf '%s\\n' "$rest"
} > "$state.tmp"
mv "$state.tmp" "$state"
exec redis-sentinel "$state"
`;
}

/** preStop of a data node: if it is the master, pause writes, ask Sentinel for a failover and wait for it. */
export function renderPreStopRedis(): string {
    return `#!/bin/sh
# Graceful hand-over before a data node stops (bounded by PRESTOP_WAIT_SECONDS, within the grace period).
set -u
: "\${SELF_HOST:?}" "\${SELF_PORT:?}"
. "$(dirname "$0")/${FILES.lib}"
SELF="$SELF_HOST:$SELF_PORT"
[ "$MODE" = sentinel ] || exit 0
role=$(rcli ${AUTH_FILES.admin} --user ${USERS.admin} -h "$SELF_HOST" -p "$SELF_PORT" ROLE | head -n 1)
[ "$role" = master ] || exit 0
named=$(sentinel_votes | head -n 1 | awk '{print $2}')
[ "$named" = "$SELF" ] || exit 0
log "master: pausing writes and asking Sentinel for a failover"
rcli ${AUTH_FILES.admin} --user ${USERS.admin} -h "$SELF_HOST" -p "$SELF_PORT" CLIENT PAUSE $(( (PRESTOP_WAIT_SECONDS + 5) * 1000 )) WRITE >/dev/null
# Let every replica confirm everything written before the pause (at most 5 s), so whichever is promoted has it all.
i=0
while [ "$i" -lt 50 ]; do
    info=$(rcli ${AUTH_FILES.admin} --user ${USERS.admin} -h "$SELF_HOST" -p "$SELF_PORT" INFO replication | tr -d '\r')
    offset=$(echo "$info" | sed -n 's/^master_repl_offset://p')
    behind=$(echo "$info" | grep '^slave[0-9]*:' | grep -vc "offset=$offset," || true)
    [ "$behind" -eq 0 ] && break
    sleep 0.1
    i=$((i + 1))
done
for s in $SENTINELS; do
    out=$(rcli ${AUTH_FILES.admin} --user ${USERS.admin} -h "\${s%:*}" -p "\${s##*:}" SENTINEL FAILOVER "$MASTER_NAME" 2>&1) || true
    [ "$out" = OK ] && break
    log "Sentinel $s: $out"
done
deadline=$(( $(date +%s) + PRESTOP_WAIT_SECONDS ))
while [ "$(date +%s)" -lt "$deadline" ]; do
    named=$(sentinel_votes | head -n 1 | awk '{print $2}')
    if [ -n "$named" ] && [ "$named" != "$SELF" ]; then
        log "Sentinels now name $named"
        exit 0
    fi
    sleep 1
done
log "no failover within \${PRESTOP_WAIT_SECONDS}s"
`;
}

/** Readiness: a master is ready; a replica only with its replication link up and no sync running. */
export function renderReadyRedis(): string {
    return `#!/bin/sh
set -eu
: "\${SELF_HOST:?}" "\${SELF_PORT:?}"
. "$(dirname "$0")/${FILES.lib}"
info=$(rcli ${AUTH_FILES.monitor} --user ${USERS.monitor} -h "$SELF_HOST" -p "$SELF_PORT" INFO replication | tr -d '\\r')
case "$info" in
    *role:master*) exit 0 ;;
esac
echo "$info" | grep -qx 'master_link_status:up' && echo "$info" | grep -qx 'master_sync_in_progress:0'
`;
}

/** Liveness: PING, accepting LOADING (AOF load) and MASTERDOWN (replica of an unreachable master). */
export function renderLiveRedis(): string {
    return `#!/bin/sh
set -eu
: "\${SELF_HOST:?}" "\${SELF_PORT:?}"
. "$(dirname "$0")/${FILES.lib}"
reply=$(rcli ${AUTH_FILES.monitor} --user ${USERS.monitor} -h "$SELF_HOST" -p "$SELF_PORT" PING)
case "$reply" in
    PONG|LOADING*|MASTERDOWN*) exit 0 ;;
    *) echo "$reply"; exit 1 ;;
esac
`;
}

export function renderReadySentinel(): string {
    return `#!/bin/sh
set -eu
: "\${SELF_HOST:?}" "\${SELF_PORT:?}"
. "$(dirname "$0")/${FILES.lib}"
[ "$(rcli ${AUTH_FILES.monitor} --user ${USERS.monitor} -h "$SELF_HOST" -p "$SELF_PORT" PING)" = PONG ]
`;
}

/** Every rendered file by name (the ConfigMap's data). */
export function renderFiles(redis: RedisConfig, layout: RedisLayout): Record<string, string> {
    const files: Record<string, string> = {
        [FILES.redisConf]: renderRedisConf(redis, layout),
        [FILES.lib]: renderLib(redis, layout),
        [FILES.startRedis]: renderStartRedis(),
        [FILES.readyRedis]: renderReadyRedis(),
        [FILES.liveRedis]: renderLiveRedis(),
    };
    if (redis.mode === "sentinel") {
        files[FILES.sentinelConf] = renderSentinelConf(redis, layout);
        files[FILES.sentinelMasterConf] = renderSentinelMasterConf(redis);
        files[FILES.startSentinel] = renderStartSentinel();
        files[FILES.preStopRedis] = renderPreStopRedis();
        files[FILES.readySentinel] = renderReadySentinel();
    }
    return files;
}
