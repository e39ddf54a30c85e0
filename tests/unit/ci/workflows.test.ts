/**
 * The GitHub workflows (actionlint runs over them in `npm run lint`): only known actions at their current majors,
 * least privilege, the fork-safety rules, stack matrices derived from the Pulumi.<stack>.yaml files, and credentials
 * only where the stack's environment allows them (production credentials only in the `production` environments).
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { stackNames } from "../../../offline/stacks";
import { PRODUCTION_ENVIRONMENT, StackEntry, stackEntries } from "../../../cli/stacks";
import { evaluate, Status } from "./expressions";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const DIR = path.join(ROOT, ".github", "workflows");

/**
 * Every action the workflows may use, at its current major (each checked in the action's repository; azure/login:
 * its README's "Supported Versions" lists v3 as supported and v2 in maintenance mode, v3's action.yml runs node24).
 */
const ALLOWED_ACTIONS: Record<string, string> = {
    "actions/checkout": "v7",
    "actions/setup-node": "v7",
    "actions/upload-artifact": "v7",
    "actions/download-artifact": "v8",
    "actions/github-script": "v8",
    "azure/login": "v3",
    "pulumi/actions": "v7",
};
const LOCAL_ACTIONS = ["./.github/actions/setup-kubelogin"];
const LOCAL_WORKFLOWS = ["./.github/workflows/deploy-stack.yml"];

interface Step {
    name?: string;
    uses?: string;
    run?: string;
    with?: Record<string, unknown>;
    env?: Record<string, string>;
    if?: string;
}
interface Job {
    uses?: string;
    with?: Record<string, string | boolean>;
    if?: string;
    steps?: Step[];
    environment?: string | { name: string };
    permissions?: Record<string, string>;
    needs?: string | string[];
    concurrency?: { group: string; "cancel-in-progress": boolean };
    strategy?: { matrix?: Record<string, unknown> };
}
interface Workflow {
    name: string;
    on: Record<string, unknown>;
    permissions?: Record<string, string>;
    jobs: Record<string, Job>;
}
interface File {
    readonly file: string;
    readonly wf: Workflow;
    readonly text: string;
}

const workflows: File[] = fs
    .readdirSync(DIR)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((file) => {
        const text = fs.readFileSync(path.join(DIR, file), "utf8");
        return { file, wf: YAML.parse(text) as Workflow, text };
    });

const byFile = (name: string): Workflow => workflows.find((w) => w.file === name)?.wf ?? assert.fail(`${name} missing`);
const triggers = (wf: Workflow) => Object.keys(wf.on ?? {});
const steps = (wf: Workflow) => Object.values(wf.jobs).flatMap((j) => j.steps ?? []);

/** `secrets.X` / `vars.X` that are not credentials (visible to every job by design). */
const NOT_CREDENTIALS = new Set(["secrets.GITHUB_TOKEN"]);

function credentialsOf(job: Job): string[] {
    const refs = JSON.stringify({ ...job, strategy: undefined }).match(/\b(secrets|vars)\.[A-Z0-9_]+/g) ?? [];
    return [...new Set(refs)].filter((r) => !NOT_CREDENTIALS.has(r)).sort();
}

/** Replaces `${{ <context>.<key> }}` in `text` with `values[key]`, or a marker that it does not resolve. */
function substitute(text: string, context: string, values: Record<string, unknown>): string {
    return text.replace(new RegExp(`\\$\\{\\{\\s*${context}\\.(\\w+)\\s*\\}\\}`, "g"), (_m, key: string) =>
        key in values ? String(values[key]) : `<unresolved ${context}.${key}>`,
    );
}

/** The environment a job runs in: `${{ matrix.<key> }}` from its stack entry, `${{ inputs.<key> }}` from its caller. */
function environmentOf(job: Job, entry: StackEntry | undefined, callerWith?: Job["with"]): string | undefined {
    const env = typeof job.environment === "object" ? job.environment.name : job.environment;
    if (env === undefined) {
        return undefined;
    }
    return substitute(substitute(env, "inputs", callerWith ?? {}), "matrix", { ...entry });
}

