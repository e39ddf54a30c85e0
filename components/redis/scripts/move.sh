#!/bin/sh
# Copies one application's keys from the Redis group it leaves (SOURCE_*) to the one it moves to (TARGET_*), with a
# write freeze: once the old group's users file turned its users off on every node, their clients are killed on the
# old master (an off user's open connections keep working) before the first key is read, so every write the old
# group acknowledged is in the copy. Each key goes as DUMP (the value's serialized bytes, binary-safe) and RESTORE
# with its expiry as the same absolute time (PEXPIRETIME; RESTORE ... ABSTTL), a database's keys through one redis-cli
# a side (`move-keys.sh`). MIGRATE is not used: there the old server itself connects to the new one, outside this
# Job's TLS settings (`../moveSpec.ts`).
# Marks in the target's database (MARK_KEY): "copying from <group>" while it runs, "copied from <group>" once done.
# Idempotent: a target marked as copied from this source is left alone; one marked as copying (an attempt that
# stopped) has its partial copy deleted and copied again; one holding the application's keys without a mark is
# never written to (RESTORE without REPLACE refuses an existing key too).
# FREEZE_USERS: the application's users on the old group.
set -eu
# shellcheck source=components/redis/scripts/move-keys.sh
. "$JOB_DIR/@MOVE_KEYS_LIB@"

wait_for_secrets source-admin target-admin
wait_for_masters

state=$(on target "$to" -n "$mark_db" --raw GET "$MARK_KEY")
case "$state" in
  "copied from $SOURCE_GROUP")
    echo "already copied from $SOURCE_GROUP"
    exit 0
    ;;
  "copying from $SOURCE_GROUP")
    echo "an earlier attempt stopped: its partial copy is deleted and copied again"
    unlink_keys target "$to" >/dev/null
    ;;
  "")
    keys target "$to" "$WORK_DIR/existing"
    if [ -s "$WORK_DIR/existing" ]; then
      echo "the target group already holds keys of the application not copied from $SOURCE_GROUP: nothing is written over them" >&2
      exit 1
    fi
    ;;
  *)
    echo "the target group is marked \"$state\", not a copy from $SOURCE_GROUP: nothing is written over it" >&2
    exit 1
    ;;
esac

# The old group's users file turns the users off on every node (the durable freeze: a sidecar starting with an older
# file would otherwise turn them on again after this Job). Wait until every node applied it, then freeze at once.
for user in $FREEZE_USERS; do
  for node in $SOURCE_NODES; do
    until on source "$node" ACL GETUSER "$user" 2>/dev/null | grep -qx off; do
      if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "$user is not off on $node after ${WAIT_SECONDS}s: the old group's users file of this move is not applied there" >&2
        exit 1
      fi
      sleep 2
    done
  done
done
started=$(date +%s)
for user in $FREEZE_USERS; do
  [ "$(on source "$from" ACL SETUSER "$user" off)" = OK ]
  on source "$from" CLIENT KILL USER "$user" >/dev/null
done
echo "writes of $FREEZE_USERS frozen on $from"
[ "$(on target "$to" -n "$mark_db" SET "$MARK_KEY" "copying from $SOURCE_GROUP")" = OK ]

copied=0
keys source "$from" "$WORK_DIR/keys"
for db in $(databases "$WORK_DIR/keys"); do
  # One session reads each key's DUMP and PEXPIRETIME, replies in order, one line each.
  awk -v db="$db" '$1 == db { key = substr($0, length($1) + 2); print "DUMP " key; print "PEXPIRETIME " key }' \
    "$WORK_DIR/keys" >"$WORK_DIR/dump"
  session source "$from" "$db" "$WORK_DIR/dump"
  # RESTORE <key> <expiry> <value> ABSTTL: 0 is no expiry, a time already past restores nothing (as the key would have
  # expired on the source). A key gone between the scan and the DUMP ((nil)) or the PEXPIRETIME (-2) expired there.
  awk -v db="$db" '
    NR == FNR { if ($1 == db) keys[++n] = substr($0, length($1) + 2); next }
    FNR % 2 == 1 { value = $0; next }
    {
      if (value != "(nil)" && value !~ /^".*"$/ || $0 !~ /^\(integer\) -?[0-9]+$/) {
        print "DUMP or PEXPIRETIME in database " db ": " value " " $0 >"/dev/stderr"
        exit 1
      }
      at = $2
      if (value == "(nil)" || at == -2) next
      print "RESTORE " keys[FNR / 2] " " (at > 0 ? at : 0) " " value " ABSTTL"
    }' "$WORK_DIR/keys" "$WORK_DIR/dump.replies" >"$WORK_DIR/restore"
  session target "$to" "$db" "$WORK_DIR/restore"
  if grep -vxF OK "$WORK_DIR/restore.replies" | grep -q .; then
    echo "RESTORE in database $db: $(grep -vxF OK "$WORK_DIR/restore.replies" | head -n 1)" >&2
    exit 1
  fi
  copied=$((copied + $(wc -l <"$WORK_DIR/restore")))
done

[ "$(on target "$to" -n "$mark_db" SET "$MARK_KEY" "copied from $SOURCE_GROUP")" = OK ]
echo "copied $copied keys from $SOURCE_GROUP ($from) to $to; writes frozen for $(( $(date +%s) - started ))s so far"
