/**
 * `npm run bench`: evaluates the plan of dev, prod and a generated stack with 100 applications, each in
 * a fresh process (program start-up counts: azure-native is large), and prints resources registered,
 * wall seconds and peak memory; then the deploy critical path of dev and prod (`tools/criticalPath.ts`).
 */
import { spawnSync } from "child_process";
import { runProgram } from "../engine/mockEngine";
import { toPlan } from "../engine/plan";
import { criticalPathRows } from "./criticalPath";
import { StackConfig, loadStackConfig, mergeConfig } from "../engine/stackConfig";

const GENERATED_APPS = 100;

/** The prod stack with `count` applications whose connection demand still fits the server. */
export function generatedStack(count: number): StackConfig {
    const prod = loadStackConfig("prod");
    const apps = Array.from({ length: count }, (_, i) => {
        const name = `app-${String(i + 1).padStart(3, "0")}`;
        return { name, namespace: name, redisDb: i + 1, poolSize: 4, replicas: 2 };
    });
    const redis = { ...JSON.parse(prod.config["data-platform:redis"]), databases: count + 1 };
    return mergeConfig(prod, { "data-platform:apps": apps, "data-platform:redis": redis });
}

function configFor(stack: string): StackConfig {
    return stack === `apps${GENERATED_APPS}` ? generatedStack(GENERATED_APPS) : loadStackConfig(stack);
}

/** Child: one evaluation, reported as a JSON line. */
async function measureOne(stack: string): Promise<void> {
    const started = process.hrtime.bigint();
    const result = await runProgram({ stack, ...configFor(stack) });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    console.log(
        JSON.stringify({
            stack,
            resources: result.resources.length,
            evalSeconds: seconds,
            peakMiB: process.resourceUsage().maxRSS / 1024,
        }),
    );
}

function main(): number {
    const rows: string[] = [];
    for (const stack of ["dev", "prod", `apps${GENERATED_APPS}`]) {
        const started = process.hrtime.bigint();
        const child = spawnSync(
            process.execPath,
            [require.resolve("ts-node/dist/bin"), "--transpile-only", __filename, "--child", stack],
            { encoding: "utf8" },
        );
        const wall = Number(process.hrtime.bigint() - started) / 1e9;
        if (child.status !== 0) {
            console.error(child.stderr || child.stdout);
            return 1;
        }
        const m = JSON.parse(child.stdout.trim().split("\n").pop()!);
        rows.push(
            `${stack.padEnd(8)} ${String(m.resources).padStart(9)} ${wall.toFixed(2).padStart(9)} ${m.evalSeconds.toFixed(2).padStart(9)} ${m.peakMiB.toFixed(0).padStart(9)}`,
        );
    }
    console.log(
        `${"stack".padEnd(8)} ${"resources".padStart(9)} ${"wall s".padStart(9)} ${"eval s".padStart(9)} ${"peak MiB".padStart(9)}`,
    );
    rows.forEach((r) => console.log(r));
    console.log(
        "wall s: whole process (start-up, imports, evaluation); eval s: the program under the mock engine; peak MiB: max RSS",
    );
    return 0;
}

/** The critical-path rows of dev and prod, from their plans. */
async function printCriticalPaths(): Promise<void> {
    for (const stack of ["dev", "prod"]) {
        const result = await runProgram({ stack, ...loadStackConfig(stack) });
        criticalPathRows(stack, toPlan(result)).forEach((r) => console.log(r));
    }
    console.log("durations: DEPLOY_DURATIONS in tools/criticalPath.ts (each with its source)");
}

if (process.argv[2] === "--child") {
    measureOne(process.argv[3]).then(
        () => process.exit(0),
        (err) => {
            console.error(err instanceof Error ? err.message : err);
            process.exit(1);
        },
    );
} else if (require.main === module) {
    const status = main();
    if (status !== 0) {
        process.exit(status);
    }
    printCriticalPaths().then(
        () => process.exit(0),
        (err) => {
            console.error(err instanceof Error ? err.message : err);
            process.exit(1);
        },
    );
}
