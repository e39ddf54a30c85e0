/**
 * The move Job (`components/postgres/moveSpec.ts`, `scripts/move.sh`) between two Azure-like servers, PostgreSQL 15 to
 * 16, each prepared by the login Job as its non-superuser admin with an extension: the freeze ends the old logins'
 * sessions and refuses new ones, the copy arrives whole and owned by the application's role, a second run changes
 * nothing, and a target holding other data is never written over.
 */
import { strict as assert } from "assert";
import { spawn, spawnSync } from "child_process";
import { Client } from "pg";
import * as fs from "fs";
import { FREEZE_SESSIONS_WAIT_SECONDS, copiedMark } from "../../../components/postgres/moveSpec";
import {
    DEBIAN_PG_BIN,
    LocalServer,
    PG16_BIN,
    serversByMajor,
    startLocalServer,
} from "../../../testbed/servers/postgres";
import { prepareAzureLikeServer, runLoginJob } from "../../../testbed/servers/postgresLogins";
import { runMoveJob } from "../../../testbed/servers/postgresMove";
import { LOGINS, password, passwordsFor, queryAs } from "../../support/postgres";

const ADMIN = "pgadmin";
const SQL_OPTIONS = { createDatabases: false, superuser: false, extensions: ["citext"] };

describe("moving an application's database between servers (move Job, PostgreSQL 15 to 16)", function () {
    this.timeout(180_000);
    const servers: LocalServer[] = [];
    // Debian's 15 whatever PG_BIN says: .ci/run's rerun sets it to 16, and this test is about crossing majors.
    const majors = serversByMajor([DEBIAN_PG_BIN, PG16_BIN]);
    const pws = passwordsFor("1");
    // A keyword as role and database (`user`): every statement quotes it.
    const login = LOGINS[1];
    const [owner, alt] = login.logins;

    const azureLike = async (major: string) => {
        const bin = majors.get(major);
        if (!bin) {
            throw new Error(`no PostgreSQL ${major} binaries (found ${[...majors.keys()].join(", ")})`);
        }
        const server = await startLocalServer({ bin });
        servers.push(server);
        await prepareAzureLikeServer(server, ADMIN, password("admin-1"), LOGINS);
        runLoginJob(server, { adminLogin: ADMIN, logins: LOGINS, sqlOptions: SQL_OPTIONS, passwords: pws });
        return server;
    };
    /** A session of the application's owning login on `server`, not connected yet. */
    const ownerSession = (server: LocalServer) =>
        new Client({
            host: "127.0.0.1",
            port: server.port,
            database: login.database,
            user: owner.name,
            password: pws[owner.credentialId],
            ssl: { ca: fs.readFileSync(server.caFile, "utf8") },
        });
    const side = (server: LocalServer, name: string) => ({ server, name, admin: ADMIN, password: password("admin-1") });
    after(async () => {
        for (const s of servers) {
            await s.stop();
        }
    });

    it("freezes the old logins, copies the data owned by the application's role, marks it done, and runs again as a no-op", async () => {
        const [source, target] = [await azureLike("15"), await azureLike("16")];
        const as = (server: LocalServer, who: typeof owner, sql: string) =>
            queryAs(server, login.database, who.name, pws[who.credentialId], sql);
        await as(source, alt, "CREATE TABLE notes (id serial PRIMARY KEY, tag citext NOT NULL)");
        await as(source, alt, "INSERT INTO notes (tag) SELECT 'Tag' || g FROM generate_series(1, 500) g");
        // A session open during the move: the freeze ends it.
        const open = ownerSession(source);
        const ended = new Promise<Error>((resolve) => open.on("error", resolve));
        await open.connect();

        const run = await runMoveJob({ login, source: side(source, "default"), target: side(target, "reports") });
        assert.equal(run.code, 0, run.output);
        assert.match((await ended).message, /terminat/);
        await assert.rejects(as(source, owner, "SELECT 1"), /is not permitted to log in/);
        await assert.rejects(as(source, alt, "SELECT 1"), /is not permitted to log in/);

        // Whole, owned by the role, the extension's type working, the sequence where the source left it.
        assert.deepEqual(await as(target, alt, "SELECT count(*)::int AS n FROM notes WHERE tag = 'TAG42'"), [{ n: 1 }]);
        assert.deepEqual(await as(target, owner, "INSERT INTO notes (tag) VALUES ('x') RETURNING id"), [{ id: 501 }]);
        assert.deepEqual(await as(target, owner, "SELECT tableowner FROM pg_tables WHERE tablename = 'notes'"), [
            { tableowner: owner.name },
        ]);
        assert.deepEqual(
            await as(
                target,
                owner,
                "SELECT shobj_description(oid, 'pg_database') AS mark FROM pg_database WHERE datname = current_database()",
            ),
            [{ mark: copiedMark("default") }],
        );

        const again = await runMoveJob({ login, source: side(source, "default"), target: side(target, "reports") });
        assert.equal(again.code, 0, again.output);
        assert.match(again.output, /already copied/);
        assert.deepEqual(await as(target, owner, "SELECT count(*)::int AS n FROM notes"), [{ n: 501 }]);
    });

    it("waits until a session slow to end has ended: pg_stat_activity is read once per transaction (pg_stat_clear_snapshot)", async () => {
        const [source, target] = [await azureLike("15"), await azureLike("16")];
        const open = ownerSession(source);
        open.on("error", () => undefined);
        await open.connect();
        const pid = Number((await open.query("SELECT pg_backend_pid() AS pid")).rows[0].pid);
        // Its backend stopped, it ends only once resumed, 3 s into the Job (a process of its own resumes it):
        // the freeze's wait must see it gone then, not keep the snapshot of its first look.
        process.kill(pid, "SIGSTOP");
        const resume = spawn("sh", ["-c", `sleep 3; kill -CONT ${pid}`], { stdio: "ignore" });
        try {
            const started = Date.now();
            const run = await runMoveJob({ login, source: side(source, "default"), target: side(target, "reports") });
            const seconds = (Date.now() - started) / 1000;
            assert.equal(run.code, 0, run.output);
            assert.ok(seconds < FREEZE_SESSIONS_WAIT_SECONDS, `${seconds} s`);
        } finally {
            await new Promise((resolve) => (resume.exitCode === null ? resume.on("exit", resolve) : resolve(null)));
            spawnSync("kill", ["-CONT", String(pid)]);
        }
    });

    it("never writes over a target database that holds data it did not copy", async () => {
        const [source, target] = [await azureLike("15"), await azureLike("16")];
        await queryAs(target, login.database, owner.name, pws[owner.credentialId], "CREATE TABLE other (x int)");
        // Before its Secret is projected it only waits (the lifecycle harness retries a Job saying so after a sync).
        const early = await runMoveJob({
            login,
            source: side(source, "default"),
            target: side(target, "reports"),
            noSecret: true,
        });
        assert.equal(early.code, 1, early.output);
        assert.match(early.output, /source-admin does not hold the expected password after 0s/);
        const run = await runMoveJob({ login, source: side(source, "default"), target: side(target, "reports") });
        assert.equal(run.code, 1, run.output);
        assert.match(run.output, /already holds relations not copied from/);
        // Refused before the freeze: the old logins still work.
        assert.deepEqual(await queryAs(source, login.database, owner.name, pws[owner.credentialId], "SELECT 1 AS x"), [
            { x: 1 },
        ]);
    });
});
