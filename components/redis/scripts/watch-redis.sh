#!/bin/sh
# Sidecar of a data node: applies what changes in the mounted Secrets to the running server, without a restart
# (a mounted Secret is updated in place by the kubelet). Users: ACL SETUSER/DELUSER from users.acl; masterauth: the
# replication password of `redis-auth` (every node accepts it by then); TLS: CONFIG SET of the certificate files,
# which reloads them.
set -u
: "${SELF_HOST:?}" "${SELF_PORT:?}"
. "$(dirname "$0")/lib.sh"
auth_seen=""
tls_seen=""
while :; do
    auth_now=$(fingerprint "$ACL_DIR" "$AUTH_DIR")
    if [ "$auth_now" != "$auth_seen" ] && assemble_data_acl "$RUN_DIR/@DATA_ACL_FILE@.apply" &&
        apply_acl "$SELF_HOST" "$SELF_PORT" "$RUN_DIR/@DATA_ACL_FILE@.apply"; then
        ok=yes
        if [ "$MODE" = sentinel ]; then
            pw=$(cat "$AUTH_DIR/@REPLICATION_PASSWORD_FILE@")
            # Asked of the server each time, never remembered: a sidecar restarted after the file changed would take
            # the new password for the one the server runs with. Used at the next connection to the master.
            running=$(rcli @ADMIN_PASSWORD_FILE@ --user @ADMIN_USER@ -h "$SELF_HOST" -p "$SELF_PORT" CONFIG GET masterauth | sed -n 2p)
            if [ "$pw" != "$running" ]; then
                reply=$(rcli @ADMIN_PASSWORD_FILE@ --user @ADMIN_USER@ -h "$SELF_HOST" -p "$SELF_PORT" CONFIG SET masterauth "$pw")
                if [ "$reply" != OK ]; then log "CONFIG SET masterauth: $reply"; ok=no; fi
            fi
        fi
        if [ "$ok" = yes ]; then
            [ -z "$auth_seen" ] || log "applied the changed users and credentials"
            auth_seen=$auth_now
        fi
    fi
    if [ "$TLS" = yes ]; then
        tls_now=$(fingerprint "$TLS_DIR")
        if [ "$tls_now" != "$tls_seen" ]; then
            reply=$(rcli @ADMIN_PASSWORD_FILE@ --user @ADMIN_USER@ -h "$SELF_HOST" -p "$SELF_PORT" CONFIG SET \
                tls-cert-file "$TLS_DIR/@TLS_CERT@" tls-key-file "$TLS_DIR/@TLS_KEY@" tls-ca-cert-file "$TLS_DIR/@TLS_CA@")
            if [ "$reply" = OK ]; then
                [ -z "$tls_seen" ] || log "reloaded the renewed certificate"
                tls_seen=$tls_now
            fi
        fi
    fi
    sleep "$WATCH_SECONDS"
done
