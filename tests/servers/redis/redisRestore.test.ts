/**
 * Drill: Redis restored from an RDB snapshot on a real redis-server (the rendered dev node, with `redis.snapshots`).
 * Applications write, a snapshot is taken and copied away (the backup), then an admin flushes everything and the
 * applications write on. The node is stopped, its volume restored by `scripts/restore-rdb.sh` and started again by
 * the unchanged start script: every key of the snapshot is back.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import Redis from "ioredis";
import { NAMES } from "../../../components/redis/layout";
import { REDIS_PERSISTENCE_FILES, renderRestoreRdbScript } from "../../../components/redis/restore";
import { waitFor } from "../../../testbed/servers/processes";
import { LocalRedisGroup } from "../../../testbed/servers/redis";
import { localGroup } from "../../support/redis";

const KEYS_PER_APP = 500;

describe("Redis restore from an RDB snapshot (real redis-server, rendered dev node)", function () {
    this.timeout(60_000);
    let g: LocalRedisGroup;
    before(async () => {
        g = await localGroup("dev", { snapshots: [{ seconds: 3600, changes: 1 }] });
    });
    after(() => g?.stop());

    async function asApps(work: (app: string, client: Redis) => Promise<void>): Promise<void> {
        for (const [app, env] of Object.entries(g.env())) {
            const client = new Redis(env.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0 });
            await client.connect();
            try {
                await work(app, client);
            } finally {
                client.disconnect();
            }
        }
    }
    /** Every application database's keys and values, read as the admin. */
    const keyspace = async () => {
        const all: Record<string, string> = {};
        const admin = g.admin("data", 0);
        await admin.connect();
        try {
            for (const app of g.options.apps) {
                await admin.select(app.redisDb);
                for (const key of await admin.keys("*")) {
                    all[`${app.redisDb}/${key}`] = String(await admin.get(key));
                }
            }
        } finally {
            admin.disconnect();
        }
        return all;
    };
    const dataDir = () => g.dirsFor(`${NAMES.data}-0`).data;
    const started = () =>
        waitFor("the node to serve", 15_000, async () =>
            (await g.command("data", 0, "PING")) === "PONG" ? true : undefined,
        );

    it("brings back every key of the snapshot; copying dump.rdb into place alone would bring back none", async () => {
        g.startAll();
        await started();
        assert.equal(await g.command("data", 0, "CONFIG", "GET", "save").then((r) => (r as string[])[1]), "3600 1");
        await asApps(async (app, client) => {
            for (let i = 0; i < KEYS_PER_APP; i++) {
                await client.set(`${app}:k${i}`, `${app}-value-${i}`);
            }
        });
        const snapshot = await keyspace();
        assert.equal(await g.command("data", 0, "BGSAVE"), "Background saving started");
        await waitFor("the snapshot", 15_000, async () => {
            const info = String(await g.command("data", 0, "INFO", "persistence"));
            return /rdb_changes_since_last_save:0\r\n/.test(info) &&
                /rdb_bgsave_in_progress:0\r\n/.test(info) &&
                /rdb_last_bgsave_status:ok\r\n/.test(info)
                ? true
                : undefined;
        });
        const data = dataDir();
        const backup = path.join(g.root, "backup.rdb");
        fs.copyFileSync(path.join(data, REDIS_PERSISTENCE_FILES.rdb), backup);

        // The accident, then more writes that the restore gives up.
        assert.equal(await g.command("data", 0, "FLUSHALL"), "OK");
        await asApps(async (app, client) => {
            await client.set(`${app}:after-snapshot`, "1");
        });

        // The trap: with appendonly yes, dump.rdb in place of the AOF is ignored and the node starts empty.
        await g.kill("data", 0, "SIGTERM");
        fs.rmSync(path.join(data, REDIS_PERSISTENCE_FILES.aofDir), { recursive: true });
        fs.copyFileSync(backup, path.join(data, REDIS_PERSISTENCE_FILES.rdb));
        g.start("data", 0);
        await started();
        assert.equal(await g.command("data", 0, "DBSIZE"), 0, "dump.rdb alone is not loaded when appendonly is on");

        const t0 = Date.now();
        await g.kill("data", 0, "SIGTERM");
        const script = path.join(g.root, "restore-rdb.sh");
        fs.writeFileSync(script, renderRestoreRdbScript());
        const run = spawnSync("sh", [script], {
            encoding: "utf8",
            env: { PATH: process.env.PATH, DATA_DIR: data, RDB_FILE: backup },
        });
        assert.equal(run.status, 0, run.stderr);
        g.start("data", 0);
        await started();
        const seconds = (Date.now() - t0) / 1000;
        const restored = await keyspace();
        const lost = Object.keys(snapshot).filter((k) => restored[k] !== snapshot[k]).length;
        console.log(
            `      Redis RDB drill: recovery ${seconds.toFixed(1)} s (stop, restore, start), ` +
                `keys of the snapshot lost: ${lost} of ${Object.keys(snapshot).length}`,
        );
        assert.deepEqual(restored, snapshot);

        // The restored data is the node's AOF now: it survives the next restart.
        await g.kill("data", 0, "SIGTERM");
        g.start("data", 0);
        await started();
        assert.deepEqual(await keyspace(), snapshot);
    });
});
