/** Test helpers for the login SQL on a real PostgreSQL: sample logins, passwords, and connecting as an application. */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import { Client } from "pg";
import * as path from "path";
import { SAFE_SPECIAL_CHARACTERS } from "../../components/config/keyVault";
import { postgresEnv } from "../../components/postgres/env";
import { PG_ADMIN_CREDENTIAL } from "../../components/postgres/credentials";
import { AppLogin, appLogins } from "../../components/postgres/sql";
import type { AppConfig } from "../../components/config/platform";
import type { LocalServer } from "../../testbed/servers/postgres";

const ROOT = path.resolve(__dirname, "..", "..");
const APPS = [
    { name: "orders", database: "orders" },
    // A keyword as role and database name: the SQL quotes identifiers.
    { name: "user-service", database: "user" },
] as AppConfig[];

/** The sample applications' logins at login generation `generation` (the `pg-app-<app>` rotation value). */
export function loginsAt(generation: number): AppLogin[] {
    const rotations =
        generation === 0 ? {} : Object.fromEntries(APPS.map((a) => [`pg-app-${a.name}`, `${generation}`]));
    return appLogins(APPS, rotations);
}
export const LOGINS: AppLogin[] = loginsAt(0);
/** Every character the generator may emit. */
export const password = (tag: string) => `${SAFE_SPECIAL_CHARACTERS}ABCXYZabcxyz0123456789-${tag}`;

/** Passwords of the admin and both logins of every sample application, tagged. */
export function passwordsFor(tag: string): Record<string, string> {
    return Object.fromEntries([
        [PG_ADMIN_CREDENTIAL, password(`admin-${tag}`)],
        ...LOGINS.flatMap((l) => l.logins.map((login) => [login.credentialId, password(`${login.name}-${tag}`)])),
    ]);
}

export interface AppConnection {
    /** The application's contract (env keys). */
    readonly env: Record<string, string>;
    readonly via: "url" | "fields";
}

export interface ConnectResult {
    readonly ok: boolean;
    /** `{"u","s","d","ssl"}` as JSON when connected, else the error message. */
    readonly out: string;
}

/**
 * Connects as applications would, from a separate node process (one for all `connections`, each a new client built
 * only from its contract), and reports for each who and where it is, or the error.
 */
export function connectAsApps(connections: readonly AppConnection[], caFile: string): ConnectResult[] {
    const code = `
const { Client } = require("pg");
async function connect({ env: e, via }) {
  const config = via === "url" ? { connectionString: e.DATABASE_URL }
    : { host: e.DB_HOST, port: Number(e.DB_PORT), database: e.DB_NAME, user: e.DB_USER, password: e.DB_PASSWORD, ssl: e.DB_SSL_MODE !== "disable" };
  const c = new Client(config);
  c.on("error", () => undefined);
  try {
    await c.connect();
    const r = await c.query("SELECT current_user AS u, session_user AS s, current_database() AS d");
    // pg_stat_ssl shows a session only to members of its session user: read it as that user (SET ROLE NONE).
    await c.query("SET ROLE NONE");
    const ssl = (await c.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")).rows[0].ssl;
    return { ok: true, out: JSON.stringify({ ...r.rows[0], ssl }) };
  } catch (err) {
    return { ok: false, out: err.message };
  } finally {
    await c.end().catch(() => undefined);
  }
}
(async () => {
  for (const connection of JSON.parse(require("fs").readFileSync(0, "utf8"))) {
    console.log(JSON.stringify(await connect(connection)));
  }
})();`;
    const result = spawnSync(process.execPath, ["--no-warnings", "-e", code], {
        cwd: ROOT,
        encoding: "utf8",
        input: JSON.stringify(connections),
        timeout: 20_000 + 2_000 * connections.length,
        // node-postgres verifies the certificate for sslmode=require: the test CA plays the public CA Azure's certificates chain to.
        env: { PATH: process.env.PATH, NODE_EXTRA_CA_CERTS: caFile },
    });
    const lines = result.stdout.split("\n").filter((l) => l !== "");
    assert.equal(lines.length, connections.length, `the client process exited with ${result.status}: ${result.stderr}`);
    return lines.map((l) => JSON.parse(l) as ConnectResult);
}

export function connectAsApp(env: Record<string, string>, via: "url" | "fields", caFile: string): ConnectResult {
    return connectAsApps([{ env, via }], caFile)[0];
}

/** The contract of `user` (one of an application's logins) with password `pw` for `database` on `server`. */
export function envFor(server: LocalServer, database: string, user: string, pw: string): Record<string, string> {
    return postgresEnv(
        { host: "127.0.0.1", port: server.port, sslMode: "require" },
        { database, user, password: pw },
        5,
    );
}

