/**
 * The azure-mode login Job (entrypoint and psql script) as a non-superuser admin, against PostgreSQL 15 with TLS; the
 * databases it creates itself (`postgres.azure.databases: sql`) on 15 and 16.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { Client } from "pg";
import { PG_ADMIN_CREDENTIAL } from "../../../components/postgres/credentials";
import { LocalServer, PG_BIN, serversByMajor, startLocalServer } from "../../../testbed/servers/postgres";
import {
    createAzureAdmin,
    createAzureDatabase,
    prepareAzureLikeServer,
    runAzureLoginJob,
    runLoginJob,
} from "../../../testbed/servers/postgresLogins";
import {
    LOGINS,
    assertIsolatedLogins,
    assertRotationKeepsPreviousLogin,
    loginsAt,
    password,
    envFor,
    passwordsFor,
    queryAs,
} from "../../support/postgres";

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
            server = await startLocalServer();
            servers.push(server);
            await prepareAzureLikeServer(server, "pgadmin", password("admin-1"), LOGINS);
        });

        it("runs twice, then both logins of each application connect only to its own database", () => {
            const pws = passwordsFor("1");
            runAzureLoginJob(server, "pgadmin", LOGINS, pws);
            runAzureLoginJob(server, "pgadmin", LOGINS, pws);
            assertIsolatedLogins(server, pws);
        });

        it("hands each application schema public, which Azure gives azure_pg_admin, so its first migration can create tables", async () => {
            const pws = passwordsFor("1");
            runAzureLoginJob(server, "pgadmin", LOGINS, pws);
            for (const l of LOGINS) {
                for (const login of l.logins) {
                    await queryAs(
                        server,
                        l.database,
                        login.name,
                        pws[login.credentialId],
                        `CREATE TABLE first_migration_${login.name} (id int)`,
                    );
                }
                const [owner] = await queryAs(
                    server,
                    l.database,
                    l.role,
                    pws[l.logins[0].credentialId],
                    "SELECT pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname = 'public'",
                );
                assert.deepEqual(owner, { owner: l.role });
            }
        });

        it("psql connects with libpq's own variables from the contract alone (seed 003's backup Job), never asking for a password", () => {
            const pws = passwordsFor("1");
            runAzureLoginJob(server, "pgadmin", LOGINS, pws);
            const [app] = LOGINS;
            const env = envFor(server, app.database, app.current.name, pws[app.current.credentialId]);
            const libpq = Object.fromEntries(Object.entries(env).filter(([key]) => key.startsWith("PG")));
            assert.deepEqual(Object.keys(libpq).sort(), [
                "PGDATABASE",
                "PGHOST",
                "PGPASSWORD",
                "PGPORT",
                "PGSSLMODE",
                "PGUSER",
            ]);
            const psql = spawnSync(
                path.join(PG_BIN, "psql"),
                [
                    "-w",
                    "-At",
                    "-c",
                    "SELECT current_user || ' ' || current_database() || ' ' || ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                ],
                { encoding: "utf8", env: { PATH: process.env.PATH ?? "", ...libpq } },
            );
            assert.equal(psql.status, 0, psql.stderr);
            assert.equal(psql.stdout.trim(), `${app.role} ${app.database} true`);
        });

        it("rotates without breaking a running consumer: the previous login keeps working, the new one works", async () => {
            await assertRotationKeepsPreviousLogin(server, (logins, passwords) =>
                runAzureLoginJob(server, "pgadmin", logins, passwords),
            );
        });

        it("waits for the synced Secret and gives up when it still holds an old password", () => {
            const current = passwordsFor("1");
            const rendered = { ...current, [LOGINS[0].logins[1].credentialId]: password("orders-3") };
            assert.throws(
                () => runAzureLoginJob(server, "pgadmin", LOGINS, current, { expected: rendered, waitSeconds: 1 }),
                /pg-alt-orders does not hold the expected password after 1s/,
            );
        });

        it("creates the configured extensions in every application database", async () => {
            const pws = passwordsFor("1");
            runLoginJob(server, {
                adminLogin: "pgadmin",
                logins: LOGINS,
                sqlOptions: { createDatabases: false, superuser: false, extensions: ["pg_trgm"] },
                passwords: pws,
            });
            assertIsolatedLogins(server, pws);
            const client = new Client({
                host: server.socketDir,
                port: server.port,
                user: "postgres",
                database: "user",
            });
            await client.connect();
            try {
                const rows = (await client.query("SELECT extname FROM pg_extension WHERE extname = 'pg_trgm'")).rows;
                assert.equal(rows.length, 1);
            } finally {
                await client.end();
            }
        });

        it("refuses connections without TLS", async () => {
            const client = new Client({
                host: "127.0.0.1",
                port: server.port,
                user: "orders",
                password: password("orders-1"),
                database: "orders",
                ssl: false,
            });
            await assert.rejects(client.connect(), /no encryption/);
        });

        it("fails loudly when the admin password in the Secret is not the one the Job was rendered for", () => {
            const pws = passwordsFor("1");
            assert.throws(
                () =>
                    runAzureLoginJob(server, "pgadmin", loginsAt(0), pws, {
                        expected: { ...pws, [PG_ADMIN_CREDENTIAL]: password("admin-2") },
                        waitSeconds: 1,
                    }),
                /does not hold the expected password/,
            );
        });
    });

    for (const [major, bin] of serversByMajor()) {
        describe(`azure mode, databases created by the login Job (postgres.azure.databases: sql), PostgreSQL ${major}`, () => {
            it("as Azure's admin (no superuser; CREATEDB, CREATEROLE) creates each missing database owned by its application's role, and adopts one ARM made with its data", async () => {
                const server = await startLocalServer({ bin });
                servers.push(server);
                const pws = passwordsFor("1");
                await createAzureAdmin(server, "pgadmin", pws[PG_ADMIN_CREDENTIAL]);
                // The `arm` era: orders' database made by ARM, its login Job, a row written by the application.
                const [orders] = LOGINS;
                await createAzureDatabase(server, orders.database);
                runAzureLoginJob(server, "pgadmin", [orders], pws);
                const ordersOwner = pws[orders.logins[0].credentialId];
                await queryAs(
                    server,
                    orders.database,
                    orders.role,
                    ordersOwner,
                    "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)",
                );

                // `sql`: the Job creates what is missing (user-service's), twice (idempotent).
                runAzureLoginJob(server, "pgadmin", LOGINS, pws, { createDatabases: true });
                runAzureLoginJob(server, "pgadmin", LOGINS, pws, { createDatabases: true });
                const client = new Client({
                    host: server.socketDir,
                    port: server.port,
                    user: "postgres",
                    database: "postgres",
                });
                await client.connect();
                try {
                    const admin = await client.query(
                        "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = 'pgadmin'",
                    );
                    assert.deepEqual(admin.rows, [{ rolsuper: false, rolcreatedb: true, rolcreaterole: true }]);
                    const owners = await client.query(
                        "SELECT datname, pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = ANY($1) ORDER BY datname",
                        [LOGINS.map((l) => l.database)],
                    );
                    assert.deepEqual(
                        owners.rows,
                        LOGINS.map((l) => ({ datname: l.database, owner: l.role })).sort((a, b) =>
                            a.datname.localeCompare(b.datname),
                        ),
                    );
                } finally {
                    await client.end();
                }
                assertIsolatedLogins(server, pws);
                for (const l of LOGINS) {
                    // Its first migration: schema public is its role's, whoever owned it in template1 (Azure-like: azure_pg_admin).
                    const alt = l.logins[1];
                    await queryAs(
                        server,
                        l.database,
                        alt.name,
                        pws[alt.credentialId],
                        "CREATE TABLE migrated (id int)",
                    );
                    const [row] = await queryAs(
                        server,
                        l.database,
                        alt.name,
                        pws[alt.credentialId],
                        "SELECT pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname = 'public'",
                    );
                    assert.deepEqual(row, { owner: l.role });
                }
                assert.deepEqual(
                    await queryAs(server, orders.database, orders.role, ordersOwner, "SELECT v FROM kept"),
                    [{ v: 42 }],
                );
            });
        });
    }
});
