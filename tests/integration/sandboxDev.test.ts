/** `npm run sandbox -- --stack dev`: PostgreSQL and standalone Redis; applications connect from their env files. */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT } from "../../engine/stackConfig";
import { APP_SCRIPT, parseEnvFile, startSandbox, stopAndCheck } from "../support/sandboxCli";

describe("npm run sandbox", function () {
    this.timeout(300_000);
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "sandbox-test-"));
    after(() => fs.rmSync(out, { recursive: true, force: true }));

    it("dev: starts PostgreSQL and standalone Redis; each application connects with nothing but its env file; stops cleanly", async () => {
        const { child, info } = await startSandbox(["--stack", "dev", "--out", out]);
        try {
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
        } finally {
            await stopAndCheck(child, info);
        }
    });
});
