#!/bin/sh
set -eu
deadline=$(( $(date +%s) + ${WAIT_SECONDS} ))
admin="$SECRETS_DIR/@ADMIN_SECRET_KEY@"
# SHA-256 of the admin password, a newline and the file: the digest this Job was rendered with (sql.ts keyedDigest).
keyed_digest() {
  { cat "$admin"; echo; cat "$1"; } | sha256sum | cut -d' ' -f1
}
for expected in $EXPECTED_DIGESTS; do
  file="$SECRETS_DIR/${expected%%=*}"
  want="${expected#*=}"
  until [ -r "$admin" ] && [ -r "$file" ] && [ "$(keyed_digest "$file")" = "$want" ]; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "$file does not hold the expected password after ${WAIT_SECONDS}s (is the ExternalSecret synced?)" >&2
      exit 1
    fi
    sleep 5
  done
done
# The server may still be starting (a new StackGres cluster): wait for it within the same deadline.
until pg_isready --quiet; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    # pg_isready says only "no response", also for a certificate PGSSLMODE refuses: libpq's own reason, without a
    # password (none is read yet).
    reason="$(psql --no-psqlrc --no-password --command '' 2>&1 || true)"
    echo "$PGHOST:$PGPORT does not accept connections after ${WAIT_SECONDS}s: $reason" >&2
    exit 1
  fi
  sleep 5
done
PGPASSWORD="$(cat "$admin")"
export PGPASSWORD
# A login's SCRAM verifier from the Secret (sql.ts loginVerifiers); anything else could be a password, which a failing
# statement would write into the server log.
verifier() {
  value="$(cat "$SECRETS_DIR/$1")"
  case "$value" in
    'SCRAM-SHA-256$'*) printf '%s' "$value" ;;
    *) echo "$SECRETS_DIR/$1 holds no SCRAM-SHA-256 verifier" >&2; exit 1 ;;
  esac
}
@LOGIN_VERIFIER_EXPORTS@
exec psql --no-psqlrc --set ON_ERROR_STOP=1 --file "$SQL_FILE"
