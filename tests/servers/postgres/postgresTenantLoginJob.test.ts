/**
 * A tenant stack's login Job (issue 26 item 7) on real PostgreSQL 15 and 16, as Azure's non-superuser admin, on a server
 * whose platform Job manages other applications: it creates its applications' logins and databases, keyed by its own
 * key (its stack never holds the admin's password), and neither Job turns off the other's logins.
 */
import { strict as assert } from "assert";
import { PG_ADMIN_CREDENTIAL } from "../../../components/postgres/credentials";
import { type AppLogin, type LoginSqlOptions, appLogins } from "../../../components/postgres/sql";
import type { AppConfig } from "../../../components/config/platform";
import { LocalServer, serversByMajor, startLocalServer } from "../../../testbed/servers/postgres";
import { prepareAzureLikeServer, runLoginJob, runLoginJobAsync } from "../../../testbed/servers/postgresLogins";
import { LOGINS, assertIsolatedLogins, password, passwordsFor, queryAs } from "../../support/postgres";

const ADMIN = "pgadmin";
const TENANT_KEY = "pg-tenant-key";
const [PLATFORM_APP, TENANT_APP] = LOGINS;
/** `postgres.azure.databases: sql` (the default): each Job creates its applications' databases. */
const SQL: LoginSqlOptions = { createDatabases: true, superuser: false, extensions: [] };

for (const [version, bin] of serversByMajor()) {
    describe(`a tenant stack's login Job on PostgreSQL ${version} (Azure's admin)`, function () {
        this.timeout(120000);
        let server: LocalServer;
        const pws: Record<string, string> = { ...passwordsFor("1"), [TENANT_KEY]: password("tenant-key-1") };
        const platformJob = () =>
            runLoginJob(server, { adminLogin: ADMIN, logins: [PLATFORM_APP], sqlOptions: SQL, passwords: pws });
        const tenantJob = (logins: readonly AppLogin[], expected = pws) =>
            runLoginJob(server, {
                adminLogin: ADMIN,
                logins,
                sqlOptions: { ...SQL, tenant: "team-a" },
                passwords: pws,
                expected,
                tenantKey: TENANT_KEY,
            });
        before(async () => {
            server = await startLocalServer({ bin });
            await prepareAzureLikeServer(server, ADMIN, pws[PG_ADMIN_CREDENTIAL], []);
        });
        after(async () => server?.stop());

        it("creates its applications' logins and databases beside the platform's, and a second platform run leaves them working", async () => {
            platformJob();
            tenantJob([TENANT_APP]);
            assertIsolatedLogins(server, pws, LOGINS);
            const [owner] = TENANT_APP.logins;
            await queryAs(
                server,
                TENANT_APP.database,
                owner.name,
                pws[owner.credentialId],
                "CREATE TABLE kept AS SELECT 1 AS x",
            );

            platformJob();
            assertIsolatedLogins(server, pws, LOGINS);
            assert.deepEqual(
                await queryAs(server, TENANT_APP.database, owner.name, pws[owner.credentialId], "SELECT x FROM kept"),
                [{ x: 1 }],
            );
        });

        /** The tenant application's logins exist and may not log in. */
        async function assertTenantLoginsOff(): Promise<void> {
            for (const login of TENANT_APP.logins) {
                await assert.rejects(
                    queryAs(server, TENANT_APP.database, login.name, pws[login.credentialId], "SELECT 1"),
                    /is not permitted to log in/,
                );
            }
        }

        it("turns off LOGIN only for its own removed applications, never the platform's", async () => {
            tenantJob([]);
            await assertTenantLoginsOff();
            assertIsolatedLogins(server, pws, [PLATFORM_APP]);
            tenantJob([TENANT_APP]);
            assertIsolatedLogins(server, pws, LOGINS);
        });

        it("the platform's Job turns off LOGIN for a tenant it no longer admits (its stack destroyed), never for one it admits", async () => {
            const platformAdmitting = (tenants: string[]) =>
                runLoginJob(server, {
                    adminLogin: ADMIN,
                    logins: [PLATFORM_APP],
                    sqlOptions: { ...SQL, tenants },
                    passwords: pws,
                });
            platformAdmitting(["team-a"]);
            assertIsolatedLogins(server, pws, LOGINS);
            platformAdmitting(["team-b"]);
            await assertTenantLoginsOff();
            assertIsolatedLogins(server, pws, [PLATFORM_APP]);
            // Admitted again, the tenant's next up turns them on.
            tenantJob([TENANT_APP]);
            assertIsolatedLogins(server, pws, LOGINS);
        });

        it("waits for files matching its digests keyed by its tenant key, then gives up naming the file", () => {
            assert.throws(
                () => tenantJob([TENANT_APP], { ...pws, [TENANT_KEY]: password("tenant-key-2") }),
                /secrets\/tenant-key does not hold the expected value after 0s/,
            );
        });

        it("runs at the same time as another tenant's Job and the platform's on one server (CI deploys tenants in parallel)", async () => {
            const apps = (prefix: string) =>
                appLogins(
                    [1, 2, 3].map(
                        (i) => ({ name: `${prefix}-${i}`, database: `${prefix.replace("-", "_")}_${i}` }) as AppConfig,
                    ),
                );
            const [a, b] = [apps("team-a"), apps("team-b")];
            const all: Record<string, string> = { ...pws };
            for (const login of [...a, ...b].flatMap((l) => l.logins)) {
                all[login.credentialId] = password(login.name);
            }
            all["pg-tenant-key-b"] = password("tenant-key-b");
            const tenant = (stack: string, logins: AppLogin[], key: string) =>
                runLoginJobAsync(server, {
                    adminLogin: ADMIN,
                    logins,
                    sqlOptions: { ...SQL, tenant: stack },
                    passwords: all,
                    tenantKey: key,
                });
            await Promise.all([
                tenant("team-a", [TENANT_APP, ...a], TENANT_KEY),
                tenant("team-b", b, "pg-tenant-key-b"),
                runLoginJobAsync(server, {
                    adminLogin: ADMIN,
                    logins: [PLATFORM_APP],
                    sqlOptions: SQL,
                    passwords: all,
                }),
            ]);
            assertIsolatedLogins(server, all, [...LOGINS, ...a, ...b]);
        });
    });
}
