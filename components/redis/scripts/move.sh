#!/bin/sh
# Copies one application's keys from the Redis group it leaves (SOURCE_*) to the one it moves to (TARGET_*), with a
# write freeze: once the old group's users file turned its users off on every node, their clients are killed on the
# old master (an off user's open connections keep working) before the first key is read, so every write the old
# group acknowledged is in the copy. Each key goes as DUMP (the value's serialized bytes,
# binary-safe) and RESTORE, its expiry set again as the same absolute time (PEXPIRETIME, PEXPIREAT). MIGRATE is not
# used: there the old server itself connects to the new one, outside this Job's TLS settings.
# Marks in the target's database (MARK_KEY): "copying from <group>" while it runs, "copied from <group>" once done.
# Idempotent: a target marked as copied from this source is left alone; one marked as copying (an attempt that
# stopped) has its partial copy deleted and copied again; one holding the application's keys without a mark is
# never written to.
# COPY_FILE: one "<database> <key pattern>" a line. FREEZE_USERS: the application's users on the old group.
set -eu
deadline=$(( $(date +%s) + WAIT_SECONDS ))

# on <side> <node> [redis-cli arguments]: redis-cli as that group's admin on one of its nodes (host:port).
on() {
  side="$1"
  node="$2"
  shift 2
  if [ "$side" = source ]; then tls="$SOURCE_TLS_CA"; else tls="$TARGET_TLS_CA"; fi
  if [ -n "$tls" ]; then
    set -- --tls --cacert "$tls" "$@"
  fi
  REDISCLI_AUTH="$(cat "$SECRETS_DIR/$side-admin")" redis-cli --no-auth-warning --user "$ADMIN_USER" \
    -h "${node%:*}" -p "${node##*:}" "$@"
}

# master <side> <nodes>: the node that answers ROLE as master (the only one that takes writes).
master() {
  for node in $2; do
    if [ "$(on "$1" "$node" ROLE 2>/dev/null | head -n 1)" = master ]; then
      echo "$node"
      return 0
    fi
  done
  return 1
}

# The synced Secret first (the kubelet projects it within its sync period), then both masters.
for side in source target; do
  until [ -s "$SECRETS_DIR/$side-admin" ]; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "$SECRETS_DIR/$side-admin does not hold the expected password after ${WAIT_SECONDS}s (is the ExternalSecret synced?)" >&2
      exit 1
    fi
    sleep 5
  done
done
until from=$(master source "$SOURCE_NODES") && to=$(master target "$TARGET_NODES"); do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "no master among the source ($SOURCE_NODES) or the target ($TARGET_NODES) after ${WAIT_SECONDS}s" >&2
    exit 1
  fi
  sleep 5
done

# keys <side> <node>: every key of COPY_FILE's patterns on that node, as "<database> <key>" lines (marks aside).
keys() {
  while read -r db pattern; do
    on "$1" "$2" -n "$db" --raw --scan --pattern "$pattern" | grep -vxF "$MARK_KEY" | sed "s/^/$db /"
  done <"$JOB_DIR/@COPY_FILE@"
}

mark_db=$(head -n 1 "$JOB_DIR/@COPY_FILE@" | cut -d ' ' -f 1)
state=$(on target "$to" -n "$mark_db" --raw GET "$MARK_KEY")
case "$state" in
  "copied from $SOURCE_GROUP")
    echo "already copied from $SOURCE_GROUP"
    exit 0
    ;;
  "copying from $SOURCE_GROUP")
    echo "an earlier attempt stopped: its partial copy is deleted and copied again"
    keys target "$to" | while IFS= read -r line; do on target "$to" -n "${line%% *}" DEL "${line#* }" >/dev/null; done
    ;;
  "")
    if [ -n "$(keys target "$to" | head -n 1)" ]; then
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
keys source "$from" >"$WORK_DIR/keys"
while IFS= read -r line; do
  db=${line%% *}
  key=${line#* }
  # redis-cli ends its raw output with a newline, which is not the value's.
  on source "$from" -n "$db" --raw DUMP "$key" >"$WORK_DIR/dump"
  size=$(wc -c <"$WORK_DIR/dump")
  # Expired between the scan and the dump: nothing to copy.
  [ "$size" -gt 1 ] || continue
  at=$(on source "$from" -n "$db" PEXPIRETIME "$key")
  head -c $((size - 1)) "$WORK_DIR/dump" >"$WORK_DIR/value"
  reply=$(on target "$to" -n "$db" -x RESTORE "$key" 0 <"$WORK_DIR/value")
  if [ "$reply" != OK ]; then
    echo "RESTORE of a key in database $db: $reply" >&2
    exit 1
  fi
  # -1: no expiry. A time already past deletes the key at once, as it would have expired on the source.
  if [ "$at" -gt 0 ]; then
    on target "$to" -n "$db" PEXPIREAT "$key" "$at" >/dev/null
  fi
  copied=$((copied + 1))
done <"$WORK_DIR/keys"

[ "$(on target "$to" -n "$mark_db" SET "$MARK_KEY" "copied from $SOURCE_GROUP")" = OK ]
echo "copied $copied keys from $SOURCE_GROUP ($from) to $to; writes frozen for $(( $(date +%s) - started ))s so far"
