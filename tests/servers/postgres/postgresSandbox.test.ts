/** The sandbox's startPostgres: each stack's logins and databases, exactly the SQL its mock run deploys. */
import { strict as assert } from "assert";
import { postgresCredentialIds } from "../../../components/postgres/credentials";
import { startPostgres } from "../../../testbed/servers/postgresLogins";
import { parseStack } from "../../support/config";
import { connectAsApp } from "../../support/postgres";
import { byName, runStack } from "../../support/program";

describe("postgres login SQL against PostgreSQL 15 with TLS", function () {
    this.timeout(120000);

    describe("sandbox startPostgres", () => {
        for (const stack of ["dev", "prod"]) {
            it(`starts the ${stack} stack's logins and databases (the SQL its mock run deploys) with a working contract per application`, async () => {
                const config = parseStack(stack);
                const run = await runStack(stack);
                const pws = Object.fromEntries(
                    postgresCredentialIds(config).map((id) => [
                        id,
                        byName(run, "random:index/randomPassword:RandomPassword", `credentials-${id}`).outputs
                            .result as string,
                    ]),
                );
                const started = await startPostgres({ config, passwords: pws, run });
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
            const config = parseStack("dev");
            const run = await runStack("dev");
            const pws = Object.fromEntries(
                postgresCredentialIds(config).map((id) => [id, "not-the-deployed-password"]),
            );
            await assert.rejects(
                startPostgres({ config, passwords: pws, run }),
                /waits for other passwords than the sandbox's/,
            );
        });
    });
});
