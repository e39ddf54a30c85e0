#!/bin/sh
# Starts a data node. The Sentinels decide who is master; only ordinal 0 of a brand-new group
# (no Sentinel answers, nothing persisted) starts as master on its own. Everything else is a replica, and a node
# that holds data waits for the Sentinels rather than following the bootstrap node (after a failover the newest
# data may be its own: a full resync from ordinal 0 would drop it).
set -eu
: "${SELF_NAME:?}" "${SELF_HOST:?}" "${SELF_PORT:?}"
. "$(dirname "$0")/lib.sh"
SELF="$SELF_HOST:$SELF_PORT"
ORDINAL="${SELF_NAME##*-}"

has_state() { [ -n "$(ls -A "$DATA_DIR/appendonlydir" 2>/dev/null)" ]; }

# Does another data node hold keys? (An empty master would wipe them through full resyncs.)
others_have_data() {
    for d in $DATA_NODES; do
        [ "$d" = "$SELF" ] && continue
        if rcli @MONITOR_PASSWORD_FILE@ --user @MONITOR_USER@ -h "${d%:*}" -p "${d##*:}" INFO keyspace 2>/dev/null | grep -q '^db[0-9]*:keys='; then
            return 0
        fi
    done
    return 1
}

# Agreement of a majority of the Sentinels (the quorum is theirs to use, for detecting a failure).
count() { set -- "$@"; echo $#; }
# shellcheck disable=SC2086
MAJORITY=$(( $(count $SENTINELS) / 2 + 1 ))

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
        if [ "$votes" -ge "$MAJORITY" ]; then
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
            [ -n "${lost_logged:-}" ] || log "Sentinels name me as master but my data is gone and other nodes hold data: waiting for a failover"
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
            if [ "$votes" -eq 0 ] && [ "$ORDINAL" != 0 ] && ! has_state; then
                role="$BOOTSTRAP_MASTER"
                log "no Sentinel answers: starting as replica of the bootstrap node $BOOTSTRAP_MASTER"
                break
            fi
            [ "$attempt" -eq 2 ] && log "waiting for the Sentinels to name a master ($votes of $MAJORITY agree)"
        fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            log "no usable answer from the Sentinels within ${START_WAIT_SECONDS}s; not starting as master on my own"
            exit 1
        fi
        sleep 2
    done
fi

mkdir -p "$RUN_DIR"
conf="$RUN_DIR/redis.conf"
umask 077
# redis.conf's aclfile: the users file as its parts join now.
assemble_data_acl "$RUN_DIR/@DATA_ACL_FILE@"
{
    cat "$CONFIG_DIR/@REDIS_CONF@"
    if [ "$TLS" = yes ]; then echo "port 0"; echo "tls-port $SELF_PORT"; else echo "port $SELF_PORT"; fi
    echo "replica-announce-ip $SELF_HOST"
    echo "replica-announce-port $SELF_PORT"
    if [ "$MODE" = sentinel ]; then
        echo "masteruser @REPLICATION_USER@"
        echo "masterauth $(quote "$(cat "$AUTH_DIR/@REPLICATION_PASSWORD_FILE@")")"
    fi
    if [ "$role" != master ]; then echo "replicaof ${role%:*} ${role##*:}"; fi
} > "$conf.tmp"
mv "$conf.tmp" "$conf"
log "starting as ${role}"
exec redis-server "$conf"
