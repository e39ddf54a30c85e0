#!/bin/sh
# Restores a STOPPED data node's volume from an RDB snapshot (a backup of `dump.rdb`): DATA_DIR is the node's data
# directory, RDB_FILE the snapshot. The nodes run with `appendonly yes`, and then Redis loads only the AOF at start,
# never dump.rdb: with no AOF there it starts EMPTY and writes an empty AOF (reproduced on 7.0.15). So the snapshot
# becomes the base of a new multi-part AOF (Redis 7: a manifest naming an RDB base and an empty increment), which the
# unchanged start script then loads. The AOF it replaces is kept beside it, renamed, never deleted here.
set -eu
: "${DATA_DIR:?}" "${RDB_FILE:?}"
aof="$DATA_DIR/@AOF_DIR@"
new="$aof.restoring"
rm -rf "$new"
mkdir "$new"
cp "$RDB_FILE" "$new/@BASE_FILE@"
: >"$new/@INCR_FILE@"
printf 'file %s seq 1 type b\nfile %s seq 1 type i\n' "@BASE_FILE@" "@INCR_FILE@" >"$new/@MANIFEST_FILE@"
if [ -e "$aof" ]; then
    mv "$aof" "$aof.before-restore-$(date +%Y%m%d%H%M%S)"
fi
mv "$new" "$aof"
echo "restored $DATA_DIR from $RDB_FILE: start the node to load it"
