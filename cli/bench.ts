/**
 * `npm run bench`: evaluates the plan of dev, prod and prod with 100 and 500 generated applications
 * (offline/generatedStack.ts: over servers and Redis groups), each in a fresh process (program start-up counts:
 * azure-native is large), and prints resources registered, wall seconds, peak memory, a state estimate and each
 * stack's headroom against the documented limits (offline/headroom.ts). The generated stacks are then compared with
 * their floor: the same registrations replayed flat with the same SDK in a fresh process (offline/flatReplay.ts), and
 * with each other (scale). Last, the deploy critical path of dev and prod, and its length for each generated stack
 * (`offline/criticalPath.ts`). Each size is measured too as an environment of a platform stack and tenant stacks
 * (offline/tenantEnvironment.ts, placed by the same generator), each stack in a fresh process, with the environment's
 * headroom (role assignments and identities summed over its stacks).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { Registration, registrationsOf, runFlat } from "../offline/flatReplay";
import { PROJECT, RecordedResource, RunResult, runProgram } from "../offline/mockEngine";
import { toPlan } from "../offline/plan";
import { criticalPathRows } from "../offline/criticalPath";
import { StackConfig, loadStackConfig } from "../offline/stackConfig";
import { GENERATED_POOL, generatedServerCount, generatedStack } from "../offline/generatedStack";
import {
    HeadroomRow,
    SharedCounts,
    environmentRows,
    headroomLine,
    headroomRows,
    sharedCounts,
} from "../offline/headroom";
import { Environment, generateEnvironment } from "../offline/tenantEnvironment";
import { runTenant } from "../offline/tenantStacks";
import { TENANT_MAX_APPS } from "../components/config/tenant";
import { parseFlags } from "./args";

/**
 * Targets from issue 10: the program within 1.5x its flat replay, 500 MiB at 100 apps, and growth close to
 * linear (500 apps within 5.5x the time of 100: 1.1x per unit of the apps ratio).
 */
const TARGETS = { flatRatio: 1.5, peakMiBAt100: 500, scalePerAppRatio: 1.1 };

/**
 * The largest size replayed flat: the replay registers everything at once and at 1,000 applications (~20,000
 * registrations) passed Node's default heap (4 GB, out of memory after 5 min) while the program peaked at 1.7 GB.
 */
const FLAT_MAX_APPS = 500;

/**
 * The environment of `apps` generated applications as tenant stacks (issue 26 item 7): at least ten (as many as
 * applications below ten), none above TENANT_MAX_APPS.
 */
function environmentOf(apps: number): Environment {
    const tenants = Math.min(apps, Math.max(10, Math.ceil(apps / TENANT_MAX_APPS)));
    return generateEnvironment({ apps, tenants, spread: true });
}

/**
 * The stacks one size of generated applications is measured as, each measured alike: one platform stack holding
 * them all (`apps<N>`), and the same applications as a platform stack (`env<N>`) and its tenant stacks
 * (`env<N>.tenant-01`, ...).
 */
export function stacksOfSize(apps: number): string[] {
    return [`apps${apps}`, `env${apps}`, ...Object.keys(environmentOf(apps).tenants).map((t) => `env${apps}.${t}`)];
}

/** `apps<N>` names prod with N generated applications, `env<N>` its environment's platform; others are stack files. */
function configFor(stack: string): StackConfig {
    const generated = /^apps(\d+)$/.exec(stack);
    const platform = /^env(\d+)$/.exec(stack);
    return generated
        ? generatedStack(Number(generated[1]))
        : platform
          ? environmentOf(Number(platform[1])).platform.config
          : loadStackConfig(stack);
}

/**
 * One stack's run. A tenant stack (`env<N>.<tenant>`) is run after its platform, whose outputs answer its
 * StackReference: its wall and peak count the platform's run too, its eval only its own.
 */
async function runMeasured(stack: string, onRegister: (r: RecordedResource) => void): Promise<[RunResult, bigint]> {
    const tenant = /^env(\d+)\.(.+)$/.exec(stack);
    if (tenant) {
        const env = environmentOf(Number(tenant[1]));
        const platform = await runProgram({ stack: env.platform.stack, ...env.platform.config });
        const started = process.hrtime.bigint();
        return [await runTenant(tenant[2], env.tenants[tenant[2]], platform, { onRegister }), started];
    }
    const started = process.hrtime.bigint();
    return [await runProgram({ stack, ...configFor(stack), onRegister }), started];
}

