/**
 * `npm run plan:diff -- <planDirA> <planDirB> [--ack <file>] [--base-ack <file>]`: what changes from plan A (e.g.
 * the base branch's `out/<stack>`) to plan B (the head's). Exits 1 when a change would replace or delete a stateful
 * or protected resource, replace a provider or regenerate credentials, unless the URN is listed in the `--ack` file
 * (the head's `.plan-ack`) and not already in `--base-ack` (the base's): an acknowledgement is for one pull request.
 * Exits 2 on usage errors.
 */
import * as fs from "fs";
import * as path from "path";
import type { Plan } from "../offline/plan";
import { parseFlags } from "./args";
import { readAcknowledgements } from "../offline/planDiff/ack";
import { diffPlans, failsCheck, formatDiff } from "../offline/planDiff/diff";

function readPlan(dir: string): Plan {
    const file = path.join(dir, "plan.json");
    if (!fs.existsSync(file)) {
        throw new Error(`${file} not found; write it with: npm run plan -- --stack <name> --out <dir>`);
    }
    return JSON.parse(fs.readFileSync(file, "utf8")) as Plan;
}

function main(argv: readonly string[]): number {
    const { flags, positional } = parseFlags(argv, ["ack", "base-ack"]);
    if (positional.length !== 2) {
        console.error(
            "usage: npm run plan:diff -- <planDirA> <planDirB> [--ack <.plan-ack of the head>] [--base-ack <.plan-ack of the base>]   (each dir holds a plan.json from npm run plan)",
        );
        return 2;
    }
    const [a, b] = positional.map(readPlan);
    const ack = readAcknowledgements(flags.ack, flags["base-ack"]);
    const diff = diffPlans(a, b, { acknowledged: ack.urns });
    const stacks = a.stack === b.stack ? `stack ${a.stack}` : `stacks ${a.stack} -> ${b.stack}`;
    console.log(formatDiff(diff, `${positional[0]} -> ${positional[1]} (${stacks})`));
    for (const note of ack.notes) {
        console.log(note);
    }
    return failsCheck(diff) ? 1 : 0;
}

try {
    process.exitCode = main(process.argv.slice(2));
} catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 2;
}
