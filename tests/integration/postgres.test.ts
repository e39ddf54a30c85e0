/**
 * The rendered login SQL of both modes against a real PostgreSQL 15 on loopback with TLS, then each application
 * connecting the way an application does (node-postgres in its own process, from DATABASE_URL and from DB_*).
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { Client } from "pg";
import { SAFE_SPECIAL_CHARACTERS } from "../../components/config/keyVault";
import { postgresEnv } from "../../components/postgres/env";
import { PG_ADMIN_CREDENTIAL, pgAppCredentialId, postgresCredentialIds } from "../../components/postgres/credentials";
import { AppLogin, stackGresRoleSql } from "../../components/postgres/sql";
import {
    LocalServer,
    prepareAzureLikeServer,
    runAzureLoginJob,
    stackGresSql,
    startLocalServer,
    startPostgres,
    superuserSql,
} from "../../tools/sandbox/postgres";
import { parseConfig } from "../../components/config";
import { loadStackConfig } from "../../engine/stackConfig";
import { byName, runStack } from "../support/program";

const ROOT = path.resolve(__dirname, "..", "..");
const LOGINS: AppLogin[] = [
    { app: "orders", role: "orders", database: "orders" },
    // A keyword as role and database name: the SQL quotes identifiers.
    { app: "user-service", role: "user", database: "user" },
];
/** Every character the generator may emit. */
const password = (tag: string) => `${SAFE_SPECIAL_CHARACTERS}ABCXYZabcxyz0123456789-${tag}`;

function passwordsFor(tag: string): Record<string, string> {
    return Object.fromEntries([
        [PG_ADMIN_CREDENTIAL, password(`admin-${tag}`)],
        ...LOGINS.map((l) => [pgAppCredentialId(l.app), password(`${l.app}-${tag}`)]),
    ]);
}

/** Connects in a separate node process, as an application would, and reports who and where it is (or the error). */
function connectAsApp(
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

function envFor(server: LocalServer, login: AppLogin, pw: string): Record<string, string> {
    return postgresEnv(
        { host: "127.0.0.1", port: server.port, sslMode: "require" },
        { database: login.database, user: login.role, password: pw },
        5,
    );
}

/** Each application reaches its own database over TLS both ways, and not the other's. */
function assertIsolatedLogins(server: LocalServer, pws: Record<string, string>): void {
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

describe("postgres login SQL against PostgreSQL 15 with TLS", function () {
    this.timeout(120000);
    const servers: LocalServer[] = [];
    after(async () => {
        for (const s of servers) {
            await s.stop();
        }
    });

    describe("azure mode: the login Job's entrypoint and psql script, as a non-superuser admin", () => {
        let server: LocalServer;
        before(async () => {
            server = await startLocalServer({ port: 26411 });
            servers.push(server);
            await prepareAzureLikeServer(server, "pgadmin", password("admin-1"), LOGINS);
        });

        it("runs twice, then each application connects only to its own database", () => {
            const pws = passwordsFor("1");
            runAzureLoginJob(server, "pgadmin", LOGINS, pws);
            runAzureLoginJob(server, "pgadmin", LOGINS, pws);
            assertIsolatedLogins(server, pws);
        });

        it("sets the new password when one is rotated, and the old one stops working", () => {
            const rotated = { ...passwordsFor("1"), [pgAppCredentialId("orders")]: password("orders-2") };
            runAzureLoginJob(server, "pgadmin", LOGINS, rotated);
            assertIsolatedLogins(server, rotated);
            const stale = connectAsApp(envFor(server, LOGINS[0], password("orders-1")), "url", server.caFile);
            assert.ok(!stale.ok);
            assert.match(stale.out, /password authentication failed/);
        });

        it("waits for the synced Secret and gives up when it still holds an old password", () => {
            const current = passwordsFor("1");
            const rendered = { ...current, [pgAppCredentialId("orders")]: password("orders-3") };
            assert.throws(
                () => runAzureLoginJob(server, "pgadmin", LOGINS, current, { expected: rendered, waitSeconds: 1 }),
                /app-orders does not hold the expected password after 1s/,
            );
        });

        it("refuses connections without TLS", async () => {
            const client = new Client({
                host: "127.0.0.1",
                port: server.port,
                user: "orders",
                password: password("orders-2"),
                database: "orders",
                ssl: false,
            });
            await assert.rejects(client.connect(), /no encryption/);
        });
    });

    describe("stackgres mode: the SGScript entries in order, as the superuser", () => {
        let server: LocalServer;
        before(async () => {
            server = await startLocalServer({ port: 26412 });
            servers.push(server);
        });

        it("runs every entry, then the role entries again (re-run on a new version), and applications connect", async () => {
            const pws = passwordsFor("1");
            for (const entry of stackGresSql(LOGINS, pws)) {
                await superuserSql(server, entry.sql);
            }
            // StackGres runs an (id, version) once; the role entries get a new version when their Secret changes.
            for (const l of LOGINS) {
                await superuserSql(server, stackGresRoleSql(l, pws[pgAppCredentialId(l.app)]));
            }
            assertIsolatedLogins(server, pws);
            const rotated = { ...pws, [pgAppCredentialId("user-service")]: password("user-2") };
            await superuserSql(server, stackGresRoleSql(LOGINS[1], rotated[pgAppCredentialId("user-service")]));
            assertIsolatedLogins(server, rotated);
        });
    });

    describe("sandbox startPostgres", () => {
        for (const [stack, port] of [
            ["dev", 26413],
            ["prod", 26414],
        ] as const) {
            it(`starts the ${stack} stack's logins and databases (the SQL its mock run deploys) with a working contract per application`, async () => {
                const { config: raw, secretKeys } = loadStackConfig(stack);
                const config = parseConfig(raw, stack, secretKeys);
                const run = await runStack(stack);
                const pws = Object.fromEntries(
                    postgresCredentialIds(config).map((id) => [
                        id,
                        byName(run, "random:index/randomPassword:RandomPassword", `credentials-${id}`).outputs
                            .result as string,
                    ]),
                );
                const started = await startPostgres({ config, passwords: pws, port, run });
                try {
                    assert.equal(started.processes.length, 1);
                    assert.ok(started.processes[0].pid > 0);
                    for (const app of config.apps) {
                        const r = connectAsApp(started.env[app.name], "url", started.caFile);
                        assert.ok(r.ok, r.out);
                        assert.equal(JSON.parse(r.out).d, app.database);
                    }
                } finally {
                    await started.stop();
                }
            });
        }

        it("refuses to start when the run deploys other SQL than it would run", async () => {
            const { config: raw, secretKeys } = loadStackConfig("dev");
            const config = parseConfig(raw, "dev", secretKeys);
            const run = await runStack("dev");
            const pws = Object.fromEntries(
                postgresCredentialIds(config).map((id) => [id, "not-the-deployed-password"]),
            );
            await assert.rejects(
                startPostgres({ config, passwords: pws, port: 26415, run }),
                /deploys a different role SQL/,
            );
        });
    });
});
