#!/bin/sh
set -eu
: "${SELF_HOST:?}" "${SELF_PORT:?}"
. "$(dirname "$0")/lib.sh"
info=$(rcli @MONITOR_PASSWORD_FILE@ --user @MONITOR_USER@ -h "$SELF_HOST" -p "$SELF_PORT" INFO replication | tr -d '\r')
case "$info" in
    *role:master*) exit 0 ;;
esac
echo "$info" | grep -qx 'master_link_status:up' && echo "$info" | grep -qx 'master_sync_in_progress:0'
