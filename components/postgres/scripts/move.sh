#!/bin/sh
# Copies one application's database from the server it leaves (SOURCE_*) to the one it moves to (TARGET_*), with a
# write freeze: the old logins lose LOGIN and their sessions end before the dump, so every write the old server
# acknowledged is in the copy. Idempotent: a target already marked as copied from this source is left alone, one
# holding anything else is never written to.
set -eu
# shellcheck source=components/scripts/move-job.sh
. "$JOB_DIR/@MOVE_JOB_LIB@"

# Runs a command against one side (source or target) as that server's admin, with its own libpq settings.
on() {
  side="$1"
  shift
  (
    if [ "$side" = source ]; then
      PGHOST="$SOURCE_PGHOST" PGPORT="$SOURCE_PGPORT" PGUSER="$SOURCE_PGUSER" PGSSLMODE="$SOURCE_PGSSLMODE"
      root="${SOURCE_PGSSLROOTCERT:-}"
    else
      PGHOST="$TARGET_PGHOST" PGPORT="$TARGET_PGPORT" PGUSER="$TARGET_PGUSER" PGSSLMODE="$TARGET_PGSSLMODE"
      root="${TARGET_PGSSLROOTCERT:-}"
    fi
    PGPASSWORD="$(cat "$SECRETS_DIR/$side-admin")"
    export PGHOST PGPORT PGUSER PGSSLMODE PGPASSWORD
    if [ -n "$root" ]; then
      PGSSLROOTCERT="$root"
      export PGSSLROOTCERT
    fi
    "$@"
  )
}

# The synced Secret first, then both servers.
wait_for_secrets source-admin target-admin
for side in source target; do
  until on "$side" pg_isready --quiet; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "the $side server does not accept connections after ${WAIT_SECONDS}s" >&2
      exit 1
    fi
    sleep 5
  done
done

state="$(on target psql --no-psqlrc --no-align --tuples-only --quiet --set ON_ERROR_STOP=1 \
  --dbname "$DATABASE" --file "$JOB_DIR/@CHECK_FILE@")"
case "$state" in
  copied) echo "$DATABASE already copied from $SOURCE_PGHOST"; exit 0 ;;
  empty) ;;
  *)
    echo "$DATABASE on $TARGET_PGHOST already holds relations not copied from $SOURCE_PGHOST ($state): nothing is written over them" >&2
    exit 1
    ;;
esac

started=$(date +%s)
on source psql --no-psqlrc --quiet --set ON_ERROR_STOP=1 --dbname postgres --file "$JOB_DIR/@FREEZE_FILE@"
on source pg_dump --format=custom --file "$WORK_DIR/dump" --dbname "$DATABASE"
# The platform's extensions are the target's own (its login Job creates them): their entries are skipped.
pg_restore --list "$WORK_DIR/dump" | grep -v -e ' EXTENSION - ' -e ' COMMENT - EXTENSION ' >"$WORK_DIR/list"
pg_restore --no-owner --no-privileges --use-list "$WORK_DIR/list" --file "$WORK_DIR/restore.sql" "$WORK_DIR/dump"
# One transaction: the data and the mark that says it is complete arrive together, or nothing does (psql runs every
# -f of --single-transaction in one, and with ON_ERROR_STOP rolls it back on any error, the client's included:
# postgres commit b364cfdf, "Fix psql's single transaction mode on client-side errors", back-patched to 10).
on target psql --no-psqlrc --quiet --set ON_ERROR_STOP=1 --single-transaction --dbname "$DATABASE" \
  --file "$JOB_DIR/@HEADER_FILE@" --file "$WORK_DIR/restore.sql" --file "$JOB_DIR/@FOOTER_FILE@"
echo "$DATABASE copied from $SOURCE_PGHOST to $TARGET_PGHOST; writes frozen for $(( $(date +%s) - started ))s so far"
