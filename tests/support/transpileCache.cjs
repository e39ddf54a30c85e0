/**
 * A ts-node transpiler (the `transpiler` option, transpile-only) that keeps each file's output on disk, keyed by
 * its source, name, compiler options and TypeScript version: the mocha workers and every ts-node process the
 * tests start (plan, bench, sandbox, lifecycle CLIs) transpile each file once instead of once per process. The
 * output is TypeScript's `transpileModule`, as ts-node's transpile-only mode emits it for CommonJS. Plain CommonJS:
 * ts-node loads it before it can load TS.
 */
const crypto = require("crypto");
const fs = require("fs");
const os = require("os");
const path = require("path");
const { threadId } = require("worker_threads");

const ROOT = path.resolve(__dirname, "..", "..");
// Per checkout (a fresh clone starts cold); outside node_modules, which worktrees may share.
const DIR = path.join(
    os.tmpdir(),
    `ts-transpile-${crypto.createHash("sha256").update(ROOT).digest("hex").slice(0, 12)}`,
);

exports.create = ({ service, nodeModuleEmitKind }) => {
    const ts = require(service.projectLocalResolveHelper(service.options.compiler ?? "typescript", true));
    const { options } = service.config;
    const settings = JSON.stringify([ts.version, options, nodeModuleEmitKind ?? null]);
    fs.mkdirSync(DIR, { recursive: true });
    return {
        transpile(code, { fileName }) {
            const key = crypto.createHash("sha256").update(settings).update("\0").update(fileName).update("\0");
            const file = path.join(DIR, `${key.update(code).digest("hex")}.json`);
            try {
                return JSON.parse(fs.readFileSync(file, "utf8"));
            } catch {
                // Not cached yet: transpile.
            }
            const { outputText, sourceMapText, diagnostics } = ts.transpileModule(code, {
                fileName,
                compilerOptions: options,
                reportDiagnostics: true,
            });
            if (diagnostics?.length) {
                return { outputText, sourceMapText, diagnostics };
            }
            // Processes and threads may transpile one file at once: each writes its own file, the rename is atomic.
            const tmp = `${file}.${process.pid}.${threadId}.tmp`;
            fs.writeFileSync(tmp, JSON.stringify({ outputText, sourceMapText }));
            fs.renameSync(tmp, file);
            return { outputText, sourceMapText };
        },
    };
};
