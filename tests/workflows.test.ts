/** The GitHub workflows: only known actions at pinned majors, least privilege, and the fork-safety rules. */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";

const DIR = path.resolve(__dirname, "..", ".github", "workflows");

/** Every action the workflows may use, with the one major version each is pinned to (each checked to exist). */
const ALLOWED_ACTIONS: Record<string, string> = {
    "actions/checkout": "v4",
    "actions/setup-node": "v4",
    "actions/upload-artifact": "v4",
    "actions/github-script": "v7",
    "azure/login": "v2",
    "pulumi/actions": "v7",
};

interface Step {
    uses?: string;
    run?: string;
    with?: Record<string, unknown>;
    env?: Record<string, string>;
    if?: string;
}
interface Job {
    uses?: string;
    if?: string;
    steps?: Step[];
    environment?: string | { name: string };
    permissions?: Record<string, string>;
    needs?: string | string[];
}
interface Workflow {
    name: string;
    on: Record<string, unknown>;
    permissions?: Record<string, string>;
    jobs: Record<string, Job>;
}

const workflows: { file: string; wf: Workflow; text: string }[] = fs
    .readdirSync(DIR)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((file) => {
        const text = fs.readFileSync(path.join(DIR, file), "utf8");
        return { file, wf: YAML.parse(text) as Workflow, text };
    });

const triggers = (wf: Workflow) => Object.keys(wf.on ?? {});
const steps = (wf: Workflow) => Object.values(wf.jobs).flatMap((j) => j.steps ?? []);

describe("GitHub workflows", () => {
    it("exist and parse", () => {
        assert.deepStrictEqual(
            workflows.map((w) => w.file),
            ["deploy.yml", "pr-plan-comment.yml", "pr-plan.yml", "preview.yml"],
        );
        for (const { file, wf } of workflows) {
            assert.ok(wf.name && wf.on && Object.keys(wf.jobs).length > 0, `${file} has a name, triggers and jobs`);
        }
    });

    it("use only allowed actions, each at its pinned major version", () => {
        for (const { file, wf } of workflows) {
            const uses = [...Object.values(wf.jobs).map((j) => j.uses), ...steps(wf).map((s) => s.uses)].filter(
                (u): u is string => u !== undefined,
            );
            for (const u of uses) {
                const m = /^([\w.-]+\/[\w.-]+)@(v\d+)$/.exec(u);
                assert.ok(m, `${file}: "${u}" is not owner/repo@v<major>`);
                assert.ok(m[1] in ALLOWED_ACTIONS, `${file}: ${m[1]} is not an allowed action`);
                assert.strictEqual(
                    m[2],
                    ALLOWED_ACTIONS[m[1]],
                    `${file}: ${m[1]} must be pinned to ${ALLOWED_ACTIONS[m[1]]}`,
                );
            }
        }
    });

    it("declare least-privilege permissions and never use pull_request_target", () => {
        for (const { file, wf } of workflows) {
            assert.ok(wf.permissions, `${file} declares top-level permissions`);
            assert.ok(!triggers(wf).includes("pull_request_target"), `${file} must not use pull_request_target`);
            assert.notStrictEqual(wf.permissions?.contents, "write", `${file} needs no write access to the code`);
        }
    });

    it("install with npm ci --ignore-scripts everywhere", () => {
        for (const { file, wf } of workflows) {
            for (const s of steps(wf).filter((x) => /\bnpm (ci|install)\b/.test(x.run ?? ""))) {
                for (const line of (s.run ?? "").split("\n").filter((l) => /\bnpm (ci|install)\b/.test(l))) {
                    assert.match(line, /npm ci --ignore-scripts/, `${file}: ${line.trim()}`);
                }
            }
        }
    });

    it("pull-request workflows use secrets only in jobs skipped for forks; the offline plan uses none", () => {
        for (const { file, wf } of workflows.filter((w) => triggers(w.wf).includes("pull_request"))) {
            for (const [name, job] of Object.entries(wf.jobs)) {
                if (JSON.stringify(job).includes("secrets.")) {
                    assert.match(
                        job.if ?? "",
                        /github\.event\.pull_request\.head\.repo\.full_name == github\.repository/,
                        `${file} job ${name} uses secrets but runs for forks`,
                    );
                }
            }
        }
        const plan = workflows.find((w) => w.file === "pr-plan.yml");
        assert.ok(plan && !plan.text.includes("secrets.") && plan.wf.permissions?.["pull-requests"] === undefined);
    });

    it("the commenter runs on workflow_run and never checks out or runs PR code", () => {
        const { wf } =
            workflows.find((w) => w.file === "pr-plan-comment.yml") ?? assert.fail("pr-plan-comment.yml missing");
        assert.deepStrictEqual(triggers(wf), ["workflow_run"]);
        assert.ok(steps(wf).every((s) => s.uses !== "actions/checkout@v4" && s.run === undefined));
    });

    it("preview runs pulumi preview --diff with the policy pack per stack, commenting on the PR", () => {
        const { wf } = workflows.find((w) => w.file === "preview.yml") ?? assert.fail("preview.yml missing");
        const job = wf.jobs.preview as Job & { strategy: { matrix: { stack: string[] } } };
        assert.deepStrictEqual(job.strategy.matrix.stack, ["dev", "prod"]);
        const pulumi = (job.steps ?? []).find((s) => s.uses?.startsWith("pulumi/actions@"));
        assert.deepStrictEqual(
            [pulumi?.with?.command, pulumi?.with?.diff, pulumi?.with?.["comment-on-pr"], pulumi?.with?.policyPacks],
            ["preview", true, true, "policy"],
        );
        assert.strictEqual(wf.permissions?.["id-token"], "write");
    });

    it("deploys dev, then prod behind the production environment", () => {
        const { wf } = workflows.find((w) => w.file === "deploy.yml") ?? assert.fail("deploy.yml missing");
        assert.deepStrictEqual(triggers(wf), ["push"]);
        const prod = wf.jobs["up-prod"];
        assert.strictEqual(prod.environment, "production");
        assert.strictEqual(prod.needs, "up-dev");
        for (const job of [wf.jobs["up-dev"], prod]) {
            const up = (job.steps ?? []).find((s) => s.uses?.startsWith("pulumi/actions@"));
            assert.strictEqual(up?.with?.command, "up");
            assert.strictEqual(up?.with?.policyPacks, "policy");
        }
    });
});
