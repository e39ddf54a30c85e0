/**
 * The policy pack as the Pulumi CLI serves it: booted by `run-policy-pack` (type-checked, its own dependencies
 * only) and called over gRPC, with the harness's verdicts. With the integration tests: it starts a server process
 * (the pack's gRPC analyzer), and its type-checked boot takes longer than any in-process test file.
 */
import * as assert from "assert";
import type { RunResult } from "../../../offline/mockEngine";
import { allPolicies } from "../../../policy/policies";
import { packConfig, runPolicies } from "../../support/policyHarness";
import { Analyzer, stagePack } from "../../support/policyAnalyzer";
import { STACKS, runStack } from "../../support/program";

/** The run with its first generated password 16 characters long: a mandatory violation. */
function withShortPassword(run: RunResult): RunResult {
    const copy = structuredClone(run) as { -readonly [K in keyof RunResult]: RunResult[K] };
    const password = copy.resources.find((r) => r.type === "random:index/randomPassword:RandomPassword");
    assert.ok(password, `${run.stack} generates a password`);
    password.inputs.length = 16;
    password.outputs.length = 16;
    return copy;
}

describe("policy pack served by run-policy-pack", function () {
    this.timeout(300_000);

    it("boots with run-policy-pack (type-checked, its own dependencies only) and gives the harness's verdicts over gRPC", async () => {
        const analyzer = await Analyzer.boot(stagePack());
        try {
            assert.deepStrictEqual((await analyzer.policyNames()).sort(), allPolicies.map((p) => p.name).sort());
            for (const stack of STACKS) {
                await analyzer.configure(packConfig(stack));
                const graph = await runStack(stack);
                const broken = withShortPassword(graph);
                const key = (v: { policy: string; enforcementLevel: string; urn?: string; message: string }) =>
                    `${v.enforcementLevel} ${v.policy} ${v.urn ?? ""}: ${v.message}`;
                for (const run of [graph, broken]) {
                    const served = await analyzer.analyzeRun(run);
                    const inProcess = (await runPolicies(allPolicies, run, { config: packConfig(stack) })).violations;
                    assert.deepStrictEqual(
                        served.map(key).sort(),
                        inProcess.map(key).sort(),
                        `${stack}: the served pack and the harness disagree`,
                    );
                    if (run === broken) {
                        assert.ok(
                            served.some(
                                (d) => d.policy === "password-min-length" && d.enforcementLevel === "mandatory",
                            ),
                            `${stack}: a 16-character password is a mandatory violation over gRPC`,
                        );
                    }
                }
            }
        } finally {
            analyzer.stop();
        }
    });

    it("run-policy-pack type-checks the pack: a type error stops it before it serves", async () => {
        // The pack's own package.json and tsconfig, one valid policy and one type error: without type checks it serves.
        const pack = stagePack(`import { PolicyPack } from "@pulumi/policy";

new PolicyPack("type-error", {
    policies: [{ name: "nothing", description: "Reports nothing.", validateResource: () => undefined }],
});

export const notANumber: number = "one";
`);
        await assert.rejects(Analyzer.boot(pack), /TS2322/);
    });
});
