#!/bin/sh
set -eu
: "${SELF_HOST:?}" "${SELF_PORT:?}"
. "$(dirname "$0")/lib.sh"
reply=$(rcli @MONITOR_PASSWORD_FILE@ --user @MONITOR_USER@ -h "$SELF_HOST" -p "$SELF_PORT" PING)
case "$reply" in
    PONG|LOADING*|MASTERDOWN*) exit 0 ;;
    *) echo "$reply"; exit 1 ;;
esac
