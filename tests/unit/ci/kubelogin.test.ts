/**
 * kubelogin for Entra-ID clusters: the release and the sha256 of its linux-amd64 zip pinned in .github/kubelogin.env,
 * and .github/actions/setup-kubelogin checking the download against that pin before unzipping or running it. The
 * action's real script runs here with a stand-in `curl` that serves a zip the test makes (no network).
 */
import * as assert from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { evaluate } from "./expressions";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const ENV_FILE = path.join(ROOT, ".github", "kubelogin.env");

function pins(text: string): Record<string, string> {
    return Object.fromEntries(
        text
            .split("\n")
            .filter((l) => /^[A-Z][A-Z0-9_]*=/.test(l))
            .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
}

interface Step {
    uses?: string;
    with?: Record<string, unknown>;
    run?: string;
    if?: string;
    name?: string;
}
const action = YAML.parse(fs.readFileSync(path.join(ROOT, ".github/actions/setup-kubelogin/action.yml"), "utf8")) as {
    runs: { using: string; steps: (Step & { shell?: string })[] };
};

/** Runs the action's install step in `dir` (as a checkout: .github/kubelogin.env there) with `zip` served as the asset. */
function install(dir: string, zip: string, envText: string) {
    fs.mkdirSync(path.join(dir, ".github"), { recursive: true });
    fs.writeFileSync(path.join(dir, ".github", "kubelogin.env"), envText);
    const bin = path.join(dir, "fake-bin");
    fs.mkdirSync(bin, { recursive: true });
    // curl ... -o <file> <url>: copies the test's zip to <file> and records the URL.
    fs.writeFileSync(
        path.join(bin, "curl"),
        [
            "#!/usr/bin/env bash",
            'out=""; url=""',
            'while [ $# -gt 0 ]; do case "$1" in -o) out="$2"; shift 2;; --proto) shift 2;; -*) shift;; *) url="$1"; shift;; esac; done',
            'echo "$url" > "$CURL_URL"',
            'cp "$ZIP" "$out"',
        ].join("\n"),
        { mode: 0o755 },
    );
    const [step] = action.runs.steps;
    assert.strictEqual(step.shell, "bash");
    const runnerTemp = path.join(dir, "runner-temp");
    fs.mkdirSync(runnerTemp, { recursive: true });
    const result = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", step.run ?? ""], {
        cwd: dir,
        encoding: "utf8",
        env: {
            ...process.env,
            PATH: `${bin}:${process.env.PATH}`,
            ZIP: zip,
            CURL_URL: path.join(dir, "curl-url"),
            RUNNER_TEMP: runnerTemp,
            GITHUB_PATH: path.join(dir, "github-path"),
        },
    });
    return { ...result, installed: path.join(runnerTemp, "kubelogin") };
}

describe("kubelogin for Entra-ID clusters", () => {
    it("pins the release and the 64-hex sha256 of its kubelogin-linux-amd64.zip", () => {
        const { KUBELOGIN_VERSION, KUBELOGIN_SHA256 } = pins(fs.readFileSync(ENV_FILE, "utf8"));
        assert.match(KUBELOGIN_VERSION ?? "", /^v\d+\.\d+\.\d+$/);
        assert.match(KUBELOGIN_SHA256 ?? "", /^[0-9a-f]{64}$/, "KUBELOGIN_SHA256 is a sha256 (64 lowercase hex)");
    });

    it("is installed by the workflows only for stacks that use it, before anything reaches the cluster", () => {
        const dir = path.join(ROOT, ".github", "workflows");
        let uses = 0;
        for (const file of fs.readdirSync(dir)) {
            const wf = YAML.parse(fs.readFileSync(path.join(dir, file), "utf8")) as {
                jobs: Record<string, { steps?: Step[] }>;
            };
            for (const [name, job] of Object.entries(wf.jobs)) {
                const steps = job.steps ?? [];
                const at = steps.findIndex((s) => s.uses === "./.github/actions/setup-kubelogin");
                if (at < 0) continue;
                uses++;
                const guard = /^(matrix|inputs)\.kubelogin$/.exec(steps[at].if ?? "");
                assert.ok(guard, `${file} ${name}: only for stacks with kubelogin (matrix/inputs.kubelogin)`);
                for (const kubelogin of [true, false]) {
                    const values = { [steps[at].if ?? ""]: kubelogin };
                    assert.strictEqual(evaluate(steps[at].if, { status: "success", values }), kubelogin);
                }
                const firstPulumi = steps.findIndex(
                    (s) =>
                        /\bpulumi (preview|up)\b/.test(s.run ?? "") ||
                        (s.uses?.startsWith("pulumi/actions@") && s.with?.command),
                );
                assert.ok(firstPulumi > at, `${file} ${name}: kubelogin before the first pulumi command`);
            }
        }
        assert.ok(uses >= 3, "the PR preview, the deploy's preview and up");
    });

    describe("the action's install step", function () {
        this.timeout(30_000);
        let dir: string;
        let zip: string;
        let sha256: string;

        before(() => {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "dp-kubelogin-"));
            const tree = path.join(dir, "asset");
            fs.mkdirSync(path.join(tree, "bin", "linux_amd64"), { recursive: true });
            fs.writeFileSync(path.join(tree, "bin", "linux_amd64", "kubelogin"), "#!/bin/sh\necho kubelogin test\n", {
                mode: 0o755,
            });
            zip = path.join(dir, "kubelogin-linux-amd64.zip");
            execFileSync("zip", ["-q", "-r", zip, "bin"], { cwd: tree });
            sha256 = crypto.createHash("sha256").update(fs.readFileSync(zip)).digest("hex");
        });
        after(() => fs.rmSync(dir, { recursive: true, force: true }));

        it("installs the release asset whose sha256 is the pinned one, from the pinned version's URL", () => {
            const run = install(path.join(dir, "ok"), zip, `KUBELOGIN_VERSION=v9.9.9\nKUBELOGIN_SHA256=${sha256}\n`);
            assert.strictEqual(run.status, 0, run.stderr);
            assert.strictEqual(
                fs.readFileSync(path.join(dir, "ok", "curl-url"), "utf8").trim(),
                "https://github.com/Azure/kubelogin/releases/download/v9.9.9/kubelogin-linux-amd64.zip",
            );
            assert.match(run.stdout, /kubelogin test/, "the installed binary runs");
            assert.ok(fs.existsSync(run.installed));
        });

        it("refuses a download that is not the pinned one (sha256sum --check) before unzipping or running it", () => {
            const other = "0".repeat(64);
            const run = install(
                path.join(dir, "tampered"),
                zip,
                `KUBELOGIN_VERSION=v9.9.9\nKUBELOGIN_SHA256=${other}\n`,
            );
            assert.notStrictEqual(run.status, 0);
            assert.match(run.stdout + run.stderr, /FAILED/);
            assert.ok(!fs.existsSync(run.installed), "nothing installed");
            assert.ok(!fs.existsSync(path.join(dir, "tampered", "github-path")), "nothing added to PATH");
            assert.doesNotMatch(run.stdout, /kubelogin test/, "never ran");
        });

        it("refuses an empty pin, naming the file and the asset", () => {
            const run = install(path.join(dir, "empty"), zip, "KUBELOGIN_VERSION=v9.9.9\nKUBELOGIN_SHA256=\n");
            assert.notStrictEqual(run.status, 0);
            assert.match(run.stdout, /KUBELOGIN_SHA256 is empty: pin the sha256 of kubelogin-linux-amd64.zip v9.9.9/);
        });
    });
});
