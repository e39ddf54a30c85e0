/** The azure-mode login Job (entrypoint and psql script) as a non-superuser admin, against PostgreSQL 15 with TLS. */
import { strict as assert } from "assert";
import { Client } from "pg";
import { pgAppCredentialId } from "../../components/postgres/credentials";
import { LocalServer, prepareAzureLikeServer, runAzureLoginJob, startLocalServer } from "../../tools/sandbox/postgres";
import { LOGINS, assertIsolatedLogins, connectAsApp, envFor, password, passwordsFor } from "../support/postgres";

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
});