export interface Measurement {
    readonly resources: number;
    /** The whole child process: start-up, imports, evaluation. */
    readonly wallSeconds: number;
    /** The program (or replay) alone. */
    readonly evalSeconds: number;
    /** CPU seconds (user + system, all threads) of the whole child: less sensitive than wall to a busy machine. */
    readonly cpuSeconds: number;
    /** Max RSS of the child, measured before it writes anything. */
    readonly peakMiB: number;
    /**
     * Bytes of the registrations' recorded inputs (JSON). The state holds inputs and outputs, so it is estimated at
     * twice this; absent for a flat replay.
     */
    readonly inputBytes?: number;
    /** The program's distance from each documented limit; absent for a flat replay. */
    readonly headroom?: HeadroomRow[];
    /** What it takes of the limits stacks share (a subscription, its resource groups); absent for a flat replay. */
    readonly shared?: SharedCounts;
}

type ChildReport = Omit<Measurement, "wallSeconds">;

function report(
    resources: number,
    started: bigint,
    measured: Pick<ChildReport, "inputBytes" | "headroom" | "shared"> = {},
): void {
    const cpu = process.cpuUsage();
    const report: ChildReport = {
        ...measured,
        resources,
        evalSeconds: Number(process.hrtime.bigint() - started) / 1e9,
        cpuSeconds: (cpu.user + cpu.system) / 1e6,
        peakMiB: process.resourceUsage().maxRSS / 1024,
    };
    console.log(JSON.stringify(report));
}

/** Child: one evaluation of the program; with `recordTo`, its registrations are written there afterwards. */
async function measureProgram(stack: string, recordTo?: string): Promise<void> {
    const completionOrder: string[] = [];
    const [result, started] = await runMeasured(stack, (r) => completionOrder.push(r.urn));
    const inputBytes = result.resources.reduce((sum, r) => sum + Buffer.byteLength(JSON.stringify(r.inputs)), 0);
    report(result.resources.length, started, {
        inputBytes,
        headroom: headroomRows(result.resources),
        shared: sharedCounts(result.resources),
    });
    if (recordTo) {
        fs.writeFileSync(recordTo, JSON.stringify({ stack, registrations: registrationsOf(result, completionOrder) }));
    }
}

/** Child: the recorded registrations replayed flat. */
async function measureFlat(recorded: string): Promise<void> {
    const { stack, registrations } = JSON.parse(fs.readFileSync(recorded, "utf8")) as {
        stack: string;
        registrations: Registration[];
    };
    const started = process.hrtime.bigint();
    await runFlat(PROJECT, stack, registrations);
    report(registrations.length, started);
}

/** Runs this file in a fresh ts-node process, the way `npm run plan` runs. */
export function measureInChild(args: string[]): Measurement {
    const started = process.hrtime.bigint();
    const child = spawnSync(
        process.execPath,
        [require.resolve("ts-node/dist/bin"), "--transpile-only", __filename, ...args],
        {
            encoding: "utf8",
            maxBuffer: 16 * 1024 * 1024,
        },
    );
    const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (child.status !== 0) {
        throw new Error(`bench ${args.join(" ")} failed:\n${child.stderr || child.stdout}`);
    }
    const measured = JSON.parse(child.stdout.trim().split("\n").pop()!) as ChildReport;
    return { ...measured, wallSeconds };
}

/** A generated stack and its flat replay, each in a fresh process. */
export interface Generated {
    readonly apps: number;
    /** The first of `stacksOfSize` (the platform stack), compared with its flat replay. */
    readonly program: Measurement;
    /** Absent above `FLAT_MAX_APPS`. */
    readonly flat?: Measurement;
    /** The further stacks of the size, by name: the environment's platform and tenant stacks. */
    readonly others: ReadonlyArray<{ readonly stack: string; readonly measurement: Measurement }>;
}

