/**
 * A scheduled export on real PostgreSQL 15 and 16 as the testbed runs them (Azure-shaped: the login Job as the
 * non-superuser admin): the CronJob's dump (`exportDumpArgv`) with nothing but the keys it takes from the
 * application's Secret (`EXPORT_ENV_KEYS`) dumps the application's own database, is refused every other one, and the
 * dump loads back through the per-application copy's load and swap (`exportRestoreSteps`), every row equal.
 */
import { strict as assert } from "assert";
import { SpawnSyncReturns, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PG_ADMIN_CREDENTIAL } from "../../../components/postgres/credentials";
import { EXPORT_ENV_KEYS, exportDumpArgv, exportRestoreSteps } from "../../../components/postgres/export";
import {
    LocalServer,
    requirePostgresBinaries,
    serversByMajor,
    startLocalServer,
} from "../../../testbed/servers/postgres";
import { prepareAzureLikeServer, runAzureLoginJob } from "../../../testbed/servers/postgresLogins";
import { LOGINS, envFor, passwordsFor, queryAs } from "../../support/postgres";

const ADMIN = "pgadmin";
const ROWS = 200;

/** Runs `argv` with the client tools of `bin` and exactly `env` (and PATH). */
function run(bin: string, argv: readonly string[], env: Record<string, string>): SpawnSyncReturns<string> {
    const [command, ...args] = argv;
    return spawnSync(path.join(bin, command), args, { encoding: "utf8", env: { PATH: process.env.PATH, ...env } });
}

describe("scheduled export of one application: pg_dump with its own login, restored", function () {
    this.timeout(120_000);
    const pws = passwordsFor("export");
    const [a, b] = LOGINS;
    const pwOf = (l: (typeof LOGINS)[number]) => pws[l.current.credentialId];

    for (const [major, bin] of serversByMajor()) {
        describe(`PostgreSQL ${major}`, () => {
            let server: LocalServer;
            let work: string;
            before(async () => {
                requirePostgresBinaries(bin, ["psql", "pg_dump", "pg_restore"]);
                work = fs.mkdtempSync(path.join(os.tmpdir(), "dp-export-"));
                server = await startLocalServer({ bin });
                await prepareAzureLikeServer(server, ADMIN, pws[PG_ADMIN_CREDENTIAL], LOGINS);
                runAzureLoginJob(server, ADMIN, LOGINS, pws);
                for (const l of [a, b]) {
                    await queryAs(
                        server,
                        l.database,
                        l.current.name,
                        pwOf(l),
                        `CREATE TABLE items (id int PRIMARY KEY, note text);
                         INSERT INTO items SELECT g, '${l.database} ' || g FROM generate_series(1, ${ROWS}) g`,
                    );
                }
            });
            after(async () => {
                await server?.stop();
                fs.rmSync(work, { recursive: true, force: true });
            });

            /** What the CronJob's dump container gets from the application's Secret: those keys, nothing else. */
            const exportEnv = (overrides: Record<string, string> = {}) => {
                const contract = { ...envFor(server, a.database, a.current.name, pwOf(a)), ...overrides };
                return Object.fromEntries(EXPORT_ENV_KEYS.map((key) => [key, contract[key]]));
            };

            it("the application's login dumps its own database with only the Secret's libpq keys", () => {
                const file = path.join(work, "export.dump");
                const dump = run(bin, exportDumpArgv(file), exportEnv());
                assert.equal(dump.status, 0, dump.stderr);
                const listed = run(bin, ["pg_restore", "--list", file], {});
                assert.equal(listed.status, 0, listed.stderr);
                assert.match(listed.stdout, /TABLE DATA public items/);
                assert.match(listed.stdout, new RegExp(`dbname: ${a.database}\\b`));
            });

            it("the same login is refused another application's database", () => {
                const dump = run(
                    bin,
                    exportDumpArgv(path.join(work, "other.dump")),
                    exportEnv({ PGDATABASE: b.database }),
                );
                assert.notEqual(dump.status, 0);
                assert.match(dump.stderr, /permission denied for database/);
            });

            it("the export loads back as the admin by the rendered load and swap: every row equal", async () => {
                const file = path.join(work, "export.dump");
                const before = await queryAs(
                    server,
                    a.database,
                    a.current.name,
                    pwOf(a),
                    "SELECT * FROM items ORDER BY id",
                );
                await queryAs(server, a.database, a.current.name, pwOf(a), "DELETE FROM items WHERE id % 2 = 0");
                const admin = {
                    PGHOST: "127.0.0.1",
                    PGPORT: String(server.port),
                    PGUSER: ADMIN,
                    PGPASSWORD: pws[PG_ADMIN_CREDENTIAL],
                    PGSSLMODE: "require",
                };
                for (const step of exportRestoreSteps(a, file)) {
                    assert.equal(step.on, "live");
                    const r = run(bin, step.argv, admin);
                    assert.equal(r.status, 0, `${step.title}: ${r.stderr}`);
                }
                assert.deepEqual(
                    await queryAs(server, a.database, a.current.name, pwOf(a), "SELECT * FROM items ORDER BY id"),
                    before,
                );
                assert.equal(before.length, ROWS);
                assert.equal(
                    (
                        await queryAs(
                            server,
                            b.database,
                            b.current.name,
                            pwOf(b),
                            "SELECT count(*)::int AS n FROM items",
                        )
                    )[0].n,
                    ROWS,
                    "the other application untouched",
                );
            });
        });
    }
});
