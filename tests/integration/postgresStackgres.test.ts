/** The stackgres-mode SGScript entries, in order as the superuser, against PostgreSQL 15 with TLS. */
import { pgAppCredentialId } from "../../components/postgres/credentials";
import { stackGresRoleSql } from "../../components/postgres/sql";
import { LocalServer, stackGresSql, startLocalServer, superuserSql } from "../../tools/sandbox/postgres";
import { LOGINS, assertIsolatedLogins, password, passwordsFor } from "../support/postgres";

describe("postgres login SQL against PostgreSQL 15 with TLS", function () {
    this.timeout(120000);
    const servers: LocalServer[] = [];
    after(async () => {
        for (const s of servers) {
            await s.stop();
        }
    });

    describe("stackgres mode: the SGScript entries in order, as the superuser", () => {
        let server: LocalServer;
        before(async () => {
            server = await startLocalServer();
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
});
