/** Test helpers for the login SQL on a real PostgreSQL: sample logins, passwords, and connecting as an application. */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { SAFE_SPECIAL_CHARACTERS } from "../../components/config/keyVault";
import { postgresEnv } from "../../components/postgres/env";
import { PG_ADMIN_CREDENTIAL, pgAppCredentialId } from "../../components/postgres/credentials";
import type { AppLogin } from "../../components/postgres/sql";
import type { LocalServer } from "../../tools/sandbox/postgres";

const ROOT = path.resolve(__dirname, "..", "..");
export const LOGINS: AppLogin[] = [
    { app: "orders", role: "orders", database: "orders" },
    // A keyword as role and database name: the SQL quotes identifiers.
    { app: "user-service", role: "user", database: "user" },
];
/** Every character the generator may emit. */
export const password = (tag: string) => `${SAFE_SPECIAL_CHARACTERS}ABCXYZabcxyz0123456789-${tag}`;

export function passwordsFor(tag: string): Record<string, string> {
    return Object.fromEntries([
        [PG_ADMIN_CREDENTIAL, password(`admin-${tag}`)],
        ...LOGINS.map((l) => [pgAppCredentialId(l.app), password(`${l.app}-${tag}`)]),
    ]);
}

/** Connects in a separate node process, as an application would, and reports who and where it is (or the error). */
export function connectAsApp(
    env: Record<string, string>,
    via: "url" | "fields",
    caFile: string,
): { ok: boolean; out: string } {
    const code = `
const { Client } = require("pg");
const e = process.env;
const config = e.VIA === "url" ? { connectionString: e.DATABASE_URL }
  : { host: e.DB_HOST, port: Number(e.DB_PORT), database: e.DB_NAME, user: e.DB_USER, password: e.DB_PASSWORD, ssl: e.DB_SSL_MODE !== "disable" };
const c = new Client(config);
c.connect().then(() => c.query("SELECT current_user AS u, current_database() AS d, (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS ssl"))
  .then((r) => { console.log(JSON.stringify(r.rows[0])); return c.end(); })
  .catch((err) => { console.log(err.message); process.exit(1); });`;
    const result = spawnSync(process.execPath, ["--no-warnings", "-e", code], {
        cwd: ROOT,
        encoding: "utf8",
        timeout: 20000,
        // node-postgres verifies the certificate for sslmode=require: the test CA plays the public CA Azure's certificates chain to.
        env: { PATH: process.env.PATH, NODE_EXTRA_CA_CERTS: caFile, VIA: via, ...env },
    });
    return { ok: result.status === 0, out: (result.stdout + result.stderr).trim() };
}

export function envFor(server: LocalServer, login: AppLogin, pw: string): Record<string, string> {
    return postgresEnv(
        { host: "127.0.0.1", port: server.port, sslMode: "require" },
        { database: login.database, user: login.role, password: pw },
        5,
    );
}

/** Each application reaches its own database over TLS both ways, and not the other's. */
export function assertIsolatedLogins(server: LocalServer, pws: Record<string, string>): void {
    for (const l of LOGINS) {
        const env = envFor(server, l, pws[pgAppCredentialId(l.app)]);
        for (const via of ["url", "fields"] as const) {
            const r = connectAsApp(env, via, server.caFile);
            assert.ok(r.ok, `${l.app} via ${via}: ${r.out}`);
            assert.deepEqual(JSON.parse(r.out), { u: l.role, d: l.database, ssl: true });
        }
        for (const other of LOGINS.filter((o) => o !== l)) {
            const r = connectAsApp(
                { ...env, ...envFor(server, { ...l, database: other.database }, pws[pgAppCredentialId(l.app)]) },
                "url",
                server.caFile,
            );
            assert.ok(!r.ok, `${l.app} reached ${other.database}`);
            assert.match(r.out, /permission denied for database/);
        }
    }
}
