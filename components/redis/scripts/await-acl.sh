#!/bin/sh
# The ACL sync Job of a change to the Redis users (an application added or removed, a rotation): waits until every
# data node and Sentinel has applied the users files that end with the marker user ACL_MARKER (their reload sidecars
# do, once the kubelet has projected `redis-acl`). Only then are the new passwords handed out: `redis-auth` and the
# applications' bundles wait for this Job, so no client is given a password a server does not accept yet.
# Authenticating as the marker needs no credential: it accepts any password and may run no command. A server whose
# name does not resolve has no pod yet (the first deploy): it loads the current files when it starts.
# Whether a name resolves is asked of `getent hosts` by its exit status (0: found), never read from redis-cli's error
# text: that is the resolver's own wording (glibc "Name or service not known", musl "Name does not resolve").
# Alpine images ship getent in musl-utils (libc-utils, part of the minirootfs), Debian ones in libc-bin.
set -u
: "${ACL_MARKER:?}" "${WAIT_SECONDS:?}"
. "$(dirname "$0")/lib.sh"
if ! command -v getent >/dev/null 2>&1; then
    log "getent not found: this image cannot tell a server without a pod from one that is down"
    exit 1
fi
deadline=$(($(date +%s) + WAIT_SECONDS))
while :; do
    pending=""
    for server in $DATA_NODES $SENTINELS; do
        reply=$(rcli_as marker --user "$ACL_MARKER" -h "${server%:*}" -p "${server##*:}" PING 2>&1) || true
        case "$reply" in
            *NOPERM*) ;;
            *WRONGPASS*) pending="$pending $server" ;;
            *)
                if getent hosts "${server%:*}" >/dev/null 2>&1; then
                    pending="$pending $server ($(printf '%s' "$reply" | tail -n 1))"
                fi
                ;;
        esac
    done
    if [ -z "$pending" ]; then
        log "every server applied $ACL_MARKER"
        exit 0
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
        log "$ACL_MARKER not yet applied after ${WAIT_SECONDS}s by:$pending"
        exit 1
    fi
    sleep 2
done
