import * as assert from "assert";
import * as fs from "fs";
import type { ResourceValidation, ResourceValidationArgs } from "@pulumi/policy";
import * as YAML from "yaml";
import { podSecurityRestricted } from "../../../policy/rules/kubernetes";
import { README, withReference } from "../../../cli/updateReadme";

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

describe("README examples", () => {
    const readme = fs.readFileSync(README, "utf8");
    const workloads = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)]
        .map((m) => YAML.parse(m[1]) as { kind?: string; metadata?: { name?: string } })
        .filter((doc) => doc?.kind === "Deployment");

    it("every example Deployment meets the restricted Pod Security Standard that application namespaces enforce", () => {
        assert.ok(workloads.length >= 1);
        for (const doc of workloads) {
            const violations: string[] = [];
            const validate = podSecurityRestricted.validateResource as ResourceValidation;
            validate(
                {
                    type: "kubernetes:apps/v1:Deployment",
                    props: doc,
                    name: doc.metadata?.name ?? "example",
                    notApplicable: () => assert.fail("the policy does not apply to a Deployment"),
                } as unknown as ResourceValidationArgs,
                (message) => violations.push(message),
            );
            assert.deepStrictEqual(violations, [], `the README's Deployment ${doc.metadata?.name}`);
        }
    });
});

describe("README waits", () => {
    /**
     * External Secrets retries a failed sync after 1 s, doubling, capped at 7 minutes (v2.9.0
     * `pkg/controllers/common/common.go` `BuildRateLimiter`): the seconds after the first try at which it tries again.
     */
    function esoRetries(until: number): number[] {
        const tries = [0];
        for (let delay = 1; tries[tries.length - 1] < until; delay = Math.min(delay * 2, 420)) {
            tries.push(tries[tries.length - 1] + delay);
        }
        return tries;
    }
    const firstTryAfter = (seconds: number) => esoRetries(seconds).find((t) => t >= seconds);

    it("states when a new application's Secret appears: External Secrets' first retry after Azure's role propagation", () => {
        const readme = fs.readFileSync(README, "utf8");
        const row = readme.split("\n").find((l) => l.startsWith("| Add an application |"))!;
        // Azure: role assignments take up to 10 minutes to propagate (limits-and-pitfalls §1).
        assert.equal(firstTryAfter(600), 931);
        assert.equal(firstTryAfter(300), 511);
        assert.match(row, /up to 931 s \(15\.5 min\)/);
        assert.match(row, /511 s when the role takes 5 minutes/);
    });
});
