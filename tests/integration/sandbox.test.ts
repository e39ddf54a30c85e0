import * as assert from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT } from "../../engine/stackConfig";

interface SandboxInfo {
    stack: string;
    processes: { service: string; role: string; port: number; pid: number }[];
    envFiles: Record<string, string>;
}

/** Starts `npm run sandbox`'s program and resolves with its JSON line. */
function startSandbox(args: string[]): Promise<{ child: ChildProcess; info: SandboxInfo }> {
    const child = spawn(
        process.execPath,
        [require.resolve("ts-node/dist/bin"), "--transpile-only", "tools/sandbox.ts", ...args],
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

function parseEnvFile(file: string): Record<string, string> {
    return Object.fromEntries(
        fs
            .readFileSync(file, "utf8")
            .trim()
            .split("\n")
            .map((line) => {
                const match = /^([A-Z_]+)='([^']*)'$/.exec(line);
                assert.ok(match, `malformed env line: ${line}`);
                return [match[1], match[2]];
            }),
    );
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

async function stopAndCheck(child: ChildProcess, info: SandboxInfo): Promise<void> {
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
const APP_SCRIPT = `
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

describe("npm run sandbox", function () {
    this.timeout(300_000);
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "sandbox-test-"));
    after(() => fs.rmSync(out, { recursive: true, force: true }));

    it("dev: starts PostgreSQL and standalone Redis; each application connects with nothing but its env file; stops cleanly", async () => {
        const { child, info } = await startSandbox([
            "--stack",
            "dev",
            "--out",
            out,
            "--postgres-port",
            "26532",
            "--redis-port",
            "27980",
        ]);
        try {
            assert.deepStrictEqual(info.processes.map((p) => `${p.service}/${p.role}`).sort(), [
                "postgres/primary",
                "redis/data",
            ]);
            assert.deepStrictEqual(Object.keys(info.envFiles).sort(), ["billing", "orders"]);
            for (const [app, file] of Object.entries(info.envFiles)) {
                assert.strictEqual(file, path.join(out, "dev", "sandbox", `${app}.env`));
                const env = parseEnvFile(file);
                const key = app === "billing" ? "billing:sandbox" : "sandbox";
                const run = spawnSync(process.execPath, ["-e", APP_SCRIPT], {
                    cwd: ROOT,
                    env: { PATH: process.env.PATH, ...env, KEY: key },
                    encoding: "utf8",
                    timeout: 60_000,
                });
                assert.strictEqual(run.status, 0, `${app}: ${run.stderr}`);
                assert.deepStrictEqual(JSON.parse(run.stdout), { user: env.DB_USER, db: env.DB_NAME, redis: "v" });
            }
        } finally {
            await stopAndCheck(child, info);
        }
    });

    it("prod: starts the Sentinel group (3 data nodes, 3 Sentinels) with TLS beside PostgreSQL, and writes the Sentinel contract", async () => {
        const { child, info } = await startSandbox([
            "--stack",
            "prod",
            "--out",
            out,
            "--postgres-port",
            "26533",
            "--redis-port",
            "27990",
        ]);
        try {
            const roles = info.processes.map((p) => `${p.service}/${p.role}`).sort();
            assert.deepStrictEqual(roles, [
                "postgres/primary",
                "redis/data",
                "redis/data",
                "redis/data",
                "redis/sentinel",
                "redis/sentinel",
                "redis/sentinel",
            ]);
            for (const file of Object.values(info.envFiles)) {
                const env = parseEnvFile(file);
                assert.ok(env.REDIS_SENTINEL_HOSTS.split(",").length === 3, env.REDIS_SENTINEL_HOSTS);
                assert.strictEqual(env.REDIS_TLS, "true");
                assert.ok(fs.existsSync(env.REDIS_TLS_CA_FILE));
                assert.match(env.DATABASE_URL, /^postgresql:\/\/[^:]+:[^@]+@127\.0\.0\.1:26533\/\w+\?sslmode=require$/);
            }
        } finally {
            await stopAndCheck(child, info);
        }
    });
});
