#!/bin/sh
# The backup Job's copy of the group's dataset: `redis-cli --rdb` (REPLCONF capa eof, REPLCONF rdb-only 1, SYNC) as
# the ACL user `backup`, which may run nothing else, into OUT. Standalone: from DATA_HOST:DATA_PORT. Sentinel mode:
# from a replica in sync with the master, asked of each Sentinel in turn (SENTINELS: "host:port ...") with the
# clients' discovery password. Not from the master: while the copy runs, the master lists it in INFO replication as a
# replica on port 0, and every Sentinel keeps that as a replica "127.0.0.1:0" (flags slave,disconnected) for good
# (reproduced on 7.0.15; tests/servers/redis/redisRdbBackup.test.ts). Sentinels read replicas from the master only,
# and the replica, not the master, forks for the RDB. Only when no replica is in sync for 30 s is the master copied, saying so.
# Not in the group's ConfigMap: it runs in the Job's own container, and a change here rolls no Redis pod.
set -eu
: "${OUT:?}" "${BACKUP_PASSWORD_FILE:?}" "${TLS:?}"
tls=""
if [ "$TLS" = yes ]; then tls="--tls --cacert ${CA_FILE:?}"; fi

# ask <sentinel host:port> <SENTINEL subcommand...>: the Sentinel's answer, one value a line.
ask() {
    sentinel=$1
    shift
    REDISCLI_AUTH="$(cat "${SENTINEL_PASSWORD_FILE:?}")" timeout 10 redis-cli --no-auth-warning $tls \
        -h "${sentinel%:*}" -p "${sentinel##*:}" --raw SENTINEL "$@" 2>&1
}

# The first replica a Sentinel lists as a plain replica with its link to the master up: "host port".
in_sync_replica() {
    awk 'NR % 2 == 1 { key = $0; next }
        key == "name" { if (ip != "" && flags == "slave" && link == "ok") { print ip " " port; exit } ip = ""; flags = ""; link = "" }
        key == "ip" { ip = $0 } key == "port" { port = $0 } key == "flags" { flags = $0 } key == "master-link-status" { link = $0 }
        END { if (ip != "" && flags == "slave" && link == "ok") print ip " " port }' | head -n 1
}

host=""
port=""
if [ -n "${SENTINELS:-}" ]; then
    # A Sentinel looks at a replica's link to the master every 10 s (SENTINEL_INFO_PERIOD, src/sentinel.c): one that
    # has just synced may be listed out of sync that long. So the Sentinels are asked again for up to
    # REPLICA_WAIT_SECONDS before the master is copied.
    deadline=$(($(date +%s) + ${REPLICA_WAIT_SECONDS:-30}))
    while :; do
        for sentinel in $SENTINELS; do
            if answer=$(ask "$sentinel" replicas "${MASTER_NAME:?}"); then
                pick=$(printf '%s\n' "$answer" | in_sync_replica)
                if [ -n "$pick" ]; then
                    host=${pick% *}
                    port=${pick#* }
                    break
                fi
            else
                echo "$sentinel: $answer" >&2
            fi
        done
        if [ -n "$host" ] || [ "$(date +%s)" -ge "$deadline" ]; then
            break
        fi
        sleep 2
    done
    if [ -z "$host" ]; then
        for sentinel in $SENTINELS; do
            if answer=$(ask "$sentinel" get-master-addr-by-name "$MASTER_NAME"); then
                host=$(printf '%s\n' "$answer" | sed -n 1p)
                port=$(printf '%s\n' "$answer" | sed -n 2p)
                case "$port" in
                    '' | *[!0-9]*) host="" ;;
                    *)
                        echo "no replica in sync: copying the master; its Sentinels will list a replica on port 0 until SENTINEL RESET" >&2
                        break
                        ;;
                esac
            fi
        done
    fi
else
    host=${DATA_HOST:?}
    port=${DATA_PORT:?}
fi
if [ -z "$host" ]; then
    echo "no Sentinel named a replica or the master of $MASTER_NAME" >&2
    exit 1
fi
echo "copying the RDB of $host:$port"
REDISCLI_AUTH="$(cat "$BACKUP_PASSWORD_FILE")" redis-cli --no-auth-warning $tls --user @BACKUP_USER@ \
    -h "$host" -p "$port" --rdb "$OUT"
if [ ! -s "$OUT" ]; then
    echo "$OUT is empty" >&2
    exit 1
fi
