/**
 * Runs a synchronous command-line script (one that reports through `process.exitCode`, such as
 * cli/planDiff.ts) many times in ONE child process: each call sets `process.argv`, loads the script afresh
 * and returns its exit code and output. It saves a ts-node start (about half a CPU second) per call; a test
 * that must show the exit status of a real process spawns the script itself.
 */
import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import * as readline from "readline";

const ROOT = path.resolve(__dirname, "..", "..");

export interface ScriptRun {
    readonly status: number;
    /** stdout and stderr, interleaved as written. */
    readonly out: string;
}

interface Request {
    readonly script: string;
    readonly args: readonly string[];
}

/** The child's side: one JSON request per stdin line, one JSON `ScriptRun` per stdout line. */
function serve(): void {
    const reply = process.stdout.write.bind(process.stdout);
    const lines = readline.createInterface({ input: process.stdin });
    lines.on("line", (line) => {
        const { script, args } = JSON.parse(line) as Request;
        const file = require.resolve(path.resolve(ROOT, script));
        let out = "";
        const capture = (chunk: string | Uint8Array) => {
            out += chunk.toString();
            return true;
        };
        const stderr = process.stderr.write.bind(process.stderr);
        process.stdout.write = capture as typeof process.stdout.write;
        process.stderr.write = capture as typeof process.stderr.write;
        process.argv = [process.execPath, file, ...args];
        process.exitCode = undefined;
        try {
            delete require.cache[file];
            // Loading the script is running it: a computed path, evaluated afresh for every call.
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            require(file);
        } catch (err) {
            out += `script threw: ${err instanceof Error ? err.stack : String(err)}\n`;
            process.exitCode = 99;
        } finally {
            process.stdout.write = reply;
            process.stderr.write = stderr;
        }
        const run: ScriptRun = { status: Number(process.exitCode ?? 0), out };
        process.exitCode = undefined;
        reply(`${JSON.stringify(run)}\n`);
    });
}

export class ScriptHost {
    private readonly pending: { resolve: (run: ScriptRun) => void; reject: (err: Error) => void }[] = [];
    private readonly child: ChildProcess;
    private stderr = "";

    constructor() {
        this.child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", __filename], {
            cwd: ROOT,
            stdio: ["pipe", "pipe", "pipe"],
        });
        readline.createInterface({ input: this.child.stdout! }).on("line", (line) => {
            this.pending.shift()?.resolve(JSON.parse(line) as ScriptRun);
        });
        this.child.stderr!.on("data", (d) => {
            this.stderr += d;
        });
        this.child.on("exit", (code) => {
            for (const { reject } of this.pending.splice(0)) {
                reject(new Error(`script host exited with ${code}: ${this.stderr}`));
            }
        });
    }

    /** Runs `script` (relative to the repository) with `args`, as `node -r ts-node/register <script> <args>` would. */
    run(script: string, ...args: string[]): Promise<ScriptRun> {
        return new Promise((resolve, reject) => {
            if (this.child.exitCode !== null) {
                reject(new Error(`script host exited with ${this.child.exitCode}: ${this.stderr}`));
                return;
            }
            this.pending.push({ resolve, reject });
            this.child.stdin!.write(`${JSON.stringify({ script, args } satisfies Request)}\n`);
        });
    }

    stop(): void {
        this.child.stdin!.end();
        this.child.kill();
    }
}

if (require.main === module) {
    serve();
}
