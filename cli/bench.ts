/**
 * `npm run bench`: evaluates the plan of dev, prod and prod with 100 and 500 generated applications
 * (offline/generatedStack.ts: over servers and Redis groups), each in a fresh process (program start-up counts:
 * azure-native is large), and prints resources registered, wall seconds, peak memory, a state estimate and each
 * stack's headroom against the documented limits (offline/headroom.ts). The generated stacks are then compared with
 * their floor: the same registrations replayed flat with the same SDK in a fresh process (offline/flatReplay.ts), and
 * with each other (scale). Last, the deploy critical path of dev and prod, and its length for each generated stack
 * (`offline/criticalPath.ts`).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { Registration, registrationsOf, runFlat } from "../offline/flatReplay";
import { PROJECT, runProgram } from "../offline/mockEngine";
import { toPlan } from "../offline/plan";
import { criticalPathRows } from "../offline/criticalPath";
import { StackConfig, loadStackConfig } from "../offline/stackConfig";
import { GENERATED_POOL, generatedServerCount, generatedStack } from "../offline/generatedStack";
import { HeadroomRow, headroomLine, headroomRows } from "../offline/headroom";
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
 * The stacks one size of generated applications is measured as, each measured alike: today one platform stack holding
 * them all; tenant stacks (issue 26 item 7) are further names here.
 */
export function stacksOfSize(apps: number): string[] {
    return [`apps${apps}`];
}

/** `apps<N>` names prod with N generated applications; other names are stack files. */
function configFor(stack: string): StackConfig {
    const generated = /^apps(\d+)$/.exec(stack);
    return generated ? generatedStack(Number(generated[1])) : loadStackConfig(stack);
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
}

type ChildReport = Omit<Measurement, "wallSeconds">;

function report(resources: number, started: bigint, measured: Pick<ChildReport, "inputBytes" | "headroom"> = {}): void {
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
    const config = configFor(stack);
    const completionOrder: string[] = [];
    const started = process.hrtime.bigint();
    const result = await runProgram({ stack, ...config, onRegister: (r) => completionOrder.push(r.urn) });
    const inputBytes = result.resources.reduce((sum, r) => sum + Buffer.byteLength(JSON.stringify(r.inputs)), 0);
    report(result.resources.length, started, { inputBytes, headroom: headroomRows(result.resources) });
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
    /** The further stacks of the size, by name (none until tenant stacks). */
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

/** Each stack of each size with its headroom rows. */
function headroomLines(generated: readonly Generated[]): string[] {
    return generated.flatMap((g) =>
        [{ stack: `apps${g.apps}`, measurement: g.program }, ...g.others].flatMap(({ stack, measurement }) =>
            (measurement.headroom ?? []).map((r) => headroomLine(stack, r)),
        ),
    );
}

const COLUMNS = ["resources", "wall s", "eval s", "cpu s", "peak MiB", "state MB"];

function row(name: string, m: Measurement): string {
    const cells = [
        m.resources,
        ...[m.wallSeconds, m.evalSeconds, m.cpuSeconds].map((seconds) => seconds.toFixed(2)),
        m.peakMiB.toFixed(0),
        m.inputBytes === undefined ? "-" : ((2 * m.inputBytes) / 1e6).toFixed(1),
    ];
    return [name.padEnd(8), ...cells.map((c) => String(c).padStart(9))].join(" ");
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
        console.log(["stack".padEnd(8), ...COLUMNS.map((c) => c.padStart(9))].join(" "));
        stacks.forEach((r) => console.log(r));
        generated.forEach((g) => {
            console.log(row(`apps${g.apps}`, g.program));
            if (g.flat) {
                console.log(row(`flat${g.apps}`, g.flat));
            }
            g.others.forEach(({ stack, measurement }) => console.log(row(stack, measurement)));
        });
        console.log(
            "wall s: whole process (start-up, imports, evaluation); eval s: the program under the mock engine; " +
                "cpu s: user + system of the whole process; peak MiB: max RSS; state MB: twice the recorded inputs " +
                "(the state holds inputs and outputs)",
        );
        console.log(
            "flat<N>: the registrations of apps<N> replayed as plain SDK resources in a fresh process, no program code " +
                `(up to ${FLAT_MAX_APPS} applications)`,
        );
        comparisons(generated).forEach((line) => console.log(line));
        console.log(
            "headroom against the documented limits (components/documentedLimits.ts), largest holder in parentheses; " +
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
