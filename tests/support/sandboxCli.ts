/** Runs `npm run sandbox`'s program as a user would, reads what it prints and writes, and checks it stops cleanly. */
import * as assert from "assert";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import { ROOT } from "../../offline/stackConfig";

export interface SandboxInfo {
    stack: string;
    processes: { service: string; role: string; port: number; pid: number }[];
    envFiles: Record<string, string>;
}

/** Starts `npm run sandbox`'s program and resolves with its JSON line. */
export function startSandbox(args: string[]): Promise<{ child: ChildProcess; info: SandboxInfo }> {
    const child = spawn(
        process.execPath,
        [require.resolve("ts-node/dist/bin"), "--transpile-only", "cli/sandbox.ts", ...args],
        { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`sandbox did not start in time:\n${stderr}`)), 120_000);
        child.stderr!.on("data", (d) => (stderr += d));
        child.stdout!.on("data", (d) => {
            stdout += d;
            const line = stdout.split("\n").find((l) => l.startsWith("{"));
            if (line) {
                clearTimeout(timer);
                resolve({ child, info: JSON.parse(line) });
            }
        });
        child.on("exit", (code) => {
            clearTimeout(timer);
            reject(new Error(`sandbox exited with ${code} before starting:\n${stderr}`));
        });
    });
}

/**
 * Reads `KEY='value'` entries (a value may span lines, as a PEM does); anything else fails. A key may be any Secret
 * key name (`apps[].env`: `postgres-password`).
 */
export function parseEnvFile(file: string): Record<string, string> {
    const text = fs.readFileSync(file, "utf8");
    const entries = [...text.matchAll(/([A-Za-z0-9_.-]+)='([^']*)'\n/g)];
    assert.equal(entries.map((m) => m[0]).join(""), text, `${file}: every line belongs to a KEY='value' entry`);
    return Object.fromEntries(entries.map((m) => [m[1], m[2]]));
}

/** True while `pid` runs; an exited process that its (re-)parent has not reaped yet (a zombie) counts as gone. */
function alive(pid: number): boolean {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
    } catch {
        return false;
    }
}

export async function stopAndCheck(child: ChildProcess, info: SandboxInfo): Promise<void> {
    const exited = new Promise<string>((resolve) =>
        child.on("exit", (code, signal) => resolve(`code ${code}, signal ${signal}`)),
    );
    child.kill("SIGTERM");
    assert.strictEqual(await exited, "code 0, signal null", "the sandbox exits 0 on SIGTERM");
    for (const p of info.processes) {
        assert.ok(!alive(p.pid), `${p.service} ${p.role} (pid ${p.pid}) still runs after the sandbox stopped`);
    }
}

/** What an application does with its env file: connect to both services and round-trip a value. */
export const APP_SCRIPT = `
const { Client } = require("pg");
const Redis = require("ioredis");
(async () => {
  const pg = new Client({ connectionString: process.env.DATABASE_URL });
  await pg.connect();
  const { rows } = await pg.query("select current_user as u, current_database() as d");
  await pg.end();
  const redis = new Redis(process.env.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  await redis.set(process.env.KEY, "v");
  const v = await redis.get(process.env.KEY);
  redis.disconnect();
  console.log(JSON.stringify({ user: rows[0].u, db: rows[0].d, redis: v }));
})().catch((e) => { console.error(e.message); process.exit(1); });
`;
