#!/bin/sh
set -eu
: "${SELF_HOST:?}" "${SELF_PORT:?}"
. "$(dirname "$0")/lib.sh"
[ "$(rcli @MONITOR_PASSWORD_FILE@ --user @MONITOR_USER@ -h "$SELF_HOST" -p "$SELF_PORT" PING)" = PONG ]
