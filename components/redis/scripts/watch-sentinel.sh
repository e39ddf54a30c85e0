#!/bin/sh
# Sidecar of a Sentinel: applies what changes in the mounted Secrets to the running Sentinel, without a restart.
# Users: ACL SETUSER/DELUSER from sentinel-users.acl; auth-pass (to the data nodes) and sentinel-pass (to the
# peers): the password of `redis-auth` (every server accepts it by then). A renewed certificate cannot be reloaded by a
# Sentinel (redis/redis#12028, #12691): it is restarted (SHUTDOWN; the kubelet starts the container again), one
# Sentinel at a time (a lock on the master, held for a restart's length, and every peer answering first).
set -u
: "${SELF_HOST:?}" "${SELF_PORT:?}"
. "$(dirname "$0")/lib.sh"
SELF="$SELF_HOST:$SELF_PORT"
PEERS=""
for s in $SENTINELS; do [ "$s" = "$SELF" ] || PEERS="$PEERS $s"; done
# In the platform's own database, which no application can select.
LOCK_DB=@RESTART_LOCK_DB@
LOCK_KEY="@RESTART_LOCK_KEY@"
ORDINAL="${SELF_NAME##*-}"

# What the Sentinel runs with is asked of it each time, never remembered: a sidecar restarted after the file changed
# would take the new password for the one the Sentinel runs with. sentinel-pass can be read (SENTINEL CONFIG GET),
# auth-pass cannot; the start script sets both from the file and this sets auth-pass first, so a current sentinel-pass
# means a current auth-pass. Each SET drops the links it concerns (src/sentinel.c), so nothing is set twice.
apply_credentials() {
    pw=$(cat "$AUTH_DIR/@SENTINEL_PASSWORD_FILE@")
    running=$(rcli @ADMIN_PASSWORD_FILE@ --user @ADMIN_USER@ -h "$SELF_HOST" -p "$SELF_PORT" SENTINEL CONFIG GET sentinel-pass | sed -n 2p)
    [ "$pw" != "$running" ] || return 0
    [ "$(rcli @ADMIN_PASSWORD_FILE@ --user @ADMIN_USER@ -h "$SELF_HOST" -p "$SELF_PORT" SENTINEL SET "$MASTER_NAME" auth-pass "$pw")" = OK ] || return 1
    [ "$(rcli @ADMIN_PASSWORD_FILE@ --user @ADMIN_USER@ -h "$SELF_HOST" -p "$SELF_PORT" SENTINEL CONFIG SET sentinel-pass "$pw")" = OK ] || return 1
}

# Restart this Sentinel if no other one is restarting: every peer answers, and this one holds the lock.
restart_alone() {
    for s in $PEERS; do
        [ "$(rcli @MONITOR_PASSWORD_FILE@ --user @MONITOR_USER@ -h "${s%:*}" -p "${s##*:}" PING)" = PONG ] || return 1
    done
    master=$(sentinel_votes | head -n 1 | awk '{print $2}')
    [ -n "$master" ] || return 1
    reply=$(rcli @ADMIN_PASSWORD_FILE@ --user @ADMIN_USER@ -h "${master%:*}" -p "${master##*:}" -n "$LOCK_DB" SET "$LOCK_KEY" "$SELF" NX PX $((RESTART_LOCK_SECONDS * 1000)))
    [ "$reply" = OK ] || return 1
    log "restarting to load the renewed certificate"
    rcli @ADMIN_PASSWORD_FILE@ --user @ADMIN_USER@ -h "$SELF_HOST" -p "$SELF_PORT" SHUTDOWN >/dev/null
    return 0
}

auth_seen=""
tls_seen=$(fingerprint "$TLS_DIR")
while :; do
    auth_now=$(fingerprint "$ACL_DIR" "$AUTH_DIR")
    if [ "$auth_now" != "$auth_seen" ] && apply_acl "$SELF_HOST" "$SELF_PORT" "$ACL_DIR/@SENTINEL_ACL_FILE@" && apply_credentials; then
        [ -z "$auth_seen" ] || log "applied the changed users and credentials"
        auth_seen=$auth_now
    fi
    if [ "$TLS" = yes ] && [ "$(fingerprint "$TLS_DIR")" != "$tls_seen" ]; then
        # Staggered by ordinal, so Sentinels that saw the new files at once do not race for the lock.
        sleep $((ORDINAL * 2))
        if restart_alone; then
            tls_seen=$(fingerprint "$TLS_DIR")
            # Wait for the restarted process before looking at anything else.
            i=0
            while [ "$i" -lt "$RESTART_LOCK_SECONDS" ] && [ "$(rcli @MONITOR_PASSWORD_FILE@ --user @MONITOR_USER@ -h "$SELF_HOST" -p "$SELF_PORT" PING)" != PONG ]; do
                sleep 1
                i=$((i + 1))
            done
            # Up again: the next Sentinel may go (only our own lock is released).
            rcli @ADMIN_PASSWORD_FILE@ --user @ADMIN_USER@ -h "${master%:*}" -p "${master##*:}" -n "$LOCK_DB" EVAL \
                "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0" 1 "$LOCK_KEY" "$SELF" >/dev/null
        fi
    fi
    sleep "$WATCH_SECONDS"
done
