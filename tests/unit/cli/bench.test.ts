import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseConfig } from "../../../components/config";
import { registrationsOf, replayFlat } from "../../../offline/flatReplay";
import { RecordedResource, runProgram } from "../../../offline/mockEngine";
import { loadStackConfig } from "../../../offline/stackConfig";
import { comparisons, environmentHeadroom, measureAgainstFlat } from "../../../cli/bench";
import { generatedStack } from "../../../offline/generatedStack";
import { LIMITS } from "../../../components/limits";

/** A registration without what only the program's shape decides (which dependencies came through inputs). */
function registered({
    propertyDependencies,
    dependsOn,
    ...rest
}: RecordedResource): Omit<RecordedResource, "propertyDependencies" | "dependsOn"> {
    void propertyDependencies;
    void dependsOn;
    return rest;
}

describe("npm run bench", function () {
    this.timeout(120_000);

    for (const apps of [100, 500]) {
        it(`generates a valid stack with ${apps} applications`, () => {
            const { config, secretKeys } = generatedStack(apps);
            assert.strictEqual(parseConfig(config, `apps${apps}`, secretKeys).apps.length, apps);
        });
    }

    it("replays a run flat as the same registrations: URNs, parents, providers, inputs, secrets, options, outputs", async () => {
        const { config, secretKeys } = loadStackConfig("prod");
        const order: string[] = [];
        const original = await runProgram({ stack: "prod", config, secretKeys, onRegister: (r) => order.push(r.urn) });
        const registrations = registrationsOf(original, order);
        const replayed = await runProgram({
            stack: "prod",
            config,
            secretKeys,
            program: () => replayFlat(registrations),
        });
        assert.ok(original.resources.some((r) => r.options.aliases.length > 0 && r.secretPaths.length > 0));
        assert.deepStrictEqual(replayed.resources.map(registered), original.resources.map(registered));
        assert.deepStrictEqual(replayed.outputs, original.outputs);
        assert.deepStrictEqual(replayed.outputSecretPaths, original.outputSecretPaths);
    });

    it("measures a generated stack and its flat replay in fresh processes and compares them", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-test-"));
        try {
            const small = measureAgainstFlat(3, dir);
            const flat = small.flat!;
            assert.strictEqual(flat.resources, small.program.resources);
            for (const m of [small.program, flat]) {
                assert.ok(m.wallSeconds > m.evalSeconds && m.evalSeconds > 0 && m.peakMiB > 0, JSON.stringify(m));
            }
            // The program's row carries its state estimate and a headroom row per documented limit; a replay neither.
            assert.ok(small.program.inputBytes! > 0);
            assert.deepStrictEqual(
                small.program.headroom?.map((r) => r.limit),
                Object.keys(LIMITS),
            );
            assert.ok(
                small.program.headroom!.every((r) => r.used > 0 && r.used <= r.max),
                JSON.stringify(small.program.headroom),
            );
            assert.strictEqual(flat.headroom, undefined);
            // The same applications as a platform stack and tenant stacks, each in a fresh process; the environment's
            // role assignments are its stacks' sum (one subscription), not its largest stack's.
            assert.deepStrictEqual(
                small.others.map((o) => o.stack),
                ["env3", "env3.tenant-01", "env3.tenant-02"],
            );
            const perStack = small.others.map((o) => o.measurement.shared!.roleAssignments);
            assert.ok(
                perStack.every((n) => n > 0),
                JSON.stringify(perStack),
            );
            const assignments = environmentHeadroom(small).find((r) => r.limit === "roleAssignments")!;
            assert.strictEqual(
                assignments.used,
                perStack.reduce((a, b) => a + b, 0),
            );
            const [line] = comparisons([small]);
            const ratio = (small.program.wallSeconds / flat.wallSeconds).toFixed(2);
            assert.ok(line.startsWith(`apps3 / flat3: wall ${ratio} (target <= 1.5: `), line);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
