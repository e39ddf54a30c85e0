# shellcheck shell=sh
# Sourced first by the move Jobs' scripts of both services (`<service>/scripts/move.sh`, Redis' `retire.sh`).
# WAIT_SECONDS: how long they wait for what they need (their Secret, the servers); SECRETS_DIR: the Job's synced
# Secret, one file per admin password.
deadline=$(( $(date +%s) + WAIT_SECONDS ))

# wait_for_secrets <file>...: until each file of the synced Secret holds a value (the kubelet projects it within its
# sync period); exits at the deadline.
wait_for_secrets() {
  for secret in "$@"; do
    until [ -s "$SECRETS_DIR/$secret" ]; do
      if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "$SECRETS_DIR/$secret does not hold the expected password after ${WAIT_SECONDS}s (is the ExternalSecret synced?)" >&2
        exit 1
      fi
      sleep 5
    done
  done
}
