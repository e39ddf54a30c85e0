import * as assert from "assert";
import { spawnSync } from "child_process";
import { parseConfig } from "../../components/config";
import { ROOT } from "../../engine/stackConfig";
import { generatedStack } from "../../tools/bench";

describe("npm run bench", function () {
    this.timeout(300_000);

    it("generates a valid 100-application stack", () => {
        const { config, secretKeys } = generatedStack(100);
        assert.strictEqual(parseConfig(config, "apps100", secretKeys).apps.length, 100);
    });

    it("prints one row per stack: resources, wall seconds, peak memory", () => {
        const run = spawnSync(
            process.execPath,
            [require.resolve("ts-node/dist/bin"), "--transpile-only", "tools/bench.ts"],
            { cwd: ROOT, encoding: "utf8" },
        );
        assert.strictEqual(run.status, 0, run.stderr);
        const rows = run.stdout.split("\n").filter((l) => /^(dev|prod|apps100)\s/.test(l));
        assert.deepStrictEqual(
            rows.map((r) => r.split(/\s+/)[0]),
            ["dev", "prod", "apps100"],
        );
        const resources = rows.map((r) => Number(r.split(/\s+/)[1]));
        assert.ok(resources[2] > resources[1], `100 applications should register more than prod: ${resources}`);
        for (const row of rows) {
            const [, , wall, , peak] = row.split(/\s+/).map(Number);
            assert.ok(wall > 0 && peak > 0, row);
        }
    });
});
