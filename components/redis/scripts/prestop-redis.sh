#!/bin/sh
# Graceful hand-over before a data node stops (bounded by PRESTOP_WAIT_SECONDS, within the grace period).
set -u
: "${SELF_HOST:?}" "${SELF_PORT:?}"
. "$(dirname "$0")/lib.sh"
SELF="$SELF_HOST:$SELF_PORT"
[ "$MODE" = sentinel ] || exit 0
role=$(rcli @ADMIN_PASSWORD_FILE@ --user @ADMIN_USER@ -h "$SELF_HOST" -p "$SELF_PORT" ROLE | head -n 1)
[ "$role" = master ] || exit 0
named=$(sentinel_votes | head -n 1 | awk '{print $2}')
[ "$named" = "$SELF" ] || exit 0
log "master: pausing writes and asking Sentinel for a failover"
rcli @ADMIN_PASSWORD_FILE@ --user @ADMIN_USER@ -h "$SELF_HOST" -p "$SELF_PORT" CLIENT PAUSE $(( (PRESTOP_WAIT_SECONDS + 5) * 1000 )) WRITE >/dev/null
# Let every replica confirm everything written before the pause (at most 5 s), so whichever is promoted has it all.
# Each is asked itself: the master hears of their offsets only once a second (REPLCONF ACK).
info=$(rcli @ADMIN_PASSWORD_FILE@ --user @ADMIN_USER@ -h "$SELF_HOST" -p "$SELF_PORT" INFO replication | tr -d '@CR@')
offset=$(echo "$info" | sed -n 's/^master_repl_offset://p')
replicas=$(echo "$info" | sed -n 's/^slave[0-9]*:ip=\([^,]*\),port=\([0-9]*\),.*/\1:\2/p')
i=0
while [ "$i" -lt 100 ]; do
    behind=0
    for r in $replicas; do
        got=$(rcli @ADMIN_PASSWORD_FILE@ --user @ADMIN_USER@ -h "${r%:*}" -p "${r##*:}" INFO replication | tr -d '@CR@' | sed -n 's/^slave_repl_offset://p')
        if [ -z "$got" ] || [ "$got" -lt "$offset" ]; then behind=$((behind + 1)); fi
    done
    [ "$behind" -eq 0 ] && break
    sleep 0.05
    i=$((i + 1))
done
# ask_failover: the Sentinel that accepted (it leads the failover, so it names the promoted replica first). A Sentinel
# refuses (NOGOODSLAVE) while it has not yet seen a replica that just restarted as healthy: ask again until one
# accepts, rather than wait out the deadline for nothing.
ask_failover() {
    for s in $SENTINELS; do
        out=$(rcli @ADMIN_PASSWORD_FILE@ --user @ADMIN_USER@ -h "${s%:*}" -p "${s##*:}" SENTINEL FAILOVER "$MASTER_NAME" 2>&1) || true
        if [ "$out" = OK ]; then
            echo "$s"
            return 0
        fi
        log "Sentinel $s: $out"
    done
    return 1
}
# named_by <sentinel>: the master that Sentinel names now.
named_by() {
    reply=$(rcli @SENTINEL_CLIENT_PASSWORD_FILE@ -h "${1%:*}" -p "${1##*:}" SENTINEL get-master-addr-by-name "$MASTER_NAME" 2>/dev/null | tr '\r\n' '  ') || reply=""
    # shellcheck disable=SC2086
    set -- $reply
    if [ $# -eq 2 ]; then echo "$1:$2"; fi
}
# failing_over <sentinel>: whether that Sentinel still runs a failover of the master (it may have aborted one).
failing_over() {
    rcli @ADMIN_PASSWORD_FILE@ --user @ADMIN_USER@ -h "${1%:*}" -p "${1##*:}" SENTINEL MASTER "$MASTER_NAME" | grep -q failover_in_progress
}
leader=""
deadline=$(( $(date +%s) + PRESTOP_WAIT_SECONDS ))
while [ "$(date +%s)" -lt "$deadline" ]; do
    [ -n "$leader" ] || leader=$(ask_failover) || leader=""
    if [ -n "$leader" ]; then
        # Looked at before the address: a failover that completed has changed it by the time its flag is gone.
        running=yes
        failing_over "$leader" || running=no
        named=$(named_by "$leader")
        if [ -n "$named" ] && [ "$named" != "$SELF" ]; then
            # Clients blocked by the pause would otherwise wait for the shutdown: closed now, they ask the Sentinels
            # again (the leader names the new master first) and retry there. Their paused writes never ran.
            rcli @ADMIN_PASSWORD_FILE@ --user @ADMIN_USER@ -h "$SELF_HOST" -p "$SELF_PORT" CLIENT KILL TYPE normal >/dev/null
            break
        fi
        if [ "$running" = no ]; then
            log "Sentinel $leader ended the failover without one: asking again"
            leader=""
        fi
    fi
    sleep 0.1
done
# Stop once most Sentinels name the new master (the leader's peers learn it from its hello within seconds).
while [ "$(date +%s)" -lt "$deadline" ]; do
    named=$(sentinel_votes | head -n 1 | awk '{print $2}')
    if [ -n "$named" ] && [ "$named" != "$SELF" ]; then
        log "Sentinels now name $named"
        exit 0
    fi
    sleep 0.1
done
log "no failover within ${PRESTOP_WAIT_SECONDS}s"
