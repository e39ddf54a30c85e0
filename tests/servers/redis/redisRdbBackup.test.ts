/**
 * The Redis backup's copy on real redis-server and redis-sentinel 7.0 (the rendered prod group: Sentinel, TLS, with
 * `redis.backup`): the backup Job's script (components/redis/scripts/backup-rdb.sh, rendered) asks a Sentinel for the
 * master and runs `redis-cli --rdb` as the rendered ACL user `backup`, which may do nothing but that; the file loaded
 * into a fresh redis-server holds every key of every application database, equal (DUMP of each key). The ACL user's
 * rights are the least `--rdb` takes: redis-cli 7.0.15 sends REPLCONF capa eof, REPLCONF rdb-only 1 and SYNC.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import Redis from "ioredis";
import { USERS } from "../../../components/redis/acl";
import { backupConfigMap, backupRdbEnv } from "../../../components/redis/backup";
import { AUTH_FILES, TLS_FILES } from "../../../components/redis/files";
import { LOOPBACK, Supervisor, freePorts, runShellScript, waitFor } from "../../../testbed/servers/processes";
import { LocalRedisGroup, redisPorts } from "../../../testbed/servers/redis";
import { waitHealthy } from "../../../testbed/servers/redisStack";
import { parseStack, sectionOverride } from "../../support/config";
import { testPasswords } from "../../support/redis";

const KEYS_PER_APP = 300;

describe("Redis RDB backup: redis-cli --rdb as the rendered backup user (real servers, rendered prod group)", function () {
    this.timeout(90_000);
    let g: LocalRedisGroup;
    let script: string;
    let fresh: Supervisor;
    before(async () => {
        const config = parseStack("prod", {
            ...sectionOverride("prod", "redis", { backup: { schedule: "15 * * * *", retention: 24 } }),
            "data-platform:backups": {
                storageAccountId:
                    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-backups/providers/Microsoft.Storage/storageAccounts/dpbackups",
                container: "exports",
            },
        });
        g = new LocalRedisGroup({
            redis: config.redis,
            apps: config.apps,
            passwords: testPasswords(config),
            ports: await redisPorts(config.redis),
        });
        g.startAll();
        await waitHealthy(g, 30_000);
        fresh = new Supervisor(path.join(g.root, "fresh-logs"));
        script = path.join(g.root, "backup-rdb.sh");
        // The file the group's backup ConfigMap holds.
        fs.writeFileSync(script, Object.values(backupConfigMap(g.options.redis, "data-platform").data)[0]);
    });
    after(async () => {
        await fresh?.stopAll();
        await g?.stop();
    });

    /** The Job's environment with the group's local files in place of the pod's mounts. */
    const jobEnv = (out: string): Record<string, string> => ({
        ...backupRdbEnv(g.options.redis, g.layout, out),
        BACKUP_PASSWORD_FILE: path.join(g.layout.dirs.auth, AUTH_FILES.backup),
        SENTINEL_PASSWORD_FILE: path.join(g.layout.dirs.auth, AUTH_FILES.sentinelClient),
        CA_FILE: path.join(g.layout.dirs.tls, TLS_FILES.ca),
    });

    /** Every key of every application database as DUMP payloads, read as the admin of `client`. */
    async function keyspace(client: Redis): Promise<Record<string, string>> {
        const all: Record<string, string> = {};
        for (const app of g.options.apps) {
            await client.select(app.redisDb);
            for (const key of await client.keys("*")) {
                all[`${app.redisDb}/${key}`] = (await client.dumpBuffer(key)).toString("hex");
            }
        }
        return all;
    }

    it("copies the master's dataset through a Sentinel and the copy, loaded in a fresh server, holds every key", async () => {
        const master = await waitHealthy(g, 30_000);
        const admin = g.admin("data", master);
        await admin.connect();
        let written: Record<string, string>;
        try {
            for (const app of g.options.apps) {
                await admin.select(app.redisDb);
                for (let i = 0; i < KEYS_PER_APP; i++) {
                    await admin.set(`${app.name}:k${i}`, `${app.name}-value-${i}`);
                }
                await admin.hset(`${app.name}:h`, { a: "1", b: "2" });
                await admin.rpush(`${app.name}:l`, "x", "y", "z");
            }
            // On every replica before the copy (which reads one).
            assert.equal(
                await admin.call("WAIT", String(g.options.redis.replicas - 1), "5000"),
                g.options.redis.replicas - 1,
            );
            written = await keyspace(admin);
        } finally {
            admin.disconnect();
        }

        const out = path.join(g.root, "copy.rdb");
        const started = Date.now();
        const run = await runShellScript(script, jobEnv(out));
        const seconds = (Date.now() - started) / 1000;
        assert.equal(run.code, 0, run.output);
        const source = new RegExp(`copying the RDB of ${LOOPBACK}:(\\d+)`).exec(run.output);
        assert.ok(source, run.output);
        assert.notEqual(Number(source[1]), g.port("data", master), "a replica's, not the master's");
        assert.equal(fs.readFileSync(out).subarray(0, 5).toString(), "REDIS");
        // From a replica in sync: every Sentinel still lists exactly the group's replicas, and the group is healthy.
        const replicas = await g.command("sentinel", 0, "SENTINEL", "REPLICAS", g.options.redis.masterName);
        assert.equal((replicas as unknown[]).length, g.options.redis.replicas - 1, JSON.stringify(replicas));
        assert.equal(await waitHealthy(g, 10_000), master);

        // A fresh server (no AOF: it loads dump.rdb at start), databases as the group renders them.
        const dir = path.join(g.root, "fresh");
        fs.mkdirSync(dir);
        fs.copyFileSync(out, path.join(dir, "dump.rdb"));
        const [port] = await freePorts(1);
        fresh.start(
            "fresh",
            "redis-server",
            [
                "--port",
                String(port),
                "--bind",
                LOOPBACK,
                "--dir",
                dir,
                "--dbfilename",
                "dump.rdb",
                "--appendonly",
                "no",
                "--save",
                "",
                "--databases",
                String(g.options.redis.databases + 1),
            ],
            {},
        );
        const restored = new Redis({ host: LOOPBACK, port, lazyConnect: true, maxRetriesPerRequest: 0 });
        restored.on("error", () => undefined);
        await waitFor(
            "the fresh server",
            15_000,
            async () => (await restored.ping().catch(() => undefined)) ?? undefined,
        );
        try {
            const loaded = await keyspace(restored);
            const lost = Object.keys(written).filter((k) => loaded[k] !== written[k]).length;
            console.log(
                `      Redis RDB backup: copy of ${Object.keys(written).length} keys in ${seconds.toFixed(1)} s ` +
                    `(${fs.statSync(out).size} B), keys lost: ${lost}`,
            );
            assert.deepEqual(loaded, written);
        } finally {
            restored.disconnect();
        }
    });

    it("the backup user may copy the RDB and nothing else", async () => {
        const master = await waitHealthy(g, 30_000);
        const password = fs.readFileSync(path.join(g.layout.dirs.auth, AUTH_FILES.backup), "utf8");
        const cli = (...args: string[]) =>
            spawnSync(
                "redis-cli",
                [
                    "--no-auth-warning",
                    "--tls",
                    "--cacert",
                    path.join(g.layout.dirs.tls, TLS_FILES.ca),
                    "--user",
                    USERS.backup,
                    "-h",
                    LOOPBACK,
                    "-p",
                    String(g.port("data", master)),
                    ...args,
                ],
                { encoding: "utf8", env: { PATH: process.env.PATH, REDISCLI_AUTH: password } },
            );
        for (const command of [
            ["GET", "orders:k1"],
            ["KEYS", "*"],
            ["CONFIG", "GET", "masterauth"],
            ["PSYNC", "?", "-1"],
            ["PING"],
        ]) {
            assert.match(cli(...command).stdout + cli(...command).stderr, /NOPERM/, command.join(" "));
        }
    });

    it("needs both of its rights: +sync alone is refused REPLCONF, the replication user's +psync is refused SYNC", async () => {
        const master = await waitHealthy(g, 30_000);
        const replica = [0, 1, 2].find((i) => i !== master)!;
        const admin = g.admin("data", replica);
        await admin.connect();
        const copy = (user: string) =>
            spawnSync(
                "redis-cli",
                [
                    "--no-auth-warning",
                    "--tls",
                    "--cacert",
                    path.join(g.layout.dirs.tls, TLS_FILES.ca),
                    "--user",
                    user,
                    "-h",
                    LOOPBACK,
                    "-p",
                    String(g.port("data", replica)),
                    "--rdb",
                    path.join(g.root, `${user}.rdb`),
                ],
                { encoding: "utf8", env: { PATH: process.env.PATH, REDISCLI_AUTH: "probe-password" } },
            );
        try {
            await admin.call(
                "ACL",
                "SETUSER",
                "probe-sync",
                "on",
                ">probe-password",
                "resetchannels",
                "-@all",
                "+sync",
            );
            await admin.call(
                "ACL",
                "SETUSER",
                "probe-psync",
                "on",
                ">probe-password",
                "resetchannels",
                "-@all",
                "+psync",
                "+replconf",
                "+ping",
            );
            assert.match(copy("probe-sync").stderr, /REPLCONF rdb-only error: NOPERM/);
            const psync = copy("probe-psync");
            assert.notEqual(psync.status, 0);
            assert.match(psync.stderr, /SYNC with master failed: -NOPERM/);
        } finally {
            await admin.call("ACL", "DELUSER", "probe-sync", "probe-psync");
            admin.disconnect();
        }
    });

    it("fails, naming the refusal, when the server refuses the user (a wrong password)", async () => {
        const wrong = path.join(g.root, "wrong-password");
        fs.writeFileSync(wrong, "not-the-password");
        const run = await runShellScript(script, {
            ...jobEnv(path.join(g.root, "refused.rdb")),
            BACKUP_PASSWORD_FILE: wrong,
        });
        assert.notEqual(run.code, 0);
        assert.match(run.output, /WRONGPASS|invalid username-password/);
    });
    // Last: on the old script this copied the master, and its Sentinels kept a phantom replica for good.
    it("asks the Sentinels again while none lists a replica in sync (they look every 10 s) instead of copying the master", async () => {
        const master = await waitHealthy(g, 30_000);
        const replicas = [0, 1, 2].filter((i) => i !== master);
        /** Replicas the Sentinels list as plain replicas with their link to the master up (what the script looks for). */
        const inSync = async () => {
            let count = 0;
            for (let sentinel = 0; sentinel < g.layout.sentinels.length; sentinel++) {
                const listed = await g.command(
                    "sentinel",
                    sentinel,
                    "SENTINEL",
                    "REPLICAS",
                    g.options.redis.masterName,
                );
                count += (listed as string[][]).filter((fields) => {
                    const field = (name: string) => fields[fields.indexOf(name) + 1];
                    return field("flags") === "slave" && field("master-link-status") === "ok";
                }).length;
            }
            return count;
        };
        for (const replica of replicas) {
            g.signal("data", replica, "SIGSTOP");
        }
        let run: Promise<{ code: number; output: string }> | undefined;
        try {
            await waitFor("no Sentinel listing a replica in sync", 60_000, async () =>
                (await inSync()) === 0 ? true : undefined,
            );
            run = runShellScript(script, jobEnv(path.join(g.root, "late.rdb")));
            await new Promise((resolve) => setTimeout(resolve, 3_000));
        } finally {
            for (const replica of replicas) {
                g.signal("data", replica, "SIGCONT");
            }
        }
        const result = await run!;
        assert.equal(result.code, 0, result.output);
        assert.doesNotMatch(result.output, /copying the master/);
        const source = new RegExp(`copying the RDB of ${LOOPBACK}:(\\d+)`).exec(result.output);
        assert.ok(source, result.output);
        assert.notEqual(Number(source[1]), g.port("data", master), "a replica's, not the master's");
        assert.equal(await waitHealthy(g, 30_000), master);
        const listed = await g.command("sentinel", 0, "SENTINEL", "REPLICAS", g.options.redis.masterName);
        assert.equal((listed as unknown[]).length, replicas.length, JSON.stringify(listed));
    });
});
