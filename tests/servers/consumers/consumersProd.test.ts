/**
 * `npm run sandbox -- --stack prod`: the Sentinel group with TLS beside PostgreSQL and the Sentinel contract it
 * writes, and the consumer matrix against the same sandbox.
 */
import * as assert from "assert";
import * as fs from "fs";
import { describeSandbox } from "../../support/consumers";
import { currentClientRows } from "../../support/consumersCurrent";
import { parseEnvFile } from "../../support/sandboxCli";

describeSandbox("prod", (sandbox) => {
    it("prod: starts the Sentinel group (3 data nodes, 3 Sentinels) with TLS beside PostgreSQL, and writes the Sentinel contract", () => {
        const { info } = sandbox();
        const roles = info.processes.map((p) => `${p.service}/${p.role}`).sort();
        assert.deepStrictEqual(roles, [
            "postgres/primary",
            "redis/data",
            "redis/data",
            "redis/data",
            "redis/sentinel",
            "redis/sentinel",
            "redis/sentinel",
        ]);
        const postgresPort = info.processes.find((p) => p.service === "postgres")!.port;
        for (const file of Object.values(info.envFiles)) {
            const env = parseEnvFile(file);
            assert.ok(env.REDIS_SENTINEL_HOSTS.split(",").length === 3, env.REDIS_SENTINEL_HOSTS);
            assert.strictEqual(env.REDIS_TLS, "true");
            assert.ok(fs.existsSync(env.REDIS_TLS_CA_FILE));
            assert.match(
                env.DATABASE_URL,
                new RegExp(`^postgresql://[^:]+:[^@]+@127\\.0\\.0\\.1:${postgresPort}/\\w+\\?sslmode=require$`),
            );
        }
    });

    currentClientRows("prod", sandbox);
});
