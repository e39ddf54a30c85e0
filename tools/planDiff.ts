/**
 * `npm run plan:diff -- <planDirA> <planDirB>`: what changes from plan A (e.g. the base branch's
 * `out/<stack>`) to plan B (the head's). Exits 1 when a change would replace or delete a stateful or
 * protected resource, 2 on usage errors.
 */
import * as fs from "fs";
import * as path from "path";
import type { Plan } from "../engine/plan";
import { parseFlags } from "./args";
import { diffPlans, formatDiff } from "./planDiff/diff";

function readPlan(dir: string): Plan {
    const file = path.join(dir, "plan.json");
    if (!fs.existsSync(file)) {
        throw new Error(`${file} not found; write it with: npm run plan -- --stack <name> --out <dir>`);
    }
    return JSON.parse(fs.readFileSync(file, "utf8")) as Plan;
}

function main(argv: readonly string[]): number {
    const { positional } = parseFlags(argv, []);
    if (positional.length !== 2) {
        console.error("usage: npm run plan:diff -- <planDirA> <planDirB>   (each holds a plan.json from npm run plan)");
        return 2;
    }
    const [a, b] = positional.map(readPlan);
    const diff = diffPlans(a, b);
    const stacks = a.stack === b.stack ? `stack ${a.stack}` : `stacks ${a.stack} -> ${b.stack}`;
    console.log(formatDiff(diff, `${positional[0]} -> ${positional[1]} (${stacks})`));
    return diff.warnings.length > 0 ? 1 : 0;
}

try {
    process.exitCode = main(process.argv.slice(2));
} catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 2;
}
