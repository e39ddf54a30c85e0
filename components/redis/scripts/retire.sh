#!/bin/sh
# Deletes a moved application's old copy from the group it left (SOURCE_*), the cleanup `retireOld` asks for: exactly
# the keys of COPY_FILE there (on a shared group its key patterns in its databases, so never another tenant's key; on
# a dedicated one its databases whole), by SCAN and UNLINK, 100 keys a command. Only once the group it moved to
# (TARGET_*) is marked "copied from <group>" (MARK_KEY, set by the copy as its last step) and none of its users
# (FREEZE_USERS) is on there any more: the keys deleted are never the only copy, nor still written to.
# Idempotent: a rerun, or an old copy already gone, finds nothing to delete.
set -eu
# shellcheck source=components/redis/scripts/move-keys.sh
. "$JOB_DIR/@MOVE_KEYS_LIB@"

wait_for_secrets source-admin target-admin
wait_for_masters

until [ "$(on target "$to" -n "$mark_db" --raw GET "$MARK_KEY")" = "copied from $SOURCE_GROUP" ]; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "$to is not marked \"copied from $SOURCE_GROUP\" after ${WAIT_SECONDS}s: the copy is not complete, nothing is deleted" >&2
    exit 1
  fi
  sleep 5
done
# retireOld deletes the users (or turns `default` off): until the old group applied that, nothing is deleted.
for user in $FREEZE_USERS; do
  for node in $SOURCE_NODES; do
    until flags=$(on source "$node" ACL GETUSER "$user" 2>/dev/null) &&
      { [ -z "$flags" ] || printf '%s\n' "$flags" | grep -qx off; }; do
      if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "$user is still on at $node after ${WAIT_SECONDS}s: the old group's users file of retireOld is not yet applied there, nothing is deleted" >&2
        exit 1
      fi
      sleep 2
    done
  done
done

deleted=$(unlink_keys source "$from")
keys source "$from" "$WORK_DIR/left"
left=$(wc -l <"$WORK_DIR/left")
if [ "$left" -ne 0 ]; then
  echo "$left keys of the application are still on $from after deleting $deleted" >&2
  exit 1
fi
echo "deleted $deleted keys of the application from $SOURCE_GROUP ($from)"
