/**
 * `npm run plan -- --stack <name> [--config-file <file>] [--out <dir>]`
 * Runs the real program for the stack under the mock engine and writes the offline plan.
 */
import * as fs from "fs";
import * as path from "path";
import { summarize, writePlan } from "../offline/plan";
import { loadStackConfig, stackFile } from "../offline/stackConfig";
import { stackNames } from "../offline/stacks";
import { runStack } from "../offline/tenantStacks";
import { parseFlags, runTool } from "./args";

async function main(): Promise<number> {
    const { flags } = parseFlags(process.argv.slice(2), ["stack", "config-file", "out"]);
    const stack = flags.stack;
    if (!stack) {
        console.error(
            "usage: npm run plan -- --stack <name> [--config-file <Pulumi.<stack>.yaml-shaped file>] [--out <dir>]",
        );
        return 2;
    }
    const file = flags["config-file"] ?? stackFile(stack);
    if (!fs.existsSync(file)) {
        console.error(
            `no configuration for stack ${stack}: ${path.relative(process.cwd(), file) || file} does not exist. ` +
                `Stacks with a file: ${stackNames().join(", ") || "none"}. ` +
                'To add one, see "Adding a stack" in README.md, or pass --config-file <file>.',
        );
        return 2;
    }
    const { config, secretKeys } = loadStackConfig(stack, file);
    // A tenant stack's platform is planned first: its outputs answer the tenant's StackReference.
    const { result } = await runStack(stack, { config, secretKeys });
    const dir = writePlan(result, path.resolve(flags.out ?? "out"));
    console.log(summarize(result));
    console.log(`wrote ${path.relative(process.cwd(), dir) || dir}/plan.json and manifests/`);
    return 0;
}

runTool(main);
