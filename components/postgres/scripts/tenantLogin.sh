#!/bin/sh
# A tenant stack's login Job (sql.ts renderTenantLoginEntrypoint): its stack never holds the server admin's password,
# so its digests (and its logins' SCRAM salts) are keyed by the tenant's own key. Waits until the admin's password and
# every file hold what this Job was rendered for, then runs the platform's entrypoint (login.sh) with nothing left to
# check.
set -eu
deadline=$(( $(date +%s) + ${WAIT_SECONDS} ))
key="$SECRETS_DIR/@TENANT_KEY_SECRET_KEY@"
admin="$SECRETS_DIR/@ADMIN_SECRET_KEY@"
keyed_digest() {
  { cat "$key"; echo; cat "$1"; } | sha256sum | cut -d' ' -f1
}
for expected in $TENANT_EXPECTED_DIGESTS; do
  file="$SECRETS_DIR/${expected%%=*}"
  want="${expected#*=}"
  until [ -r "$key" ] && [ -r "$admin" ] && [ -r "$file" ] && [ "$(keyed_digest "$file")" = "$want" ]; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "$file does not hold the expected value after ${WAIT_SECONDS}s (is the ExternalSecret synced?)" >&2
      exit 1
    fi
    sleep 5
  done
done
EXPECTED_DIGESTS=""
export EXPECTED_DIGESTS
exec /bin/sh "$(dirname "$0")/@LOGIN_ENTRYPOINT@"
