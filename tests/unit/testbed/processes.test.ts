/** The sandbox's process supervisor and script runner (testbed/servers/processes.ts), and the test kit's temp directories. */
import { strict as assert } from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PORT_LEASES, Supervisor, leasePort, runShellScript, waitFor } from "../../../testbed/servers/processes";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dp-processes-"));

function script(name: string, body: string): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, body);
    return file;
}

/** The state letter of a process in /proc (R, S, T...), or undefined once it is gone. */
function processState(pid: number): string | undefined {
    try {
        return fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1][0];
    } catch {
        return undefined;
    }
}

/** Runs `code` in a fresh Node process that can load the project's TypeScript; its stdout. */
function runNode(code: string): string {
    const run = spawnSync(process.execPath, ["-r", "./tests/support/register.cjs", "-e", code], {
        cwd: ROOT,
        encoding: "utf8",
        timeout: 20_000,
    });
    assert.equal(run.status, 0, `node exited ${run.status ?? run.signal}: ${run.stderr}`);
    return run.stdout;
}

/**
 * Starts `code` in a fresh Node process like `runNode`, kept alive until `end`: several such processes hold what they
 * took at once. `report` is the JSON line it prints.
 */
function holdingNode<T>(code: string) {
    const child = spawn(
        process.execPath,
        ["-r", "./tests/support/register.cjs", "-e", `${code}; process.stdin.resume();`],
        {
            cwd: ROOT,
        },
    );
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const report = new Promise<T>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (d: Buffer) => {
            out += d.toString();
            if (out.endsWith("\n")) {
                resolve(JSON.parse(out) as T);
            }
        });
        child.once("exit", (code) => reject(new Error(`exited ${code} before its report`)));
    });
    return {
        pid: child.pid,
        report,
        /** Lets it exit, its exit handlers run; with `signal`, kills it (they do not). */
        end: (signal?: NodeJS.Signals): Promise<void> => {
            if (signal) {
                child.kill(signal);
            } else {
                child.stdin.end();
            }
            return exited;
        },
    };
}

describe("sandbox processes", () => {
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("runs a script to completion: its exit code and output, stdout then stderr", async () => {
        const file = script("exit3.sh", 'echo err >&2\necho "out $GREETING"\nexit 3\n');
        assert.deepEqual(await runShellScript(file, { GREETING: "hello" }), { code: 3, output: "out hello\nerr\n" });
    });

    it("stops a script at its time limit and reports it failed", async () => {
        const started = Date.now();
        const r = await runShellScript(script("slow.sh", "sleep 30\n"), {}, 300);
        assert.equal(r.code, 1);
        assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
    });

    it("supervises a process: its log, its pid, signals, and stop", async () => {
        const supervisor = new Supervisor(path.join(dir, "logs"));
        supervisor.start("sleeper", "sh", ["-c", 'echo "started $ROLE"; exec sleep 30'], { ROLE: "replica" });
        assert.throws(() => supervisor.start("sleeper", "sleep", ["1"], {}), /already running/);
        const pid = await waitFor("its pid", 5000, async () => supervisor.pid("sleeper"));
        await waitFor("its log line", 5000, async () =>
            supervisor.log("sleeper").includes("started replica") ? true : undefined,
        );
        supervisor.signal("sleeper", "SIGSTOP");
        await waitFor("the process stopped", 5000, async () => (processState(pid) === "T" ? true : undefined));
        supervisor.signal("sleeper", "SIGCONT");
        await waitFor("the process running again", 5000, async () => (processState(pid) !== "T" ? true : undefined));
        await supervisor.stop("sleeper", "SIGTERM");
        assert.equal(supervisor.pid("sleeper"), undefined);
        assert.equal(processState(pid), undefined, "the process is still there after stop");
        assert.throws(() => supervisor.signal("sleeper", "SIGTERM"), /not running/);
    });

    it("keeps a process alive while a script it runs has not finished, and no longer", () => {
        const file = script("late.sh", "sleep 0.5\necho done\n");
        const out = runNode(
            `require("./testbed/servers/processes").runShellScript(${JSON.stringify(file)}, {})` +
                ".then((r) => console.log(JSON.stringify(r)))",
        );
        assert.deepEqual(JSON.parse(out), { code: 0, output: "done\n" });
    });
});

describe("the test kit's temporary directories", () => {
    it("the lifecycle stack variants and a staged policy pack are removed when their process exits", () => {
        const out = runNode(
            `const fs = require("fs");` +
                `const made = [require("./tests/support/lifecycle").stackVariant("dev"), require("./tests/support/policyAnalyzer").stagePack("export {};")];` +
                `console.log(JSON.stringify(made.map((p) => [p, fs.existsSync(p)])));`,
        );
        const made = JSON.parse(out) as [string, boolean][];
        assert.equal(made.length, 2);
        for (const [file, existed] of made) {
            assert.ok(existed, `${file} was not made`);
            assert.equal(fs.existsSync(file), false, `${file} is left behind`);
        }
    });
});

describe("ports for the sandbox's servers", () => {
    it("two processes asking at once get disjoint ports, none from the OS's ephemeral range, leased until they exit", async () => {
        // Each holds its ports unbound, as the sandbox does while a start script runs. The OS's listen(0) hands a
        // port just released to the next process that asks (1 of 40 pairs of fresh processes shared one here), and
        // outgoing connections draw from the same range.
        const children = [0, 1].map(() =>
            holdingNode<number[]>(
                `const { freePorts } = require("./testbed/servers/processes");` +
                    `(async () => { const got = []; for (let i = 0; i < 30; i++) got.push(...(await freePorts(7)));` +
                    ` console.log(JSON.stringify(got)); })()`,
            ),
        );
        const [a, b] = await Promise.all(children.map((c) => c.report));
        await Promise.all(children.map((c) => c.end()));
        assert.equal(new Set(a).size, a.length, "one process got a port twice");
        assert.deepEqual(
            a.filter((p) => b.includes(p)),
            [],
        );
        const ephemeralFirst = Number(
            fs.readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").split(/\s+/)[0],
        );
        assert.deepEqual(
            [...a, ...b].filter((p) => p >= ephemeralFirst),
            [],
        );
        assert.deepEqual(
            [...a, ...b].filter((p) => fs.existsSync(path.join(PORT_LEASES, String(p)))),
            [],
            "leases outlive their process",
        );
    });

    it("a lease left by a killed process is removed when a port is next asked for, and the port leased again", async () => {
        const child = holdingNode<number[]>(
            `require("./testbed/servers/processes").freePorts(3).then((p) => console.log(JSON.stringify(p)))`,
        );
        const ports = await child.report;
        await child.end("SIGKILL");
        assert.deepEqual(
            ports.filter((p) => !fs.existsSync(path.join(PORT_LEASES, String(p)))),
            [],
            "a killed process ran no exit handler",
        );
        assert.deepEqual(
            ports.map((p) => [leasePort(p), leasePort(p)]),
            ports.map(() => [false, true]),
        );
        // Its holder file goes too, once nothing links to it (when the next process takes its first lease).
        const holder = path.join(PORT_LEASES, `.holder-${child.pid}`);
        assert.ok(fs.existsSync(holder), "no holder file of the killed process");
        runNode(`require("./testbed/servers/processes").leasePort(${ports[0]});`);
        assert.equal(fs.existsSync(holder), false, "the killed process's holder file is left behind");
    });
});
