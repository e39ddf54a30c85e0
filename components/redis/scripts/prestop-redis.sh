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
i=0
while [ "$i" -lt 50 ]; do
    info=$(rcli @ADMIN_PASSWORD_FILE@ --user @ADMIN_USER@ -h "$SELF_HOST" -p "$SELF_PORT" INFO replication | tr -d '@CR@')
    offset=$(echo "$info" | sed -n 's/^master_repl_offset://p')
    behind=$(echo "$info" | grep '^slave[0-9]*:' | grep -vc "offset=$offset," || true)
    [ "$behind" -eq 0 ] && break
    sleep 0.1
    i=$((i + 1))
done
# ask_failover: OK once a Sentinel accepted. A Sentinel refuses (NOGOODSLAVE) while it has not yet seen a replica that
# just restarted as healthy: ask again until one accepts, rather than wait out the deadline for nothing.
ask_failover() {
    for s in $SENTINELS; do
        out=$(rcli @ADMIN_PASSWORD_FILE@ --user @ADMIN_USER@ -h "${s%:*}" -p "${s##*:}" SENTINEL FAILOVER "$MASTER_NAME" 2>&1) || true
        [ "$out" = OK ] && return 0
        log "Sentinel $s: $out"
    done
    return 1
}
asked=no
deadline=$(( $(date +%s) + PRESTOP_WAIT_SECONDS ))
while [ "$(date +%s)" -lt "$deadline" ]; do
    [ "$asked" = yes ] || { ask_failover && asked=yes; }
    named=$(sentinel_votes | head -n 1 | awk '{print $2}')
    if [ -n "$named" ] && [ "$named" != "$SELF" ]; then
        log "Sentinels now name $named"
        exit 0
    fi
    sleep 0.5
done
log "no failover within ${PRESTOP_WAIT_SECONDS}s"
