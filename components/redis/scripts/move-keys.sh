# shellcheck shell=sh
# Sourced first by both steps of a Redis move Job (`move.sh`: the copy; `retire.sh`: the old copy's deletion); it
# sources what the move Jobs of both services share. SOURCE_*: the group the application leaves; TARGET_*: the one it moves to; COPY_FILE:
# "<database> <key pattern>" lines, the application's keys as the old group holds them; MARK_KEY: the Job's marks.
#
# Keys and values travel quoted as `redis-cli --no-raw` prints them, `--scan` included (`sdscatrepr`: `"` ... `"`,
# `\\`, `\"`, `\n`, `\r`, `\t`, `\a`, `\b` and `\xHH` for any other unprintable byte), which is what redis-cli's
# parser of the commands it reads from stdin takes back (`sdssplitargs`; a line it cannot parse answers "Invalid
# argument(s)"): binary-safe, one line each (redis 7.0.15 and 7.4.1 `src/sds.c`, `src/redis-cli.c` `repl`,
# `cliSplitArgs`, `--scan`). Commands go many to one redis-cli reading them from stdin: one connection, no process per
# key.

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

# keys <side> <node> <file>: every key of COPY_FILE's patterns on that node once (SCAN may return a key twice, two
# patterns may match it), as "<database> <quoted key>" lines in <file>, marks aside. A failed SCAN fails (redis-cli
# exits 1), never reads as no keys.
keys() {
  : >"$3.all"
  while read -r db pattern; do
    if ! on "$1" "$2" -n "$db" --no-raw --scan --pattern "$pattern" >"$3.scan"; then
      echo "SCAN of $pattern in database $db on $2 failed" >&2
      return 1
    fi
    grep -vxF "\"$MARK_KEY\"" "$3.scan" | sed "s/^/$db /" >>"$3.all"
  done <"$JOB_DIR/@COPY_FILE@"
  awk '!seen[$0]++' "$3.all" >"$3"
}

# databases <keys file>: the databases its lines name.
databases() {
  cut -d ' ' -f 1 "$1" | sort -un
}

# session <side> <node> <database> <commands file>: redis-cli reading the commands; fails unless it answered each
# command once (without a server it exits 0 having answered none).
session() {
  on "$1" "$2" -n "$3" --no-raw <"$4" >"$4.replies"
  if [ "$(wc -l <"$4.replies")" -ne "$(wc -l <"$4")" ]; then
    echo "$2 answered $(wc -l <"$4.replies") of $(wc -l <"$4") commands in database $3" >&2
    return 1
  fi
}

# unlink_keys <side> <node>: deletes every key `keys` lists there, 100 to an UNLINK (which frees the values in the
# background); prints how many it deleted.
unlink_keys() {
  keys "$1" "$2" "$WORK_DIR/unlink"
  total=0
  for db in $(databases "$WORK_DIR/unlink"); do
    awk -v db="$db" '
      $1 == db { batch = batch " " substr($0, length($1) + 2); if (++n == 100) { print "UNLINK" batch; batch = ""; n = 0 } }
      END { if (n > 0) print "UNLINK" batch }' "$WORK_DIR/unlink" >"$WORK_DIR/unlink.$db"
    session "$1" "$2" "$db" "$WORK_DIR/unlink.$db"
    n=$(awk '/^\(integer\) [0-9]+$/ { sum += $2; next } { print "UNLINK in database '"$db"': " $0 >"/dev/stderr"; bad = 1 }
      END { print sum + 0; exit bad }' "$WORK_DIR/unlink.$db.replies")
    total=$((total + n))
  done
  echo "$total"
}
