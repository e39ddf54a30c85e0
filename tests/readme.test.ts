import * as assert from "assert";
import * as fs from "fs";
import { README, withReference } from "../tools/updateReadme";

describe("README", () => {
    const readme = fs.readFileSync(README, "utf8");

    it("documents every configuration key with its default, exactly as the schemas define them", () => {
        assert.strictEqual(
            readme,
            withReference(readme),
            "README's configuration reference is stale: run `npm run docs:readme`",
        );
    });

    it("regenerates the contract table too (a new service's keys reach the README through `npm run docs:readme`)", () => {
        const stale = readme.replace(/^\| `DB_HOST` \|.*$/m, "| `DB_HOST` | stale |");
        assert.notStrictEqual(stale, readme);
        assert.strictEqual(withReference(stale), readme);
    });

    it("has a quick start of exactly two commands: the dev plan and the test suite", () => {
        const quickStart = readme.split("## Quick start")[1].split("\n## ")[0];
        const block = quickStart.match(/```sh\n([\s\S]*?)```/);
        assert.ok(block);
        assert.deepStrictEqual(block[1].trim().split("\n"), [
            "npm ci --ignore-scripts && npm run plan -- --stack dev",
            "npm test",
        ]);
    });
});
