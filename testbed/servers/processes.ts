/**
 * A small process supervisor for the sandbox, the integration tests and the failover bench: named child
 * processes with one log file each, signals, stop-and-wait, polling, and loopback ports leased per process.
 */
import { ChildProcess, execFile, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";

export const LOOPBACK = "127.0.0.1";

/** Throws (never skips) when a command is not installed; `hint` says how to install it. */
export function requireCommands(commands: readonly string[], hint: string): void {
    for (const command of commands) {
        try {
            execFileSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" });
        } catch {
            throw new Error(`${command} is not installed (${hint})`);
        }
    }
}

/**
 * Where the ports come from: below the OS's ephemeral range (`ip_local_port_range`). listen(0) hands a port just
 * released to the next process that asks, and outgoing connections draw from that range too, so a port taken from it
 * could be another server's before a start script got to bind it.
 */
const PORTS_FIRST = 20_000;
const PORTS_END = Math.min(ephemeralPortsFirst(), 32_768);
/**
 * One entry per leased port (a link to its process's holder file), shared by this user's processes (another user's
 * server on a port shows when it is bound: `bindable`).
 */
export const PORT_LEASES = path.join(os.tmpdir(), `data-platform-ports-${os.userInfo().uid}`);
const leased: string[] = [];
process.once("exit", () => leased.forEach((file) => fs.rmSync(file, { force: true })));

function ephemeralPortsFirst(): number {
    try {
        return Number(fs.readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    } catch {
        return 32_768;
    }
}

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (err) {
        return (err as NodeJS.ErrnoException).code === "EPERM";
    }
}

/** This process's id in a file, hard-linked as each lease: a lease appears whole, with its holder, or not at all. */
let holderFile: string | undefined;

/** Holder files of processes killed before their exit handler ran, once no lease links to them. */
function removeStaleHolders(): void {
    for (const name of fs.readdirSync(PORT_LEASES)) {
        const file = path.join(PORT_LEASES, name);
        const pid = Number(/^\.holder-(\d+)$/.exec(name)?.[1]);
        if (pid && !alive(pid) && fs.statSync(file, { throwIfNoEntry: false })?.nlink === 1) {
            fs.rmSync(file, { force: true });
        }
    }
}

/**
 * Takes the lease of `port` for this process; false when another process holds it. A lease whose process is gone
 * (killed before its exit handler ran) is removed, and the port is left for a later call.
 */
export function leasePort(port: number): boolean {
    if (!holderFile) {
        fs.mkdirSync(PORT_LEASES, { recursive: true });
        removeStaleHolders();
        holderFile = path.join(PORT_LEASES, `.holder-${process.pid}`);
        // A new file: one left by a killed process of the same pid may still be linked as its leases.
        fs.rmSync(holderFile, { force: true });
        fs.writeFileSync(holderFile, String(process.pid));
        leased.push(holderFile);
    }
    const file = path.join(PORT_LEASES, String(port));
    try {
        fs.linkSync(holderFile, file);
        leased.push(file);
        return true;
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") {
            throw err;
        }
    }
    let holder: number;
    try {
        holder = Number(fs.readFileSync(file, "utf8"));
    } catch {
        return false; // gone meanwhile, its holder exited: the port is left for a later call too
    }
    if (!alive(holder)) {
        fs.rmSync(file, { force: true });
    }
    return false;
}

function bindable(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const server = net.createServer();
        server.once("error", () => resolve(false));
        server.listen(port, LOOPBACK, () => server.close(() => resolve(true)));
    });
}

/**
 * `count` distinct loopback ports no other process of the sandbox or the tests holds, each leased to this process until
 * it exits (several sessions and mocha's workers run servers on this machine at once, so no port is ever fixed).
 */
export async function freePorts(count: number): Promise<number[]> {
    const size = PORTS_END - PORTS_FIRST;
    const start = Math.floor(Math.random() * size);
    const ports: number[] = [];
    for (let i = 0; i < size && ports.length < count; i++) {
        const port = PORTS_FIRST + ((start + i) % size);
        // A port some other program bound stays leased, so this user's processes do not try it again.
        if (leasePort(port) && (await bindable(port))) {
            ports.push(port);
        }
    }
    if (ports.length < count) {
        throw new Error(`no ${count} free ports between ${PORTS_FIRST} and ${PORTS_END} (leases in ${PORT_LEASES})`);
    }
    return ports;
}

/** Polls `check` until it returns a value or `timeoutMs` passes. */
export async function waitFor<T>(
    what: string,
    timeoutMs: number,
    check: () => Promise<T | undefined>,
    intervalMs = 200,
): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = await check();
        if (value !== undefined) {
            return value;
        }
        if (Date.now() > deadline) {
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        }
        await sleep(intervalMs);
    }
}

export function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}

/** Runs a shell script to completion; its exit code and combined output (never throws). */
export function runShellScript(
    file: string,
    env: Readonly<Record<string, string>>,
    timeoutMs = 120_000,
): Promise<{ code: number; output: string }> {
    return new Promise((resolve) => {
        execFile(
            "sh",
            [file],
            { env: { ...process.env, ...env }, encoding: "utf8", timeout: timeoutMs },
            (error, stdout, stderr) =>
                resolve({
                    code: error ? (typeof error.code === "number" ? error.code : 1) : 0,
                    output: `${stdout}${stderr}`,
                }),
        );
    });
}

/** Named child processes, each appending stdout and stderr to `<logDir>/<name>.log`. */
export class Supervisor {
    private readonly children = new Map<string, ChildProcess>();
    private closing = false;

    /** True once `stopAll` began: nothing is to be started again. */
    get closed(): boolean {
        return this.closing;
    }

    constructor(private readonly logDir: string) {}

    /** Starts `command`; a process of the same name that still runs must be stopped first. */
    start(name: string, command: string, args: readonly string[], env: Readonly<Record<string, string>>): ChildProcess {
        if (this.pid(name) !== undefined) {
            throw new Error(`${name} is already running`);
        }
        fs.mkdirSync(this.logDir, { recursive: true });
        const log = fs.openSync(this.logFile(name), "a");
        const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ["ignore", log, log] });
        fs.closeSync(log);
        this.children.set(name, child);
        return child;
    }

    /** The pid while the process runs. */
    pid(name: string): number | undefined {
        const child = this.children.get(name);
        return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
    }

    signal(name: string, signal: NodeJS.Signals): void {
        const pid = this.pid(name);
        if (pid === undefined) {
            throw new Error(`${name} is not running`);
        }
        process.kill(pid, signal);
    }

    /** Sends `signal` and waits until the process is gone (SIGKILL after 20 s). */
    async stop(name: string, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
        const child = this.children.get(name);
        if (child) {
            await stopChild(child, signal);
        }
    }

    async stopAll(): Promise<void> {
        this.closing = true;
        await Promise.all([...this.children.values()].map((child) => stopChild(child, "SIGKILL")));
        this.children.clear();
    }

    log(name: string): string {
        try {
            return fs.readFileSync(this.logFile(name), "utf8");
        } catch {
            return "";
        }
    }

    private logFile(name: string): string {
        return path.join(this.logDir, `${name}.log`);
    }
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) {
        return;
    }
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill(signal);
    // A stopped (SIGSTOP) process must run again to act on anything but SIGKILL.
    child.kill("SIGCONT");
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    await exited;
    clearTimeout(timer);
}
