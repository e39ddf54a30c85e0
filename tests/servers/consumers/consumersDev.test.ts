/**
 * `npm run sandbox -- --stack dev` (StackGres-shaped PostgreSQL, standalone Redis): what it starts and writes, each
 * application connecting with nothing but its env file, and the consumer matrix against the same sandbox.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { ROOT } from "../../../offline/stackConfig";
import { describeSandbox } from "../../support/consumers";
import { currentClientRows } from "../../support/consumersCurrent";
import { APP_SCRIPT, parseEnvFile } from "../../support/sandboxCli";

describeSandbox("dev", (sandbox) => {
    it("dev: starts PostgreSQL and standalone Redis; each application connects with nothing but its env file", () => {
        const { info, out } = sandbox();
        assert.deepStrictEqual(info.processes.map((p) => `${p.service}/${p.role}`).sort(), [
            "postgres/primary",
            "redis/data",
        ]);
        assert.deepStrictEqual(Object.keys(info.envFiles).sort(), ["billing", "orders"]);
        for (const [app, file] of Object.entries(info.envFiles)) {
            assert.strictEqual(file, path.join(out, "dev", "sandbox", `${app}.env`));
            const env = parseEnvFile(file);
            // Every application key starts with its name (redisKeyPatterns default `<name>:*`).
            const key = `${app}:sandbox`;
            const run = spawnSync(process.execPath, ["-e", APP_SCRIPT], {
                cwd: ROOT,
                env: { PATH: process.env.PATH, ...env, KEY: key },
                encoding: "utf8",
                timeout: 60_000,
            });
            assert.strictEqual(run.status, 0, `${app}: ${run.stderr}`);
            assert.deepStrictEqual(JSON.parse(run.stdout), { user: env.DB_USER, db: env.DB_NAME, redis: "v" });
        }
    });

    currentClientRows("dev", sandbox);
});
