/**
 * Drill: point-in-time restore of ONE application of a shared server, on real servers on loopback (PostgreSQL 15 by
 * default; .ci/run runs it again on 16). The live server archives its WAL, a base backup is taken, both applications
 * write, t is noted, both write again and application A drops its table. The server is restored to a NEW server at t,
 * and A's database is copied back into the live server by the steps `npm run restore` prints
 * (components/postgres/restore.ts), addresses aside. Application B keeps one connection open throughout.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { PG_ADMIN_CREDENTIAL } from "../../../components/postgres/credentials";
import {
    RECOVERY_SIGNAL_FILE,
    REPLACED_SUFFIX,
    RestoreStep,
    appRestoreSteps,
    pointInTimeRecoverySettings,
    walArchiveSettings,
} from "../../../components/postgres/restore";
import {
    LocalServer,
    PG_BIN,
    baseBackup,
    requirePostgresBinaries,
    startLocalServer,
} from "../../../testbed/servers/postgres";
import { prepareAzureLikeServer, runAzureLoginJob } from "../../../testbed/servers/postgresLogins";
import { LOGINS, passwordsFor, queryAs } from "../../support/postgres";

const ADMIN = "pgadmin";
const ROWS_BEFORE_T = 100;
const ROWS_AFTER_T = 50;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe(`point-in-time restore of one application (${PG_BIN})`, function () {
    this.timeout(90_000);
    const servers: LocalServer[] = [];
    const dirs: string[] = [];
    after(async () => {
        for (const s of servers) {
            await s.stop();
        }
        for (const d of dirs) {
            fs.rmSync(d, { recursive: true, force: true });
        }
    });

    it("brings application A back to t on the live server, loses no row committed before t, and never touches B", async () => {
        const version = requirePostgresBinaries(PG_BIN, ["psql", "pg_dump", "pg_restore"]);
        const work = fs.mkdtempSync(path.join(os.tmpdir(), "dp-pitr-"));
        dirs.push(work);
        // The server's OS user archives into and restores from it.
        fs.chmodSync(work, 0o755);
        const archive = path.join(work, "archive");
        const backup = path.join(work, "base");
        fs.mkdirSync(archive);
        fs.chmodSync(archive, 0o777);
        const pws = passwordsFor("1");
        const [a, b] = LOGINS;
        const pwOf = (l: (typeof LOGINS)[number]) => pws[l.current.credentialId];

        const live = await startLocalServer({ settings: walArchiveSettings(archive) });
        servers.push(live);
        await prepareAzureLikeServer(live, ADMIN, pws[PG_ADMIN_CREDENTIAL], LOGINS);
        runAzureLoginJob(live, ADMIN, LOGINS, pws);
        const asApp = (l: (typeof LOGINS)[number], sql: string, server = live) =>
            queryAs(server, l.database, l.current.name, pwOf(l), sql);
        const rowsOf = async (l: (typeof LOGINS)[number]) =>
            (await asApp(l, "SELECT id FROM items ORDER BY id")).map((r) => Number(r.id));
        const insert = (l: (typeof LOGINS)[number], from: number, to: number) =>
            asApp(l, `INSERT INTO items SELECT g, 'row ' || g FROM generate_series(${from}, ${to}) g`);
        for (const l of [a, b]) {
            await asApp(l, "CREATE TABLE items (id int PRIMARY KEY, note text)");
        }

        const held = new Client({
            host: "127.0.0.1",
            port: live.port,
            database: b.database,
            user: b.current.name,
            password: pwOf(b),
            ssl: { ca: fs.readFileSync(live.caFile, "utf8") },
        });
        // Teardown stops the server under it: that error is not the drill's (the query after the drill is).
        held.on("error", () => undefined);
        await held.connect();
        const heldPid = (await held.query("SELECT pg_backend_pid() AS pid")).rows[0].pid;

        await baseBackup(live, backup);
        for (const l of [a, b]) {
            await insert(l, 1, ROWS_BEFORE_T);
        }
        // A second either side of t: commit times are in microseconds, t in milliseconds.
        await sleep(1100);
        const t = new Date();
        await sleep(1100);
        for (const l of [a, b]) {
            await insert(l, ROWS_BEFORE_T + 1, ROWS_BEFORE_T + ROWS_AFTER_T);
        }
        await asApp(a, "DROP TABLE items");
        await archiveCurrentWal(live);

        const started = Date.now();
        fs.writeFileSync(path.join(backup, RECOVERY_SIGNAL_FILE), "");
        const restored = await startLocalServer({
            dataFrom: backup,
            settings: pointInTimeRecoverySettings(archive, t),
        });
        servers.push(restored);
        await waitForPromotion(restored);
        const dump = path.join(work, `${a.database}.dump`);
        const steps = appRestoreSteps(a, dump);
        for (const step of steps.slice(0, -1)) {
            runStep(step, step.on === "live" ? live : restored, pws[PG_ADMIN_CREDENTIAL]);
        }
        // The swap, the only step that stops A (it is the last one rendered).
        const frozen = Date.now();
        runStep(steps[steps.length - 1], live, pws[PG_ADMIN_CREDENTIAL]);
        const freezeMs = Date.now() - frozen;
        const seconds = (Date.now() - started) / 1000;

        const restoredRows = await rowsOf(a);
        const expected = Array.from({ length: ROWS_BEFORE_T }, (_, i) => i + 1);
        const lost = expected.filter((id) => !restoredRows.includes(id)).length;
        console.log(
            `      PITR drill on ${version}: recovery ${seconds.toFixed(1)} s (restored server + copy of ${a.database}), ` +
                `rows committed before t lost: ${lost}, rows after t kept: ${restoredRows.length - (ROWS_BEFORE_T - lost)}, ` +
                `${a.database} frozen ${freezeMs} ms (swap)`,
        );
        assert.deepEqual(restoredRows, expected, "A holds exactly the rows committed before t");
        assert.deepEqual(
            (await held.query("SELECT pg_backend_pid() AS pid, count(*)::int AS n FROM items GROUP BY 1")).rows,
            [{ pid: heldPid, n: ROWS_BEFORE_T + ROWS_AFTER_T }],
            "B's connection opened before the drill still works and B holds today's rows",
        );
        await held.end();
        await assert.rejects(
            queryAs(live, a.database, b.current.name, pwOf(b), "SELECT 1"),
            /permission denied for database/,
            "the restored database is closed to other applications",
        );
        const [replaced] = await asApp(
            a,
            `SELECT datallowconn FROM pg_database WHERE datname = '${a.database}${REPLACED_SUFFIX}'`,
        );
        assert.deepEqual(replaced, { datallowconn: false }, "the replaced database is kept, closed, for salvage");
    });
});

/** Switches to a new WAL segment and waits until the one holding the last commits is in the archive. */
async function archiveCurrentWal(server: LocalServer): Promise<void> {
    const client = new Client({ host: server.socketDir, port: server.port, user: "postgres", database: "postgres" });
    await client.connect();
    try {
        const segment = (await client.query("SELECT pg_walfile_name(pg_switch_wal()) AS f")).rows[0].f as string;
        for (let i = 0; i < 100; i++) {
            const last = (await client.query("SELECT last_archived_wal AS f FROM pg_stat_archiver")).rows[0].f;
            if (last !== null && last >= segment) {
                return;
            }
            await sleep(100);
        }
        throw new Error(`WAL segment ${segment} not archived after 10 s`);
    } finally {
        await client.end();
    }
}

/** Waits until recovery reached t and the server promoted itself (read-write on a new timeline). */
async function waitForPromotion(server: LocalServer): Promise<void> {
    for (let i = 0; i < 300; i++) {
        const client = new Client({
            host: server.socketDir,
            port: server.port,
            user: "postgres",
            database: "postgres",
        });
        await client.connect();
        try {
            if (!(await client.query("SELECT pg_is_in_recovery() AS r")).rows[0].r) {
                return;
            }
        } finally {
            await client.end();
        }
        await sleep(100);
    }
    throw new Error("the restored server did not promote within 30 s");
}

/** Runs a rendered step as the admin against its server, the client tools from PG_BIN. */
function runStep(step: RestoreStep, server: LocalServer, adminPassword: string): void {
    const [command, ...args] = step.argv;
    const result = spawnSync(path.join(PG_BIN, command), args, {
        encoding: "utf8",
        env: {
            PATH: process.env.PATH,
            PGHOST: "127.0.0.1",
            PGPORT: String(server.port),
            PGUSER: ADMIN,
            PGPASSWORD: adminPassword,
            PGSSLMODE: "require",
        },
    });
    assert.equal(result.status, 0, `${step.title} failed: ${result.stderr}${result.stdout}`);
}
