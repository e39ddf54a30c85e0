/**
 * Restore of a Redis data node from an RDB snapshot (`redis.snapshots`, a backup of `dump.rdb`): the script
 * `scripts/restore-rdb.sh` run on the stopped node's volume, then an ordinary start. Run by the drill
 * (tests/servers/redis/redisRestore.test.ts) and by the operator (README, Backup and restore).
 */
import * as path from "path";
import { renderScript } from "../scriptTemplate";

/**
 * Redis' defaults, which redis.conf here does not change: `appenddirname appendonlydir`, `appendfilename
 * appendonly.aof` (its manifest `<appendfilename>.manifest`), `dbfilename dump.rdb` (redis/redis redis.conf, 7.0+).
 */
export const REDIS_PERSISTENCE_FILES = {
    aofDir: "appendonlydir",
    aofManifest: "appendonly.aof.manifest",
    rdb: "dump.rdb",
} as const;

/** The restore script (DATA_DIR, RDB_FILE from the environment). */
export function renderRestoreRdbScript(): string {
    return renderScript(path.join(__dirname, "scripts"), "restore-rdb.sh", {
        AOF_DIR: REDIS_PERSISTENCE_FILES.aofDir,
        MANIFEST_FILE: REDIS_PERSISTENCE_FILES.aofManifest,
        BASE_FILE: "restored.base.rdb",
        INCR_FILE: "restored.incr.aof",
    });
}
