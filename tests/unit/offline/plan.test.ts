import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { ROOT } from "../../../offline/stackConfig";
import { SECRET_MASK, writePlan } from "../../../offline/plan";
import { runStack } from "../../support/program";

/** Runs `npm run plan` as a user would (a separate process), returning its exit code and output. */
function plan(args: string[]): { status: number | null; stdout: string; stderr: string } {
    const result = spawnSync(
        process.execPath,
        [require.resolve("ts-node/dist/bin"), "--transpile-only", "cli/plan.ts", ...args],
        {
            cwd: ROOT,
            encoding: "utf8",
            timeout: 120_000,
        },
    );
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Every file below `dir` with its bytes, keyed by relative path. */
function snapshot(dir: string): Map<string, Buffer> {
    const files = new Map<string, Buffer>();
    const walk = (d: string) => {
        for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
            const full = path.join(d, entry.name);
            if (entry.isDirectory()) {
                walk(full);
            } else {
                files.set(path.relative(dir, full), fs.readFileSync(full));
            }
        }
    };
    walk(dir);
    return files;
}

describe("npm run plan", function () {
    this.timeout(300_000);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "plan-test-"));
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    for (const stack of ["dev", "prod"]) {
        it(`writes plan.json and one YAML document per Kubernetes object for ${stack}, byte-identical on a second run`, async () => {
            const first = plan(["--stack", stack, "--out", path.join(tmp, "a")]);
            assert.strictEqual(first.status, 0, first.stderr);
            assert.match(first.stdout, new RegExp(`stack ${stack}: \\d+ resources, \\d+ Kubernetes objects`));
            assert.match(first.stdout, /per component:/);
            // The second run in this process, after whatever ran here before: no state leaks into the plan either.
            writePlan(await runStack(stack), path.join(tmp, "b"));

            const a = snapshot(path.join(tmp, "a", stack));
            const b = snapshot(path.join(tmp, "b", stack));
            assert.deepStrictEqual([...a.keys()].sort(), [...b.keys()].sort());
            for (const [file, bytes] of a) {
                assert.ok(bytes.equals(b.get(file)!), `${file} differs between two runs of the same configuration`);
            }

            const planJson = JSON.parse(a.get("plan.json")!.toString("utf8"));
            assert.strictEqual(planJson.stack, stack);
            const kubeObjects = planJson.resources.filter(
                (r: any) => r.custom && r.type.startsWith("kubernetes:") && r.type !== "kubernetes:helm.sh/v3:Release",
            );
            const manifests = [...a.keys()].filter((f) => f.startsWith("manifests/"));
            const documents = manifests.flatMap((f) =>
                YAML.parseAllDocuments(a.get(f)!.toString("utf8")).map((d) => d.toJS()),
            );
            assert.strictEqual(documents.length, kubeObjects.length);
            for (const doc of documents) {
                assert.ok(doc.apiVersion && doc.kind && doc.metadata?.name, JSON.stringify(doc).slice(0, 200));
            }
            const provider = planJson.resources.find((r: any) => r.type === "pulumi:providers:kubernetes");
            assert.strictEqual(provider.inputs.kubeconfig, SECRET_MASK);
        });
    }

    it("with invalid configuration exits non-zero, prints one line per problem and no stack trace, writes nothing", () => {
        const bad = path.join(tmp, "Pulumi.bad.yaml");
        const dev = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8"));
        dev.config["data-platform:redis"] = { mode: "cluster" };
        dev.config["data-platform:apps"][1].namespace = dev.config["data-platform:apps"][0].namespace;
        fs.writeFileSync(bad, YAML.stringify(dev));
        const out = path.join(tmp, "bad-out");
        const result = plan(["--stack", "bad", "--config-file", bad, "--out", out]);
        assert.strictEqual(result.status, 1);
        assert.match(
            result.stderr,
            /data-platform:redis\.mode: given "cluster"; allowed: one of "sentinel", "standalone"/,
        );
        assert.doesNotMatch(result.stderr, /^\s+at /m);
        assert.ok(!fs.existsSync(path.join(out, "bad")), "an invalid configuration must not produce a plan");
    });
});