export function measureAgainstFlat(apps: number, dir: string): Generated {
    const [platform, ...others] = stacksOfSize(apps);
    const recorded = path.join(dir, `${platform}.json`);
    const program = measureInChild(["--child", platform, recorded]);
    const flat = apps <= FLAT_MAX_APPS ? measureInChild(["--flat", recorded]) : undefined;
    return {
        apps,
        program,
        flat,
        others: others.map((stack) => ({ stack, measurement: measureInChild(["--child", stack]) })),
    };
}

/** The largest of a size's tenant stacks, by resources. */
function largestTenant(g: Generated): { stack: string; measurement: Measurement } | undefined {
    return g.others
        .filter(({ stack }) => stack.includes("."))
        .reduce<
            { stack: string; measurement: Measurement } | undefined
        >((a, b) => (a === undefined || b.measurement.resources > a.measurement.resources ? b : a), undefined);
}

/** The environment's rows: role assignments and identities summed over its stacks, the rest the largest of any. */
export function environmentHeadroom(g: Generated): HeadroomRow[] {
    const stacks = g.others.filter(({ measurement }) => measurement.headroom && measurement.shared);
    return stacks.length === 0
        ? []
        : environmentRows(
              stacks.map(({ stack, measurement }) => ({
                  stack,
                  rows: measurement.headroom!,
                  shared: measurement.shared!,
              })),
          );
}

/** Each size's one stack, its environment's platform and largest tenant stack, and the environment, by headroom. */
function headroomLines(generated: readonly Generated[]): string[] {
    return generated.flatMap((g) => {
        const stacks = [{ stack: `apps${g.apps}`, measurement: g.program }, ...g.others.slice(0, 1)];
        const largest = largestTenant(g);
        return [
            ...[...stacks, ...(largest ? [largest] : [])].flatMap(({ stack, measurement }) =>
                (measurement.headroom ?? []).map((r) => headroomLine(stack, r)),
            ),
            ...environmentHeadroom(g).map((r) => headroomLine(`env${g.apps}*`, r)),
        ];
    });
}

/** Wide enough for a tenant stack's row (`env1000.tenant-01`). */
const NAME_WIDTH = 17;

const COLUMNS = ["resources", "wall s", "eval s", "cpu s", "peak MiB", "state MB"];

function row(name: string, m: Measurement): string {
    const cells = [
        m.resources,
        ...[m.wallSeconds, m.evalSeconds, m.cpuSeconds].map((seconds) => seconds.toFixed(2)),
        m.peakMiB.toFixed(0),
        m.inputBytes === undefined ? "-" : ((2 * m.inputBytes) / 1e6).toFixed(1),
    ];
    return [name.padEnd(NAME_WIDTH), ...cells.map((c) => String(c).padStart(9))].join(" ");
}

function verdict(value: number, limit: number): string {
    return `${value.toFixed(2)} (target <= ${limit}: ${value <= limit ? "met" : "MISSED"})`;
}

/** The comparisons: each size against its flat replay, peak memory at 100 apps, growth from smallest to largest. */
export function comparisons(generated: readonly Generated[]): string[] {
    const lines = generated.flatMap(({ apps, program, flat }) =>
        flat === undefined
            ? []
            : `apps${apps} / flat${apps}: wall ${verdict(program.wallSeconds / flat.wallSeconds, TARGETS.flatRatio)}, ` +
              `eval ${(program.evalSeconds / flat.evalSeconds).toFixed(2)}, ` +
              `cpu ${(program.cpuSeconds / flat.cpuSeconds).toFixed(2)}, peak ${(program.peakMiB / flat.peakMiB).toFixed(2)}`,
    );
    const at100 = generated.find((g) => g.apps === 100);
    if (at100) {
        lines.push(`apps100 peak MiB: ${verdict(at100.program.peakMiB, TARGETS.peakMiBAt100)}`);
    }
    const [small, large] = [generated[0], generated[generated.length - 1]];
    if (small && large && large.apps > small.apps) {
        const growth = large.apps / small.apps;
        lines.push(
            `scale, wall apps${large.apps} / apps${small.apps}: ` +
                verdict(large.program.wallSeconds / small.program.wallSeconds, TARGETS.scalePerAppRatio * growth),
        );
    }
    return lines;
}

