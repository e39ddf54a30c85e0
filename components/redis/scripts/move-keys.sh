# shellcheck shell=sh
# Sourced first by both steps of a Redis move Job (`move.sh`: the copy; `retire.sh`: the old copy's deletion); it
# sources what the move Jobs of both services share. SOURCE_*: the group the application leaves; TARGET_*: the one it moves to; COPY_FILE:
# "<database> <key pattern>" lines, the application's keys as the old group holds them; MARK_KEY: the Job's marks.
#
# Keys travel quoted as `redis-cli --no-raw` prints them (sds.c `sdscatrepr`: `"` ... `"`, `\\`, `\"`, `\n`, `\r`,
# `\t`, `\a`, `\b` and `\xHH` for any other unprintable byte), which is what redis-cli's own argument parser reads back
# (`sdssplitargs`, used for commands read from stdin): binary-safe, one line each. Commands go many to one redis-cli
# reading them from stdin: one connection, no process per key.

# shellcheck source=components/scripts/move-job.sh
. "$JOB_DIR/@MOVE_JOB_LIB@"

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

# wait_for_masters: sets `from` and `to`, the masters of both groups, once each group has one; exits at the deadline.
# shellcheck disable=SC2034 # from, to and mark_db are the sourcing script's.
wait_for_masters() {
  until from=$(master source "$SOURCE_NODES") && to=$(master target "$TARGET_NODES"); do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "no master among the source ($SOURCE_NODES) or the target ($TARGET_NODES) after ${WAIT_SECONDS}s" >&2
      exit 1
    fi
    sleep 5
  done
}

# The database the marks live in: the application's own, first in COPY_FILE.
# shellcheck disable=SC2034
mark_db=$(head -n 1 "$JOB_DIR/@COPY_FILE@" | cut -d ' ' -f 1)

# keys <side> <node>: every key of COPY_FILE's patterns on that node once (SCAN may return a key twice, two patterns
# may match it), as "<database> <quoted key>" lines, marks aside.
keys() {
  while read -r db pattern; do
    on "$1" "$2" -n "$db" --no-raw --scan --pattern "$pattern" | grep -vxF "\"$MARK_KEY\"" | sed "s/^/$db /"
  done <"$JOB_DIR/@COPY_FILE@" | awk '!seen[$0]++'
}

# databases <keys file>: the databases its lines name.
databases() {
  cut -d ' ' -f 1 "$1" | sort -un
}

# unlink_keys <side> <node>: deletes every key `keys` lists there, 100 to an UNLINK (which frees the values in the
# background); prints how many it deleted.
unlink_keys() {
  keys "$1" "$2" >"$WORK_DIR/unlink"
  total=0
  for db in $(databases "$WORK_DIR/unlink"); do
    n=$(awk -v db="$db" '
      $1 == db { batch = batch " " substr($0, length($1) + 2); if (++n == 100) { print "UNLINK" batch; batch = ""; n = 0 } }
      END { if (n > 0) print "UNLINK" batch }' "$WORK_DIR/unlink" |
      on "$1" "$2" -n "$db" |
      awk '/^[0-9]+$/ { sum += $0; next } { print "UNLINK in database '"$db"': " $0 >"/dev/stderr"; bad = 1 }
        END { print sum + 0; exit bad }')
    total=$((total + n))
  done
  echo "$total"
}