/** The stack entries a job's matrix runs over: one of the `npm run stacks` lists, or none. */
function matrixOf(job: Job, entries: StackEntry[]): StackEntry[] {
    const include = String(job.strategy?.matrix?.include ?? "");
    switch (/fromJSON\(needs\.\w+\.outputs\.(\w+)\)/.exec(include)?.[1]) {
        case "all":
        case "stacks":
            return entries;
        case "production":
            return entries.filter((e) => e.production && e.platformStack === undefined);
        case "nonProduction":
            return entries.filter((e) => !e.production && e.platformStack === undefined);
        case "tenants":
            return entries.filter((e) => e.platformStack !== undefined);
        default:
            return [];
    }
}

const changes = (job: Job) =>
    (job.steps ?? []).some(
        (s) =>
            (s.uses?.startsWith("pulumi/actions@") &&
                ["up", "update", "destroy", "refresh"].includes(String(s.with?.command))) ||
            /\bpulumi\s+(up|update|destroy|refresh|import)\b/.test(s.run ?? ""),
    );

/** A job as it runs: for each caller of its (reusable) workflow and each stack entry, or once. */
interface Instance {
    readonly entry?: StackEntry;
    readonly callerWith?: Job["with"];
    readonly pr: boolean;
}

function instancesOf(file: File, job: Job, files: readonly File[], entries: StackEntry[]): Instance[] {
    const pr = (f: File) => triggers(f.wf).some((t) => t.startsWith("pull_request"));
    const callers = files.flatMap((f) =>
        Object.values(f.wf.jobs)
            .filter((j) => j.uses === `./.github/workflows/${file.file}`)
            .map((j) => ({ file: f, job: j })),
    );
    if (callers.length > 0) {
        return callers.flatMap((c) =>
            matrixOf(c.job, entries).map((entry) => ({ entry, callerWith: c.job.with, pr: pr(c.file) || pr(file) })),
        );
    }
    const matrix = matrixOf(job, entries);
    return matrix.length > 0 ? matrix.map((entry) => ({ entry, pr: pr(file) })) : [{ pr: pr(file) }];
}

/**
 * Why a job could see credentials it must not: a credential without an environment (a repository-level value is
 * visible to every job), a production stack's job outside the production environments, a pull-request job in the
 * `production` environment, or a preview environment used for a change.
 */
export function credentialExposures(files: readonly File[], entries: StackEntry[]): string[] {
    const found: string[] = [];
    for (const file of files) {
        for (const [name, job] of Object.entries(file.wf.jobs)) {
            const credentials = credentialsOf(job);
            if (credentials.length === 0 || job.uses) {
                continue;
            }
            const where = `${file.file} job ${name}`;
            if (job.environment === undefined) {
                found.push(`${where} reads ${credentials.join(", ")} without an environment`);
                continue;
            }
            for (const { entry, callerWith, pr } of instancesOf(file, job, files, entries)) {
                const env = environmentOf(job, entry, callerWith);
                const label = `${where}${entry ? ` (stack ${entry.stack})` : ""} in environment ${env}`;
                if (env === undefined || env.includes("<unresolved")) {
                    found.push(`${label}: the environment does not resolve`);
                } else if (env === PRODUCTION_ENVIRONMENT && pr) {
                    found.push(`${label}: a pull request can run in the production environment`);
                } else if (entry?.production && !env.startsWith(PRODUCTION_ENVIRONMENT)) {
                    found.push(`${label}: a production stack outside the production environments`);
                } else if (!entry?.production && env.startsWith(PRODUCTION_ENVIRONMENT)) {
                    found.push(`${label}: a non-production stack sees production credentials`);
                } else if (changes(job) && (env.endsWith("-preview") || pr)) {
                    found.push(`${label}: changes a stack with preview credentials or from a pull request`);
                } else if (!changes(job) && !env.endsWith("-preview")) {
                    found.push(`${label}: a preview with deployment credentials (previews use <environment>-preview)`);
                }
            }
        }
    }
    return found;
}

