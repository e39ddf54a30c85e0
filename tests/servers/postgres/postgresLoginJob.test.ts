/**
 * The azure-mode login Job (entrypoint and psql script, as Azure's non-superuser admin) on real PostgreSQL 15 and 16:
 * removed applications, passwords out of the server log, roles it may not alter on 16.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Client } from "pg";
import { PG_ADMIN_CREDENTIAL } from "../../../components/postgres/credentials";
import { loginVerifier } from "../../../components/postgres/scram";
import { LocalServer, PG_BIN, serversByMajor, startLocalServer, superuserSql } from "../../../testbed/servers/postgres";
import { prepareAzureLikeServer, runAzureLoginJob } from "../../../testbed/servers/postgresLogins";
import { LOGINS, assertIsolatedLogins, password, passwordsFor, queryAs } from "../../support/postgres";

const ADMIN = "pgadmin";

for (const [version, bin] of serversByMajor()) {
    describe(`the azure-mode login Job on PostgreSQL ${version}`, function () {
        this.timeout(120000);
        const servers: LocalServer[] = [];
        /** A server as Azure provides it, with `before` run first as the superuser (the state an upgrade left). */
        const azureLike = async (before = "") => {
            const server = await startLocalServer({ bin });
            servers.push(server);
            if (before !== "") {
                await superuserSql(server, before);
            }
            await prepareAzureLikeServer(server, ADMIN, password("admin-1"), LOGINS);
            return server;
        };
        after(async () => {
            for (const s of servers) {
                await s.stop();
            }
        });

        // Before, the Job knew only the current applications: a removed one's logins kept LOGIN and their passwords.
        it("refuses a removed application's logins, keeps its role, database and data, and restores them when re-added", async () => {
            const server = await azureLike();
            const pws = passwordsFor("1");
            runAzureLoginJob(server, ADMIN, LOGINS, pws);
            const [kept, removed] = LOGINS;
            const as = (login: (typeof removed.logins)[number], sql: string) =>
                queryAs(server, removed.database, login.name, pws[login.credentialId], sql);
            for (const login of removed.logins) {
                await as(login, `CREATE TABLE kept_${login.name} AS SELECT 1 AS x`);
            }

            runAzureLoginJob(server, ADMIN, [kept], pws);
            for (const login of removed.logins) {
                await assert.rejects(as(login, "SELECT 1"), /role "user(_alt)?" is not permitted to log in/);
            }
            assertIsolatedLogins(server, pws, [kept]);

            runAzureLoginJob(server, ADMIN, LOGINS, pws);
            assertIsolatedLogins(server, pws);
            for (const login of removed.logins) {
                assert.deepEqual(await as(login, `SELECT x FROM kept_${login.name}`), [{ x: 1 }]);
            }
        });

        // A failing statement is logged with its text (log_min_error_statement = error, the default; Azure ships the
        // log to Log Analytics): before, that text held the clear password of ALTER ROLE ... PASSWORD.
        it("keeps every password out of the server log, also when the statement setting one fails", async () => {
            const server = await azureLike();
            await superuserSql(server, "ALTER SYSTEM SET log_min_error_statement = 'error'");
            await superuserSql(server, "SELECT pg_reload_conf()");
            const pws = passwordsFor("1");
            runAzureLoginJob(server, ADMIN, LOGINS, pws);
            // A login the admin may no longer alter, made superuser by the superuser: setting its password fails.
            await superuserSql(server, "ALTER ROLE orders_alt SUPERUSER");
            assert.throws(
                () => runAzureLoginJob(server, ADMIN, LOGINS, pws),
                /permission denied to alter role|must be superuser/,
            );
            const log = fs.readFileSync(path.join(server.dir, "server.log"), "utf8");
            // The failing statement is in the log, with the verifier the program computed in place of the password.
            assert.match(log, /STATEMENT: {2}ALTER ROLE "orders_alt" WITH LOGIN .* PASSWORD 'SCRAM-SHA-256\$4096:/);
            for (const [id, pw] of Object.entries(pws)) {
                assert.ok(!log.includes(pw) && !log.includes(pw.replace(/'/g, "''")), `${id}'s password is in the log`);
            }
        });

        it("stores the verifiers the program computed, with which node-postgres and psql log in (SCRAM-SHA-256, channel binding)", async () => {
            const server = await azureLike();
            const pws = passwordsFor("1");
            runAzureLoginJob(server, ADMIN, LOGINS, pws);
            assertIsolatedLogins(server, pws);
            const client = new Client({ host: server.socketDir, port: server.port, user: "postgres" });
            await client.connect();
            const stored = await client
                .query("SELECT rolname, rolpassword FROM pg_authid WHERE rolpassword IS NOT NULL")
                .finally(() => client.end());
            const verifiers = Object.fromEntries(stored.rows.map((r) => [r.rolname, r.rolpassword]));
            for (const l of LOGINS) {
                for (const login of l.logins) {
                    assert.equal(
                        verifiers[login.name],
                        loginVerifier(pws[PG_ADMIN_CREDENTIAL], login.name, pws[login.credentialId]),
                    );
                    const psql = spawnSync(
                        path.join(PG_BIN, "psql"),
                        ["--no-psqlrc", "-At", "-c", "SELECT current_user"],
                        {
                            encoding: "utf8",
                            env: {
                                PGHOST: "127.0.0.1",
                                PGPORT: String(server.port),
                                PGUSER: login.name,
                                PGPASSWORD: pws[login.credentialId],
                                PGDATABASE: l.database,
                                PGSSLMODE: "require",
                                // SCRAM-SHA-256-PLUS over TLS: libpq checks the server's proof of the verifier.
                                PGCHANNELBINDING: "require",
                            },
                        },
                    );
                    assert.equal(`${psql.stdout.trim()}${psql.stderr}`, l.role);
                }
            }
        });

        // 16 lets a CREATEROLE non-superuser alter only roles it holds ADMIN OPTION on (given automatically only for
        // roles it creates); a role from 15 or made by azuresu has none. Before, every later Job failed with the bare
        // "permission denied to alter role" of whichever login came first.
        it(
            version === "16"
                ? "fails before altering anything, naming the role the admin holds no ADMIN OPTION on and the fix"
                : "applies logins to a role the admin did not create (15 lets CREATEROLE alter it)",
            async () => {
                const server = await azureLike("CREATE ROLE orders_alt LOGIN PASSWORD 'made-by-the-superuser';");
                const pws = passwordsFor("1");
                if (version === "16") {
                    assert.throws(
                        () => runAzureLoginJob(server, ADMIN, LOGINS, pws),
                        (err: Error) =>
                            /pgadmin holds no ADMIN OPTION on role orders_alt/.test(err.message) &&
                            /GRANT orders_alt TO pgadmin WITH ADMIN OPTION/.test(err.message) &&
                            !/CREATE ROLE|permission denied to alter role/.test(err.message),
                    );
                } else {
                    runAzureLoginJob(server, ADMIN, LOGINS, pws);
                    assertIsolatedLogins(server, pws);
                }
            },
        );
    });
}
