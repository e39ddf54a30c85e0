/**
 * The GitHub workflows (actionlint runs over them in `npm run lint`): only known actions at their current majors,
 * least privilege, the fork-safety rules, stack matrices derived from the Pulumi.<stack>.yaml files, and credentials
 * only where the stack's environment allows them (production credentials only in the `production` environments).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { stackNames } from "../../../offline/stacks";
import { PRODUCTION_ENVIRONMENT, StackEntry, stackEntries } from "../../../cli/stacks";

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
const LOCAL_WORKFLOWS = ["./.github/workflows/up.yml"];

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
    with?: Record<string, string>;
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

/** The environment a job runs in for one matrix entry, resolving `${{ matrix.<key> }}`. */
function environmentFor(job: Job, entry: StackEntry | undefined): string | undefined {
    const env = typeof job.environment === "object" ? job.environment.name : job.environment;
    if (env === undefined) {
        return undefined;
    }
    return env.replace(/\$\{\{\s*matrix\.(\w+)\s*\}\}/g, (_m, key) => {
        const value = entry?.[key as keyof StackEntry];
        return value === undefined ? `<unresolved matrix.${key}>` : String(value);
    });
}

/** The stack entries a job's matrix runs over: one of the `npm run stacks` lists, or none. */
function matrixOf(file: File, jobName: string, entries: StackEntry[], callerStacks?: string): StackEntry[] | [] {
    const include = String(file.wf.jobs[jobName].strategy?.matrix?.include ?? "");
    const source = /fromJSON\((?:needs\.\w+\.outputs\.|inputs\.)(\w+)\)/.exec(include)?.[1];
    const list = source === "stacks" && callerStacks ? callerStacks : source;
    switch (list) {
        case "all":
        case "stacks":
            return entries;
        case "production":
            return entries.filter((e) => e.production);
        case "nonProduction":
            return entries.filter((e) => !e.production);
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

/**
 * Why a job could see credentials it must not: a credential without an environment (a repository-level value is
 * visible to every job), a production stack's job outside the production environments, a pull-request job in the
 * `production` environment, or a preview environment used for a change.
 */
export function credentialExposures(files: readonly File[], entries: StackEntry[]): string[] {
    const found: string[] = [];
    const callers = new Map<string, { file: File; stacks: string }[]>();
    for (const file of files) {
        for (const job of Object.values(file.wf.jobs)) {
            if (job.uses?.startsWith("./.github/workflows/")) {
                const called = path.basename(job.uses);
                const stacks = /outputs\.(\w+)/.exec(String(job.with?.stacks))?.[1] ?? "";
                callers.set(called, [...(callers.get(called) ?? []), { file, stacks }]);
            }
        }
    }
    for (const file of files) {
        const onPullRequest = triggers(file.wf).some((t) => t.startsWith("pull_request"));
        const calledBy = callers.get(file.file) ?? [{ file, stacks: "" }];
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
            for (const caller of calledBy) {
                const pr = onPullRequest || triggers(caller.file.wf).some((t) => t.startsWith("pull_request"));
                const matrix = matrixOf(file, name, entries, caller.stacks || undefined);
                for (const entry of matrix.length > 0 ? matrix : [undefined]) {
                    const env = environmentFor(job, entry);
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
                        found.push(
                            `${label}: a preview with deployment credentials (previews use <environment>-preview)`,
                        );
                    }
                }
            }
        }
    }
    return found;
}

describe("GitHub workflows", () => {
    it("exist and parse", () => {
        assert.deepStrictEqual(
            workflows.map((w) => w.file),
            ["deploy.yml", "pr-plan-comment.yml", "pr-plan.yml", "preview.yml", "up.yml"],
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
                mutate("up.yml", (wf) => delete wf.jobs.up.environment),
                /up.yml job up reads .*secrets.PULUMI_ACCESS_TOKEN.* without an environment/,
            ],
            [
                "prod deployed from the stack-named environment",
                mutate("up.yml", (wf) => (wf.jobs.up.environment = "${{ matrix.stack }}")),
                /stack prod\) in environment prod: a production stack outside the production environments/,
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
                        /^\$\{\{ fromJSON\((needs\.\w+\.outputs\.\w+|inputs\.stacks)\) \}\}$/,
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

    it("one operation per stack at a time: job-level concurrency per stack, never cancelled in progress", () => {
        for (const file of ["deploy.yml", "up.yml"]) {
            const wf = byFile(file);
            assert.strictEqual(
                (wf as { concurrency?: unknown }).concurrency,
                undefined,
                `${file}: no workflow-wide group`,
            );
            for (const [name, job] of Object.entries(wf.jobs).filter(([, j]) => credentialsOf(j).length > 0)) {
                assert.deepStrictEqual(
                    job.concurrency,
                    { group: "pulumi-${{ matrix.stack }}", "cancel-in-progress": false },
                    `${file} ${name}`,
                );
            }
        }
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

    it("previews run the policy pack with the stack's config, save the plan and always comment (failures too)", () => {
        const job = byFile("preview.yml").jobs.preview;
        const run = (job.steps ?? []).find((s) => s.name === "pulumi preview")?.run ?? "";
        for (const flag of ["--diff", "--policy-pack policy", '--policy-pack-config "policy/config/', "--save-plan"]) {
            assert.ok(run.includes(flag), `preview runs with ${flag}`);
        }
        const comment = (job.steps ?? []).find((s) => s.name === "Comment");
        assert.strictEqual(comment?.if, "always()");
        assert.match(String(comment?.with?.script), /failed/);
        assert.match(String(comment?.with?.script), /mandatory and advisory/);
        assert.strictEqual(job.permissions?.["id-token"], "write");
    });

    it("deploys what was previewed: preview --save-plan, then up --plan, production after the others", () => {
        const deploy = byFile("deploy.yml");
        assert.deepStrictEqual(triggers(deploy), ["push"]);
        const preview = (deploy.jobs.preview.steps ?? []).find((s) => s.uses?.startsWith("pulumi/actions@"));
        assert.deepStrictEqual([preview?.with?.command, preview?.with?.plan], ["preview", "update-plan.json"]);
        const up = (byFile("up.yml").jobs.up.steps ?? []).find((s) => s.uses?.startsWith("pulumi/actions@"));
        assert.deepStrictEqual(
            [up?.with?.command, up?.with?.plan, up?.with?.policyPacks],
            ["up", "update-plan.json", "policy"],
        );
        assert.deepStrictEqual(deploy.jobs["up-production"].needs, ["test", "preview", "up-non-production"]);
        assert.match(String(deploy.jobs["up-production"].with?.stacks), /outputs\.production/);
        assert.match(String(deploy.jobs["up-non-production"].with?.stacks), /outputs\.nonProduction/);
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
