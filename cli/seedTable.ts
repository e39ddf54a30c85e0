/**
 * The README's table "Seed applications: what works as is", rendered from what the seed tests observed
 * (`tests/servers/consumers/seeds*.test.ts`). Those tests compare their observations with the committed results file
 * and fail on any difference: a regression fails `npm test` instead of rewriting the table.
 */
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "../offline/stackConfig";

export type SeedStack = "dev" | "prod";
export const SEED_STACKS: readonly SeedStack[] = ["dev", "prod"];

/** What one piece of a seed's client code did: connected as written, or only with `change`. */
export interface SeedPartResult {
    readonly name: string;
    readonly unmodified: boolean;
    readonly change?: string;
}

/** One seed in one stack's sandbox. */
export interface SeedResult {
    readonly seed: string;
    readonly title: string;
    readonly stack: SeedStack;
    /** The stack-file keys its entry sets beyond name, namespace and redisDb (and the groups it adds). */
    readonly stackKeys: readonly string[];
    readonly note?: string;
    readonly parts: readonly SeedPartResult[];
}

export const SEED_RESULTS_FILE = path.join(ROOT, "tests/servers/consumers/seedResults.json");

export function readSeedResults(file = SEED_RESULTS_FILE): SeedResult[] {
    return JSON.parse(fs.readFileSync(file, "utf8"));
}

/** The results file's text for `results` (what a test prints when they differ). */
export function seedResultsText(results: readonly SeedResult[]): string {
    return `${JSON.stringify(results, null, 2)}\n`;
}

const code = (keys: readonly string[]) => keys.map((k) => `\`${k}\``).join(", ");

/** The table, one row per seed and stack. */
export function renderSeedTable(results: readonly SeedResult[] = readSeedResults()): string {
    const lines = [
        "| Seed | Stack | Works unmodified | Stack-file entry sets | Change needed |",
        "| --- | --- | --- | --- | --- |",
    ];
    for (const r of results) {
        const changed = r.parts.filter((p) => !p.unmodified);
        const works =
            changed.length === 0 ? "yes" : `no: ${r.parts.length - changed.length} of ${r.parts.length} parts`;
        const changes = changed.map((p) => `${p.name}: ${p.change}`);
        const text = [...changes, ...(r.note ? [`(${r.note})`] : [])].join("; ") || "none";
        lines.push(`| ${r.seed} ${r.title} | ${r.stack} | ${works} | ${code(r.stackKeys) || "nothing"} | ${text} |`);
    }
    return lines.join("\n");
}
