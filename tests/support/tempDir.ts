/** Temporary directories of the test kit that outlive one test: each removed when its process exits. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const made: string[] = [];
process.once("exit", () => made.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

/** A new directory under the OS temp dir, removed when this process exits (mocha's workers exit cleanly). */
export function processTempDir(prefix: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    made.push(dir);
    return dir;
}