/** Runs a step's `run` script as GitHub does (`bash -e`, its default shell) in `cwd`, with `env` added. */
function runStep(step: Step | undefined, cwd: string, env: Record<string, string>) {
    assert.ok(step?.run, "the step has a run script");
    assert.strictEqual((step as { shell?: string }).shell, undefined, "the default shell (bash -e)");
    return spawnSync("bash", ["-e", "-c", step.run], { cwd, env: { ...process.env, ...env }, encoding: "utf8" });
}

describe("GitHub workflows", () => {
    it("exist and parse", () => {
        assert.deepStrictEqual(
            workflows.map((w) => w.file),
            ["deploy-stack.yml", "deploy.yml", "pr-plan-comment.yml", "pr-plan.yml", "preview.yml"],
        );
        for (const { file, wf } of workflows) {
            assert.ok(wf.name && wf.on && Object.keys(wf.jobs).length > 0, `${file} has a name, triggers and jobs`);
        }
    });

    it("use only allowed actions, each at its current major, and the local ones", () => {
        for (const { file, wf } of workflows) {
            const uses = [...Object.values(wf.jobs).map((j) => j.uses), ...steps(wf).map((s) => s.uses)].filter(
                (u): u is string => u !== undefined,
            );
            for (const u of uses) {
                if (LOCAL_ACTIONS.includes(u) || LOCAL_WORKFLOWS.includes(u)) {
                    assert.ok(fs.existsSync(path.join(ROOT, u)), `${file}: ${u} exists`);
                    continue;
                }
                const m = /^([\w.-]+\/[\w.-]+)@(v\d+)$/.exec(u);
                assert.ok(m, `${file}: "${u}" is not owner/repo@v<major>`);
                assert.ok(m[1] in ALLOWED_ACTIONS, `${file}: ${m[1]} is not an allowed action`);
                assert.strictEqual(m[2], ALLOWED_ACTIONS[m[1]], `${file}: ${m[1]} must be ${ALLOWED_ACTIONS[m[1]]}`);
            }
        }
    });

    it("declare least-privilege permissions and never use pull_request_target", () => {
        for (const { file, wf } of workflows) {
            assert.ok(wf.permissions, `${file} declares top-level permissions`);
            assert.ok(!triggers(wf).includes("pull_request_target"), `${file} must not use pull_request_target`);
            assert.notStrictEqual(wf.permissions?.contents, "write", `${file} needs no write access to the code`);
            assert.strictEqual(
                wf.permissions?.["id-token"],
                undefined,
                `${file}: id-token only on the jobs that log in`,
            );
        }
    });

    it("every job that runs the tests installs what they need through .ci/install.sh, and no apt package itself", () => {
        const testing = workflows.flatMap(({ file, wf }) =>
            Object.entries(wf.jobs)
                .filter(([, job]) => (job.steps ?? []).some((s) => /^npm test$/m.test(s.run ?? "")))
                .map(([name, job]) => ({ where: `${file} ${name}`, runs: (job.steps ?? []).map((s) => s.run ?? "") })),
        );
        assert.ok(testing.length >= 2, "the pull-request and deploy workflows run the tests");
        for (const { where, runs } of testing) {
            const install = runs.findIndex((r) => /^bash \.ci\/install\.sh$/m.test(r));
            assert.ok(
                install >= 0 && install < runs.findIndex((r) => /^npm test$/m.test(r)),
                `${where}: .ci/install.sh first`,
            );
            assert.ok(!runs.some((r) => /apt-get/.test(r)), `${where} installs packages outside .ci/install.sh`);
        }
    });

    it("npm test (the README's test command) and .ci/run share the one install step", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
            scripts: Record<string, string>;
        };
        assert.equal(pkg.scripts.pretest, "bash .ci/install.sh");
        const run = fs.readFileSync(path.join(ROOT, ".ci", "run"), "utf8");
        assert.ok(!/apt-get|npm ci/.test(run), ".ci/run installs nothing itself");
        assert.ok(
            run.indexOf("bash .ci/install.sh") >= 0 && run.indexOf("bash .ci/install.sh") < run.indexOf("npm test"),
        );
        const install = fs.readFileSync(path.join(ROOT, ".ci", "install.sh"), "utf8");
        // What the tests run: the servers, the lint's shellcheck, and the Python clients of the consumer matrix.
        for (const need of [
            "redis-server",
            "redis-sentinel",
            "postgresql",
            "openssl",
            "shellcheck",
            "python3-celery",
        ]) {
            assert.match(install, new RegExp(`\\b${need}\\b`), `.ci/install.sh installs ${need}`);
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

    it("no job without the production environment can see a production credential", () => {
        assert.deepStrictEqual(credentialExposures(workflows, stackEntries()), []);
        // Every credential-reading job is accounted for by the check above: it has an environment.
        const reading = workflows.flatMap(({ wf }) => Object.values(wf.jobs).filter((j) => credentialsOf(j).length));
        assert.ok(reading.length >= 3 && reading.every((j) => j.environment !== undefined));
    });

    it("the credential check catches each way of exposing production", () => {
        const entries = stackEntries();
        const mutate = (file: string, change: (wf: Workflow) => void): File[] =>
            workflows.map((w) => {
                if (w.file !== file) return w;
                const wf = structuredClone(w.wf);
                change(wf);
                return { ...w, wf };
            });
        const cases: [string, File[], RegExp][] = [
            [
                "up without an environment",
                mutate("deploy-stack.yml", (wf) => delete wf.jobs.up.environment),
                /deploy-stack.yml job up reads .*secrets.PULUMI_ACCESS_TOKEN.* without an environment/,
            ],
            [
                "prod deployed from the stack-named environment",
                mutate("deploy-stack.yml", (wf) => (wf.jobs.up.environment = "${{ inputs.stack }}")),
                /deploy-stack.yml job up \(stack prod\) in environment prod: a production stack outside the production environments/,
            ],
            [
                "the deploy's preview with the deployment credentials",
                mutate("deploy-stack.yml", (wf) => (wf.jobs.preview.environment = "${{ inputs.environment }}")),
                /deploy-stack.yml job preview \(stack dev\) in environment dev: a preview with deployment credentials/,
            ],
            [
                "previews in the deployment environment",
                mutate("preview.yml", (wf) => (wf.jobs.preview.environment = "${{ matrix.environment }}")),
                /preview.yml job preview \(stack prod\) in environment production: a pull request can run in the production environment/,
            ],
            [
                "a repository-level token in the test job",
                mutate(
                    "pr-plan.yml",
                    (wf) => (wf.jobs.test.steps = [{ run: "echo ${{ secrets.PULUMI_ACCESS_TOKEN }}" }]),
                ),
                /pr-plan.yml job test reads secrets.PULUMI_ACCESS_TOKEN without an environment/,
            ],
        ];
        for (const [name, files, expected] of cases) {
            const found = credentialExposures(files, entries);
            assert.ok(
                found.some((f) => expected.test(f)),
                `${name}: expected ${expected}, got:\n${found.join("\n")}`,
            );
        }
    });

    it("stack matrices come from the Pulumi.<stack>.yaml files, production behind the production environment", () => {
        const entries = stackEntries();
        assert.deepStrictEqual(
            entries.map((e) => e.stack),
            stackNames(),
        );
        assert.ok(stackNames().includes("prod") && entries.find((e) => e.stack === "prod")?.production);
        assert.deepStrictEqual(
            entries.filter((e) => e.production).map((e) => e.environment),
            entries.filter((e) => e.production).map(() => PRODUCTION_ENVIRONMENT),
        );
        for (const { file, wf } of workflows) {
            for (const [name, job] of Object.entries(wf.jobs)) {
                const matrix = job.strategy?.matrix;
                if (matrix) {
                    assert.deepStrictEqual(
                        Object.keys(matrix),
                        ["include"],
                        `${file} ${name}: matrix only from stacks`,
                    );
                    assert.match(
                        String(matrix.include),
                        /^\$\{\{ fromJSON\(needs\.\w+\.outputs\.\w+\) \}\}$/,
                        `${file} ${name}`,
                    );
                }
            }
        }
        for (const entry of entries) {
            assert.ok(
                fs.existsSync(path.join(ROOT, "policy", "config", `${entry.stack}.json`)),
                `policy/config/${entry.stack}.json exists`,
            );
        }
    });

    it("one deploy per stack at a time, held from its preview through the approval to up, never cancelled", () => {
        const deploy = byFile("deploy.yml");
        const stackDeploy = byFile("deploy-stack.yml");
        for (const wf of [deploy, stackDeploy]) {
            assert.strictEqual((wf as { concurrency?: unknown }).concurrency, undefined, "stacks deploy independently");
        }
        // Every deploy calls deploy-stack.yml from a job that holds the stack's group for the whole of it.
        const callers = Object.entries(deploy.jobs).filter(
            ([, j]) => j.uses === "./.github/workflows/deploy-stack.yml",
        );
        assert.deepStrictEqual(
            callers.map(([n]) => n),
            ["non-production", "production", "tenants"],
        );
        for (const [name, job] of callers) {
            assert.deepStrictEqual(
                job.concurrency,
                { group: "deploy-${{ matrix.stack }}", "cancel-in-progress": false },
                `deploy.yml ${name}`,
            );
            assert.strictEqual(job.with?.stack, "${{ matrix.stack }}", `deploy.yml ${name} deploys its group's stack`);
        }
        // No group inside: one equal to the caller's would wait for itself; another would let a newer run's job in
        // between the preview and up.
        for (const [name, job] of Object.entries(stackDeploy.jobs)) {
            assert.strictEqual(job.concurrency, undefined, `deploy-stack.yml ${name}`);
        }
        // Nothing else changes a stack, and nothing else joins a deploy group: a newer pending preview there would
        // cancel a pending deploy (GitHub keeps one pending job per group), as the old shared pulumi-<stack> did.
        const deployGroups = new Set(callers.map(([, j]) => j.concurrency?.group));
        for (const { file, wf } of workflows) {
            for (const [name, job] of Object.entries(wf.jobs)) {
                assert.ok(!changes(job) || (file === "deploy-stack.yml" && name === "up"), `${file} ${name} deploys`);
                if (!callers.some(([, j]) => j === job)) {
                    assert.ok(!deployGroups.has(job.concurrency?.group), `${file} ${name} joins a deploy group`);
                }
            }
        }
        // Pull-request previews may be cancelled by a newer push.
        assert.strictEqual(byFile("preview.yml").jobs.preview.concurrency?.["cancel-in-progress"], true);
    });

    it("pull-request workflows use credentials only in jobs skipped for forks; the offline plan uses none", () => {
        for (const { file, wf } of workflows.filter((w) => triggers(w.wf).includes("pull_request"))) {
            for (const [name, job] of Object.entries(wf.jobs)) {
                if (credentialsOf(job).length > 0) {
                    const gate = [job.if ?? "", ...[job.needs ?? []].flat().map((n) => wf.jobs[n]?.if ?? "")].join(" ");
                    assert.match(
                        gate,
                        /github\.event\.pull_request\.head\.repo\.full_name == github\.repository/,
                        `${file} job ${name} uses credentials but runs for forks`,
                    );
                }
            }
        }
        const plan = workflows.find((w) => w.file === "pr-plan.yml");
        assert.ok(plan && !/secrets\.|vars\./.test(plan.text) && plan.wf.permissions?.["pull-requests"] === undefined);
    });

    it("the commenter runs on workflow_run, never checks out or runs PR code, and marks failed runs", () => {
        const wf = byFile("pr-plan-comment.yml");
        assert.deepStrictEqual(triggers(wf), ["workflow_run"]);
        assert.ok(steps(wf).every((s) => !s.uses?.startsWith("actions/checkout@") && s.run === undefined));
        const plan = byFile("pr-plan.yml");
        const planSteps = plan.jobs.plan.steps ?? [];
        const prepare = planSteps.find((s) => s.name === "Prepare the comment");
        assert.strictEqual(prepare?.if, "always()");
        assert.match(prepare?.run ?? "", /failed/);
        assert.strictEqual(planSteps.find((s) => s.uses?.startsWith("actions/upload-artifact@"))?.if, "always()");
        assert.strictEqual(plan.jobs.failed.if, "failure()");
        assert.match(JSON.stringify(wf), /plan-run-failed/);
    });

    it("previews run the policy pack with the stack's config and comment after a failure, not after a cancel", () => {
        const job = byFile("preview.yml").jobs.preview;
        const run = (job.steps ?? []).find((s) => s.name === "pulumi preview")?.run ?? "";
        for (const flag of ["--diff", "--policy-pack policy", '--policy-pack-config "policy/config/']) {
            assert.ok(run.includes(flag), `preview runs with ${flag}`);
        }
        const comment = (job.steps ?? []).find((s) => s.name === "Comment");
        assert.strictEqual(evaluate(comment?.if, { status: "success" }), true, "a preview is commented");
        assert.strictEqual(evaluate(comment?.if, { status: "failure" }), true, "a failed one too, as failed");
        assert.strictEqual(
            evaluate(comment?.if, { status: "cancelled" }),
            false,
            "a preview a newer push cancelled posts nothing (the newer run comments)",
        );
        assert.match(String(comment?.with?.script), /failed/);
        assert.match(String(comment?.with?.script), /mandatory and advisory/);
        assert.strictEqual(job.permissions?.["id-token"], "write");
    });

    it("deploy with supported commands only: no update plans (up --plan, preview --save-plan), nothing experimental", () => {
        for (const { file, wf } of workflows) {
            for (const s of steps(wf)) {
                const where = `${file}: ${s.name ?? s.uses ?? s.run}`;
                assert.ok(!/--plan\b|--save-plan\b/.test(s.run ?? ""), `${where} uses an update plan`);
                assert.strictEqual(s.with?.plan, undefined, `${where}: pulumi/actions' plan input is --plan`);
                assert.ok(!/PULUMI_EXPERIMENTAL/.test(JSON.stringify(s)), `${where} turns on experimental features`);
            }
        }
        const stackDeploy = byFile("deploy-stack.yml");
        assert.strictEqual(stackDeploy.jobs.up.needs, "preview");
        const upload = (stackDeploy.jobs.preview.steps ?? []).find((s) =>
            s.uses?.startsWith("actions/upload-artifact@"),
        );
        const download = (stackDeploy.jobs.up.steps ?? []).find((s) =>
            s.uses?.startsWith("actions/download-artifact@"),
        );
        assert.deepStrictEqual(
            [download?.with?.name, download?.with?.path],
            [upload?.with?.name, upload?.with?.path],
            "up reads the state the preview recorded",
        );
    });

    it("deploy-stack's steps: the state recorded before the preview, up only from that state, refused otherwise", () => {
        // The jobs' real scripts and .ci/deploy-guard.sh, run as GitHub runs them; `pulumi` (no CLI here) is a
        // stand-in that exports the state file the test writes and logs every other command.
        const stackDeploy = byFile("deploy-stack.yml");
        const preview = (stackDeploy.jobs.preview.steps ?? []).find((s) => s.name === "pulumi preview");
        const up = (stackDeploy.jobs.up.steps ?? []).find((s) => s.name === "pulumi up");
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dp-deploy-steps-"));
        try {
            fs.symlinkSync(path.join(ROOT, ".ci"), path.join(dir, ".ci"));
            fs.mkdirSync(path.join(dir, "bin"));
            fs.writeFileSync(
                path.join(dir, "bin", "pulumi"),
                '#!/usr/bin/env bash\nif [ "$1 $2" = "stack export" ]; then cat "$STATE"; else echo "$*" >> "$CALLS"; fi\n',
                { mode: 0o755 },
            );
            const [state, calls] = [path.join(dir, "state.json"), path.join(dir, "calls")];
            const env = {
                PATH: `${path.join(dir, "bin")}:${process.env.PATH}`,
                STATE: state,
                CALLS: calls,
                STACK: "org/data-platform/prod",
                POLICY_CONFIG: "policy/config/prod.json",
            };
            const called = () => (fs.existsSync(calls) ? fs.readFileSync(calls, "utf8") : "");

            // No state to record: the step stops before previewing.
            assert.notStrictEqual(runStep(preview, dir, env).status, 0);
            assert.strictEqual(called(), "", "nothing previewed without the recorded state");

            fs.writeFileSync(state, '{"version": 3, "deployment": {"resources": []}}\n');
            assert.strictEqual(runStep(preview, dir, env).status, 0);
            assert.match(called(), /^preview --stack org\/data-platform\/prod --diff .*--policy-pack policy/m);
            assert.match(fs.readFileSync(path.join(dir, "previewed", "state.sha256"), "utf8"), /^[0-9a-f]{64}\n$/);

            fs.rmSync(calls);
            const unchanged = runStep(up, dir, env);
            assert.strictEqual(unchanged.status, 0, unchanged.stderr + unchanged.stdout);
            assert.match(called(), /^up --stack org\/data-platform\/prod --yes --skip-preview .*--policy-pack policy/m);

            // Another update (or a part-applied attempt of this one) between the preview and up.
            fs.rmSync(calls);
            fs.writeFileSync(state, '{"version": 3, "deployment": {"resources": [{"urn": "x"}]}}\n');
            const changed = runStep(up, dir, env);
            assert.notStrictEqual(changed.status, 0);
            assert.match(changed.stdout, /stack org\/data-platform\/prod changed after this deploy's preview/);
            assert.match(changed.stdout, /Nothing was applied\. Re-run all jobs of this run/);
            assert.strictEqual(called(), "", "up refused before running");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("deploys production stacks after the non-production ones, only when those succeeded or there are none", () => {
        const deploy = byFile("deploy.yml");
        assert.deepStrictEqual(triggers(deploy), ["push"]);
        assert.match(String(deploy.jobs["non-production"].strategy?.matrix?.include), /outputs\.nonProduction\)/);
        assert.match(String(deploy.jobs.production.strategy?.matrix?.include), /outputs\.production\)/);
        assert.deepStrictEqual(deploy.jobs.production.needs, ["test", "non-production"]);
        const production = (
            test: string,
            nonProduction: string,
            list = '[{"stack":"prod"}]',
            status: Status = "success",
        ) =>
            evaluate(deploy.jobs.production.if, {
                status,
                values: {
                    "needs.test.result": test,
                    "needs.test.outputs.production": list,
                    "needs.non-production.result": nonProduction,
                },
            });
        assert.ok(production("success", "success"));
        assert.ok(production("success", "skipped"), "no non-production stacks");
        assert.ok(!production("success", "failure", undefined, "failure"));
        assert.ok(!production("success", "success", undefined, "cancelled"));
        assert.ok(!production("failure", "skipped", "", "failure"));
        assert.ok(!production("success", "success", "[]"), "no production stacks");
    });

    it("deploys tenant stacks after every platform stack, each on its own and in parallel", () => {
        const deploy = byFile("deploy.yml");
        const job = deploy.jobs.tenants;
        assert.match(String(job.strategy?.matrix?.include), /outputs\.tenants\)/);
        assert.deepStrictEqual(job.needs, ["test", "non-production", "production"]);
        const tenants = (production: string, nonProduction: string, list = '[{"stack":"shop"}]') =>
            evaluate(job.if, {
                status: "success",
                values: {
                    "needs.test.result": "success",
                    "needs.test.outputs.tenants": list,
                    "needs.production.result": production,
                    "needs.non-production.result": nonProduction,
                },
            });
        assert.ok(tenants("success", "success"));
        assert.ok(tenants("skipped", "success"), "no production platform");
        assert.ok(!tenants("failure", "success"), "a platform stack failed");
        assert.ok(!tenants("success", "failure"), "a platform stack failed");
        assert.ok(!tenants("success", "success", "[]"), "no tenant stacks");
    });

    it("pins the Pulumi CLI in one place (.pulumi-version) and uses it everywhere the CLI is installed", () => {
        const version = fs.readFileSync(path.join(ROOT, ".pulumi-version"), "utf8").trim();
        assert.match(version, /^\d+\.\d+\.\d+$/);
        const pulumiSteps = workflows
            .flatMap(({ wf }) => steps(wf))
            .filter((s) => s.uses?.startsWith("pulumi/actions@"));
        assert.ok(pulumiSteps.length >= 3);
        for (const s of pulumiSteps) {
            assert.deepStrictEqual(
                [s.with?.["pulumi-version-file"], s.with?.["pulumi-version"]],
                [".pulumi-version", undefined],
            );
        }
    });
});
