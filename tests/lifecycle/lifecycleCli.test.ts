/**
 * `npm run lifecycle` as a user runs it: bad input gets one clear message and exit 1 before any server starts; a run
 * prints one JSON line per event and the summary line last.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { ROOT, stackFile } from "../../offline/stackConfig";
import { stackVariant } from "../support/lifecycle";

function lifecycle(args: string[]): { code: number | null; stdout: string; stderr: string } {
    const r = spawnSync(
        process.execPath,
        [require.resolve("ts-node/dist/bin"), "--transpile-only", "cli/lifecycle.ts", ...args],
        { cwd: ROOT, encoding: "utf8", timeout: 180_000 },
    );
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("npm run lifecycle", function () {
    this.timeout(180_000);

    it("refuses two files that are not the same stack before and after", () => {
        const r = lifecycle([
            "--stack",
            "prod",
            "--from",
            stackFile("prod"),
            "--to",
            stackVariant("prod", (c) => {
                c["data-platform:redis"] = { ...c["data-platform:redis"], mode: "standalone" };
            }),
        ]);
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /are not the same stack before and after a change/);
        assert.match(r.stderr, /redis\.mode: "sentinel" in .*Pulumi\.prod\.yaml, "standalone" in /);
        assert.equal(r.stdout, "");
    });

    it("refuses a config error, naming the file and the key", () => {
        const bad = stackVariant("prod", (c) => {
            c["data-platform:redis"] = { ...c["data-platform:redis"], quorum: 0 };
        });
        const r = lifecycle(["--stack", "prod", "--from", stackFile("prod"), "--to", bad]);
        assert.equal(r.code, 1, r.stderr);
        assert.ok(r.stderr.includes(`${bad}: invalid configuration for stack prod`), r.stderr);
        assert.match(r.stderr, /data-platform:redis\.quorum/);
    });

    it("refuses a missing file and missing flags with the usage", () => {
        const missing = lifecycle(["--stack", "prod", "--from", "/nonexistent.yaml", "--to", stackFile("prod")]);
        assert.equal(missing.code, 1);
        assert.match(missing.stderr, /\/nonexistent\.yaml: cannot be read as a stack file/);
        const usage = lifecycle(["--stack", "prod"]);
        assert.equal(usage.code, 1);
        assert.match(
            usage.stderr,
            /usage: npm run lifecycle -- --stack <name> --from <config file> --to <config file>/,
        );
    });

    it("runs an unchanged dev stack: one JSON line per event, then the summary, exit 0", () => {
        const r = lifecycle(["--stack", "dev", "--from", stackFile("dev"), "--to", stackFile("dev")]);
        const lines = r.stdout.trim().split("\n");
        const last = lines.pop();
        assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
        assert.equal(last, `lifecycle: ${lines.length} events, 0 failed connections, 0 lost writes`);
        for (const line of lines) {
            const event = JSON.parse(line);
            assert.deepEqual(event.failures, [], line);
            assert.equal(typeof event.at, "number");
        }
    });
});