/** The generated stacks' sizes (`--apps`), or undefined when one is not a positive integer. */
function sizesOf(argv: readonly string[]): number[] | undefined {
    const { flags } = parseFlags(argv, ["apps"]);
    const sizes = (flags.apps ?? "100,500").split(",").map(Number);
    return sizes.some((n) => !Number.isInteger(n) || n < 1) ? undefined : sizes;
}

function main(argv: readonly string[]): number {
    const sizes = sizesOf(argv);
    if (sizes === undefined) {
        console.error("usage: npm run bench [-- --apps <count>,<count>...]");
        return 2;
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-"));
    try {
        const stacks = ["dev", "prod"].map((stack) => row(stack, measureInChild(["--child", stack])));
        const generated = sizes.map((apps) => measureAgainstFlat(apps, dir));
        console.log(["stack".padEnd(NAME_WIDTH), ...COLUMNS.map((c) => c.padStart(9))].join(" "));
        stacks.forEach((r) => console.log(r));
        generated.forEach((g) => {
            console.log(row(`apps${g.apps}`, g.program));
            if (g.flat) {
                console.log(row(`flat${g.apps}`, g.flat));
            }
            g.others.forEach(({ stack, measurement }) => console.log(row(stack, measurement)));
            const largest = largestTenant(g);
            if (largest) {
                console.log(
                    `env${g.apps}: ${g.others.length - 1} tenant stacks, largest ${largest.stack}: ` +
                        `${largest.measurement.resources} resources, state ` +
                        `${((2 * largest.measurement.inputBytes!) / 1e6).toFixed(1)} MB`,
                );
            }
        });
        console.log(
            "wall s: whole process (start-up, imports, evaluation); eval s: the program under the mock engine; " +
                "cpu s: user + system of the whole process; peak MiB: max RSS; state MB: twice the recorded inputs " +
                "(the state holds inputs and outputs)",
        );
        console.log(
            "env<N>: the same applications as a platform stack and tenant stacks (env<N>.<tenant>, each run after " +
                "its platform, which answers its StackReference: wall and peak count the platform's run too)",
        );
        console.log(
            "flat<N>: the registrations of apps<N> replayed as plain SDK resources in a fresh process, no program code " +
                `(up to ${FLAT_MAX_APPS} applications)`,
        );
        comparisons(generated).forEach((line) => console.log(line));
        console.log(
            "headroom against the documented limits (components/documentedLimits.ts), largest holder in parentheses; " +
                "env<N>*: the environment, role assignments and identities summed over its stacks; " +
                `apps<N>: ${GENERATED_POOL.replicas} x ${GENERATED_POOL.poolSize} connections per application, ` +
                `${generatedServerCount(sizes[sizes.length - 1])} PostgreSQL servers at the largest size`,
        );
        headroomLines(generated).forEach((line) => console.log(line));
        return 0;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** The critical-path rows of dev and prod, from their plans, and the summary row of each generated stack. */
async function printCriticalPaths(sizes: readonly number[]): Promise<void> {
    for (const stack of ["dev", "prod", ...sizes.map((n) => `apps${n}`)]) {
        const rows = criticalPathRows(stack, toPlan(await runProgram({ stack, ...configFor(stack) })));
        (stack.startsWith("apps") ? rows.slice(0, 1) : rows).forEach((r) => console.log(r));
    }
    console.log("durations: DEPLOY_DURATIONS in offline/criticalPath.ts (each with its source)");
}

function runChild(work: Promise<void>): void {
    work.then(
        () => process.exit(0),
        (err) => {
            console.error(err instanceof Error ? (err.stack ?? err.message) : err);
            process.exit(1);
        },
    );
}

if (process.argv[2] === "--child") {
    runChild(measureProgram(process.argv[3], process.argv[4]));
} else if (process.argv[2] === "--flat") {
    runChild(measureFlat(process.argv[3]));
} else if (require.main === module) {
    const status = main(process.argv.slice(2));
    if (status !== 0) {
        process.exit(status);
    }
    runChild(printCriticalPaths(sizesOf(process.argv.slice(2)) ?? []));
}
