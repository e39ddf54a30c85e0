#!/bin/sh
# Starts a Sentinel. Its state lives in $SENTINEL_DATA_DIR/sentinel.conf (a volume): the current master,
# epochs and known peers are kept; settings and credentials are regenerated from the rendered files.
set -eu
: "${SELF_HOST:?}" "${SELF_PORT:?}"
. "$(dirname "$0")/lib.sh"
# Here, not in lib.sh: only the Sentinels use it, so changing it restarts no data node.
QUORUM=@QUORUM@
SELF="$SELF_HOST:$SELF_PORT"
state="$SENTINEL_DATA_DIR/sentinel.conf"

persisted=$(grep -E '^sentinel (myid|monitor|config-epoch|leader-epoch|known-replica|known-sentinel|current-epoch) ' "$state" 2>/dev/null || true)
monitor=$(printf '%s\n' "$persisted" | grep "^sentinel monitor $MASTER_NAME " || true)
if [ -n "$monitor" ]; then
    # shellcheck disable=SC2086
    set -- $monitor
    master="$4:$5"
    rest=$(printf '%s\n' "$persisted" | grep -v '^sentinel monitor ' || true)
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
sentinel known-replica $MASTER_NAME ${d%:*} ${d##*:}"
    done
    for s in $SENTINELS; do
        [ "$s" = "$SELF" ] || rest="$rest
sentinel known-sentinel $MASTER_NAME ${s%:*} ${s##*:} $(myid "$s")"
    done
fi

mkdir -p "$SENTINEL_DATA_DIR"
umask 077
{
    cat "$CONFIG_DIR/@SENTINEL_CONF@"
    if [ "$TLS" = yes ]; then echo "port 0"; echo "tls-port $SELF_PORT"; else echo "port $SELF_PORT"; fi
    echo "sentinel announce-ip $SELF_HOST"
    echo "sentinel announce-port $SELF_PORT"
    echo "sentinel sentinel-pass $(quote "$(cat "$AUTH_DIR/@SENTINEL_PASSWORD_FILE@")")"
    echo "sentinel monitor $MASTER_NAME ${master%:*} ${master##*:} $QUORUM"
    cat "$CONFIG_DIR/@SENTINEL_MASTER_CONF@"
    echo "sentinel auth-pass $MASTER_NAME $(quote "$(cat "$AUTH_DIR/@SENTINEL_PASSWORD_FILE@")")"
    printf '%s\n' "$rest"
} > "$state.tmp"
mv "$state.tmp" "$state"
exec redis-sentinel "$state"
