/**
 * `npm run lifecycle -- --stack <s> --from <config file> --to <config file> [--restart-all] [--renew-certificates]`
 *
 * Starts the stack's servers as the `--from` config renders them, applies the change to `--to` the way `pulumi up`,
 * Kubernetes, External Secrets and cert-manager would (cli/lifecycle/harness.ts), optionally restarts every Redis
 * pod at once afterwards or lets cert-manager renew the certificates, and prints one JSON line per event and a last
 * line `lifecycle: N events, F failed connections, L lost writes`. Exit 1 on any failure or bad input.
 */
import { ConfigError } from "../components/config";
import { parseFlags } from "./args";
import { Lifecycle, LifecycleSummary } from "../tools/lifecycle/harness";
import { LifecycleInputError, assertSameStack, planOf, readStack } from "../tools/lifecycle/plan";

const USAGE =
    "usage: npm run lifecycle -- --stack <name> --from <config file> --to <config file> [--restart-all] [--renew-certificates]";

/** The last line: counts, then what failed (one line each). */
export function renderSummary(s: LifecycleSummary): string {
    const head = `lifecycle: ${s.events} events, ${s.failedConnections} failed connections, ${s.lostWrites} lost writes`;
    return s.otherFailures > 0 ? `${head}, ${s.otherFailures} other failures` : head;
}

async function main(argv: string[]): Promise<number> {
    const switches = ["--restart-all", "--renew-certificates"];
    const { flags, positional } = parseFlags(
        argv.filter((a) => !switches.includes(a)),
        ["stack", "from", "to"],
    );
    if (!flags.stack || !flags.from || !flags.to || positional.length > 0) {
        throw new LifecycleInputError(USAGE);
    }
    // Both files are checked before any program runs or server starts.
    const [from, to] = [readStack(flags.stack, flags.from), readStack(flags.stack, flags.to)];
    assertSameStack(from, to);
    const before = await planOf(from);
    const after = await planOf(to);
    const lifecycle = await Lifecycle.start(before, { onEvent: (e) => console.log(JSON.stringify(e)) });
    try {
        await lifecycle.apply(after);
        if (argv.includes("--renew-certificates")) {
            await lifecycle.renewCertificates();
        }
        if (argv.includes("--restart-all")) {
            await lifecycle.restartAll();
        }
    } finally {
        const summary = lifecycle.summary();
        await lifecycle.stop();
        console.log(renderSummary(summary));
        for (const f of summary.failures) {
            console.error(f);
        }
        process.exitCode = summary.failures.length > 0 ? 1 : 0;
    }
    return process.exitCode;
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => process.exit(code),
        (err) => {
            const known = err instanceof LifecycleInputError || err instanceof ConfigError;
            console.error(known ? `lifecycle: ${err.message}` : err instanceof Error ? err.stack : String(err));
            process.exit(1);
        },
    );
}
