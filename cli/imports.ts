/**
 * `npm run imports -- --stack <name> --subscription <id> [--config-file <file>]`
 * Prints the `data-platform:imports` block that makes a re-created stack take over what `pulumi destroy` left
 * (README "Teardown and re-creation"): every resource the stack retains on delete, with its id.
 */
import { runProgram } from "../offline/mockEngine";
import { loadStackConfig, stackFile } from "../offline/stackConfig";
import { importsBlock } from "../offline/teardown";
import { parseFlags, runTool } from "./args";

async function main(): Promise<number> {
    const { flags } = parseFlags(process.argv.slice(2), ["stack", "subscription", "config-file"]);
    const { stack, subscription } = flags;
    if (!stack || !subscription || !/^[0-9a-f-]{36}$/i.test(subscription)) {
        console.error(
            "usage: npm run imports -- --stack <name> --subscription <subscription id (a UUID)> [--config-file <file>]",
        );
        return 2;
    }
    const { config, secretKeys } = loadStackConfig(stack, flags["config-file"] ?? stackFile(stack));
    process.stdout.write(importsBlock(await runProgram({ stack, config, secretKeys }), subscription));
    return 0;
}

runTool(main);
