/** Minimal `--flag value` parsing for the command-line tools. */
export function parseFlags(
    argv: readonly string[],
    known: readonly string[],
): { flags: Record<string, string>; positional: string[] } {
    const flags: Record<string, string> = {};
    const positional: string[] = [];
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (!arg.startsWith("--")) {
            positional.push(arg);
            continue;
        }
        const [key, inline] = arg.slice(2).split("=", 2);
        if (!known.includes(key)) {
            throw new Error(`unknown option --${key}; known: ${known.map((k) => `--${k}`).join(", ")}`);
        }
        const value = inline ?? argv[++i];
        if (value === undefined) {
            throw new Error(`--${key} needs a value`);
        }
        flags[key] = value;
    }
    return { flags, positional };
}

/**
 * Runs a tool's `main` and exits with its code. An error (a config error included: its message lists every problem,
 * one per line) prints its message and exits 1.
 */
export function runTool(main: () => Promise<number>): void {
    main().then(
        (code) => process.exit(code),
        (err) => {
            console.error(err instanceof Error ? err.message : err);
            process.exit(1);
        },
    );
}
