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
