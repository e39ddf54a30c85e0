#!/bin/sh
set -eu
deadline=$(( $(date +%s) + ${WAIT_SECONDS} ))
for expected in $EXPECTED_DIGESTS; do
  file="$SECRETS_DIR/${expected%%=*}"
  want="${expected#*=}"
  until [ -r "$file" ] && [ "$(sha256sum "$file" | cut -c1-16)" = "$want" ]; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "$file does not hold the expected password after ${WAIT_SECONDS}s (is the ExternalSecret synced?)" >&2
      exit 1
    fi
    sleep 5
  done
done
PGPASSWORD="$(cat "$SECRETS_DIR/@ADMIN_SECRET_KEY@")"
export PGPASSWORD
@APP_PASSWORD_EXPORTS@
exec psql --no-psqlrc --set ON_ERROR_STOP=1 --file "$SQL_FILE"