/**
 * Both logins of each application reach its own database over TLS both ways, acting as its owning role, and not the
 * other's database.
 */
export function assertIsolatedLogins(
    server: LocalServer,
    pws: Record<string, string>,
    logins: readonly AppLogin[] = LOGINS,
): void {
    const checks: { connection: AppConnection; check: (r: ConnectResult) => void }[] = [];
    for (const l of logins) {
        for (const login of l.logins) {
            const env = envFor(server, l.database, login.name, pws[login.credentialId]);
            for (const via of ["url", "fields"] as const) {
                checks.push({
                    connection: { env, via },
                    check: (r) => {
                        assert.ok(r.ok, `${login.name} via ${via}: ${r.out}`);
                        assert.deepEqual(JSON.parse(r.out), { u: l.role, s: login.name, d: l.database, ssl: true });
                    },
                });
            }
            for (const other of logins.filter((o) => o !== l)) {
                checks.push({
                    connection: {
                        env: envFor(server, other.database, login.name, pws[login.credentialId]),
                        via: "url",
                    },
                    check: (r) => {
                        assert.ok(!r.ok, `${login.name} reached ${other.database}`);
                        assert.match(r.out, /permission denied for database/);
                    },
                });
            }
        }
    }
    const results = connectAsApps(
        checks.map((c) => c.connection),
        server.caFile,
    );
    checks.forEach((c, i) => c.check(results[i]));
}

/** Runs `sql` as `user` over TLS (verifying the test CA) and returns the rows. */
export async function queryAs(
    server: LocalServer,
    database: string,
    user: string,
    pw: string,
    sql: string,
): Promise<Array<Record<string, unknown>>> {
    const client = new Client({
        host: "127.0.0.1",
        port: server.port,
        database,
        user,
        password: pw,
        ssl: { ca: fs.readFileSync(server.caFile, "utf8") },
    });
    await client.connect();
    try {
        return (await client.query(sql)).rows;
    } finally {
        await client.end();
    }
}

/**
 * Three login generations of the sample applications through `apply` (the login Job of a mode): at each rotation the
 * login the applications used until then still connects with its password, the new one connects with the new password,
 * the one before is refused, and whatever either login created is owned by the application's one role.
 */
export async function assertRotationKeepsPreviousLogin(
    server: LocalServer,
    apply: (logins: readonly AppLogin[], passwords: Record<string, string>) => void,
): Promise<void> {
    const [app] = LOGINS;
    const [owner, alt] = app.logins;
    const gen0 = passwordsFor("1");
    apply(loginsAt(0), gen0);
    assert.equal(loginsAt(0)[0].current.name, owner.name);
    await queryAs(
        server,
        app.database,
        owner.name,
        gen0[owner.credentialId],
        "CREATE TABLE t0 (x int); INSERT INTO t0 VALUES (1)",
    );

    // Generation 1: only the alternate login gets a new password, and the Secret names it.
    const gen1 = { ...gen0, [alt.credentialId]: password("g1") };
    apply(loginsAt(1), gen1);
    assert.equal(loginsAt(1)[0].current.name, alt.name);
    assertIsolatedLogins(server, gen1, loginsAt(1));
    await queryAs(server, app.database, owner.name, gen0[owner.credentialId], "SELECT x FROM t0");
    await queryAs(
        server,
        app.database,
        alt.name,
        gen1[alt.credentialId],
        "CREATE TABLE t1 (x int); INSERT INTO t1 SELECT x FROM t0",
    );

    // Generation 2: the owning role's login gets a new password; the alternate login keeps generation 1's.
    const gen2 = { ...gen1, [owner.credentialId]: password("g2") };
    apply(loginsAt(2), gen2);
    assert.equal(loginsAt(2)[0].current.name, owner.name);
    assertIsolatedLogins(server, gen2, loginsAt(2));
    await queryAs(server, app.database, alt.name, gen1[alt.credentialId], "SELECT x FROM t1");
    const stale = connectAsApp(
        envFor(server, app.database, owner.name, gen0[owner.credentialId]),
        "url",
        server.caFile,
    );
    assert.ok(!stale.ok, "generation 0's password still works after two rotations");
    assert.match(stale.out, /password authentication failed/);

    const owners = await queryAs(
        server,
        app.database,
        owner.name,
        gen2[owner.credentialId],
        "SELECT tablename, tableowner FROM pg_tables WHERE tablename IN ('t0', 't1') ORDER BY tablename",
    );
    assert.deepEqual(owners, [
        { tablename: "t0", tableowner: app.role },
        { tablename: "t1", tableowner: app.role },
    ]);
}
