/** The stackgres-mode login Job as the superuser over TLS, against PostgreSQL 15: fresh, again, restored, rotated. */
import { strict as assert } from "assert";
import { PG_ADMIN_CREDENTIAL } from "../../../components/postgres/credentials";
import type { AppLogin } from "../../../components/postgres/sql";
import { STACKGRES_SUPERUSER } from "../../../components/postgres/stackgresSpec";
import { LocalServer, startLocalServer, superuserSql } from "../../../testbed/servers/postgres";
import { CredentialPasswords, prepareStackGresLikeServer, runLoginJob } from "../../../testbed/servers/postgresLogins";
import {
    LOGINS,
    assertIsolatedLogins,
    assertRotationKeepsPreviousLogin,
    passwordsFor,
    queryAs,
} from "../../support/postgres";

const SQL_OPTIONS = { createDatabases: true, superuser: true, extensions: [] };

function stackGresJob(server: LocalServer, logins: readonly AppLogin[], passwords: CredentialPasswords): string {
    return runLoginJob(server, { adminLogin: STACKGRES_SUPERUSER, logins, sqlOptions: SQL_OPTIONS, passwords });
}

describe("postgres login SQL against PostgreSQL 15 with TLS", function () {
    this.timeout(120000);
    const servers: LocalServer[] = [];
    const fresh = async () => {
        const server = await startLocalServer();
        servers.push(server);
        await prepareStackGresLikeServer(server, passwordsFor("1")[PG_ADMIN_CREDENTIAL]);
        return server;
    };
    after(async () => {
        for (const s of servers) {
            await s.stop();
        }
    });

    describe("stackgres mode: the login Job as the superuser", () => {
        it("creates logins and databases, and runs again as if it never had (status lost, Job re-run)", async () => {
            const server = await fresh();
            const pws = passwordsFor("1");
            stackGresJob(server, LOGINS, pws);
            await queryAs(server, "orders", "orders", pws["pg-app-orders"], "CREATE TABLE kept (x int)");
            stackGresJob(server, LOGINS, pws);
            assertIsolatedLogins(server, pws);
            // The data is still there: nothing was dropped or recreated.
            await queryAs(server, "orders", "orders", pws["pg-app-orders"], "SELECT x FROM kept");
        });

        // The SGScript it replaces ran `CREATE DATABASE "orders" OWNER "orders"` once per script version over JDBC: on a
        // cluster restored with the database present (or whose managedSql status was lost) that statement fails and,
        // with continueOnSGScriptError false, stops every later entry. The Job's `\gexec` form creates only what is missing.
        it("completes on a restored cluster where the databases exist but are not yet the applications'", async () => {
            const server = await fresh();
            for (const l of LOGINS) {
                await superuserSql(server, `CREATE DATABASE "${l.database}"`);
            }
            await assert.rejects(superuserSql(server, `CREATE DATABASE "orders"`), /already exists/);
            const pws = passwordsFor("1");
            stackGresJob(server, LOGINS, pws);
            assertIsolatedLogins(server, pws);
        });

        it("rotates without breaking a running consumer: the previous login keeps working, the new one works", async () => {
            const server = await fresh();
            await assertRotationKeepsPreviousLogin(server, (logins, passwords) =>
                stackGresJob(server, logins, passwords),
            );
        });
    });
});
