/**
 * The consumer matrix: the clients the seed applications use, each given nothing but one application's contract
 * as the sandbox writes it (`out/<stack>/sandbox/<app>.env`), against the stack's sandbox on loopback (started once
 * per stack with the sandbox command's own checks, see `describeSandbox`).
 * Python clients here are Debian's (`/usr/bin/python3` with python3-psycopg2, -sqlalchemy, -redis, -celery, -kombu);
 * today's libraries are in consumersCurrent.ts, which each stack's test file adds to the same sandbox.
 */
import { strict as assert } from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { contractKeys, contractShape } from "../../components/envContract";
import { ROOT } from "../../offline/stackConfig";
import { PG_BIN } from "../../testbed/servers/postgres";
import { appRules } from "../../components/redis/acl";
import { celeryFanoutChannels } from "../../components/redis/clients";
import { parseStack } from "./config";
import { SandboxInfo, parseEnvFile, startSandbox, stopAndCheck } from "./sandboxCli";
import { SEED_003_DB_POOL } from "./seeds";

export const PYTHON = "/usr/bin/python3";
/** The application whose contract every row uses (no key patterns: Celery's own keys need all of its database). */
export const MATRIX_APP = "orders";

/** A running sandbox and one application's contract from it, plus files a pod would mount from the Secret. */
export interface ConsumerStack {
    readonly stack: string;
    /** What the sandbox printed (its processes and env files), and the `--out` directory it wrote to. */
    readonly info: SandboxInfo;
    readonly out: string;
    /** Exactly the contract keys, nothing the sandbox adds for its own tests. */
    readonly env: Record<string, string>;
    /** A contract key's value written to a file, as a Secret volume would mount it (libpq and redis-py want paths). */
    file(key: string): string;
    stop(): Promise<void>;
}

export async function startConsumerStack(stack: string): Promise<ConsumerStack> {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), `consumers-${stack}-`));
    let started: { child: ChildProcess; info: SandboxInfo };
    try {
        started = await startSandbox(["--stack", stack, "--out", out]);
    } catch (err) {
        fs.rmSync(out, { recursive: true, force: true });
        throw err;
    }
    const written = parseEnvFile(started.info.envFiles[MATRIX_APP]);
    const keys = contractKeys(contractShape(parseStack(stack)));
    const missing = keys.filter((k) => written[k] === undefined);
    assert.deepEqual(missing, [], `${stack}: the sandbox writes every contract key`);
    const env = Object.fromEntries(keys.map((k) => [k, written[k]]));
    const mounted = path.join(out, "secret");
    fs.mkdirSync(mounted);
    return {
        stack,
        info: started.info,
        out,
        env,
        file(key: string) {
            assert.ok(env[key], `${stack}: the contract has ${key}`);
            const file = path.join(mounted, key);
            fs.writeFileSync(file, env[key], { mode: 0o600 });
            return file;
        },
        async stop() {
            try {
                await stopAndCheck(started.child, started.info);
            } finally {
                fs.rmSync(out, { recursive: true, force: true });
            }
        },
    };
}

export interface RunResult {
    readonly stdout: string;
    readonly stderr: string;
}

/** Runs a client process with the contract (and `extra`) as its whole environment; a non-zero exit fails. */
export function run(cmd: string, args: string[], env: Record<string, string>, timeout = 60_000): RunResult {
    const result = spawnSync(cmd, args, {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
        encoding: "utf8",
        timeout,
    });
    assert.equal(result.error, undefined, `${cmd}: ${result.error}`);
    assert.equal(result.status, 0, `${cmd} exited ${result.status}:\n${result.stderr}\n${result.stdout}`);
    return { stdout: result.stdout.trim(), stderr: result.stderr };
}

export function python(script: string, env: Record<string, string>, timeout?: number): RunResult {
    assert.ok(fs.existsSync(PYTHON), `${PYTHON} is missing (apt-get install python3)`);
    return run(PYTHON, ["-c", script], env, timeout);
}

export function node(script: string, env: Record<string, string>): RunResult {
    return run(process.execPath, ["-e", script], env);
}

export function psql(conninfo: string, sql: string, env: Record<string, string>): string {
    return run(path.join(PG_BIN, "psql"), ["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", conninfo, "-c", sql], env)
        .stdout;
}

/** `url` with libpq parameters set (an application's own choice, e.g. `sslmode=verify-full`). */
export function withParams(url: string, params: Record<string, string>): string {
    const u = new URL(url);
    for (const [k, v] of Object.entries(params)) {
        u.searchParams.set(k, v);
    }
    return u.toString();
}

/** Seed 003's `db-pool.js` (seeds.ts), and a probe of its options. */
export const SEED_003_POOL = `${SEED_003_DB_POOL}
(async () => {
  const { rows } = await pool.query("select current_user as u, current_database() as d, ssl from pg_stat_ssl where pid = pg_backend_pid()");
  const o = pool.options;
  console.log(JSON.stringify({ ...rows[0], max: o.max, idle: o.idleTimeoutMillis, connect: o.connectionTimeoutMillis }));
  await pool.end();
})().catch((e) => { console.error(e.stack); process.exit(1); });
`;

const PY_PSYCOPG2_URL = `
import os, psycopg2
with psycopg2.connect(os.environ["DATABASE_URL"]) as c, c.cursor() as cur:
    cur.execute("select current_user, current_database(), ssl from pg_stat_ssl where pid = pg_backend_pid()")
    print(",".join(map(str, cur.fetchone())))
`;

const PY_PSYCOPG2_KEYS_VERIFY_FULL = `
import os, psycopg2
e = os.environ
with psycopg2.connect(host=e["DB_HOST"], port=e["DB_PORT"], dbname=e["DB_NAME"], user=e["DB_USER"],
                      password=e["DB_PASSWORD"], sslmode="verify-full", sslrootcert=e["CA_FILE"]) as c, c.cursor() as cur:
    cur.execute("select current_user, current_database(), ssl from pg_stat_ssl where pid = pg_backend_pid()")
    print(",".join(map(str, cur.fetchone())))
`;

/** What migration tools do on the direct endpoint: a session advisory lock, and LISTEN/NOTIFY on one session. */
const PY_DIRECT_SESSION = `
import os, select, psycopg2
c = psycopg2.connect(os.environ["DATABASE_DIRECT_URL"])
c.autocommit = True
cur = c.cursor()
cur.execute("select pg_try_advisory_lock(4711)")
locked = cur.fetchone()[0]
cur.execute("listen matrix")
other = psycopg2.connect(os.environ["DATABASE_DIRECT_URL"])
other.autocommit = True
cur2 = other.cursor()
cur2.execute("select pg_try_advisory_lock(4711)")
held_elsewhere = not cur2.fetchone()[0]
cur2.execute("notify matrix, 'migrated'")
select.select([c], [], [], 10)
c.poll()
print(locked, held_elsewhere, [n.payload for n in c.notifies])
`;

/**
 * Alembic's env.py does \`config.set_main_option("sqlalchemy.url", url)\`: its Config is a ConfigParser with
 * BasicInterpolation, so the \`%XX\` of an encoded password must be written \`%%\`. The same ConfigParser
 * (stdlib configparser), then SQLAlchemy's create_engine with what Alembic would read back.
 */
const PY_SQLALCHEMY_ALEMBIC = `
import configparser, os, sqlalchemy
url = os.environ["DATABASE_URL"]
cp = configparser.ConfigParser()
cp.add_section("alembic")
try:
    cp.set("alembic", "sqlalchemy.url", url)
    raw = "accepted"
except ValueError as e:
    raw = str(e)
cp.set("alembic", "sqlalchemy.url", url.replace("%", "%%"))
assert cp.get("alembic", "sqlalchemy.url") == url
engine = sqlalchemy.create_engine(cp.get("alembic", "sqlalchemy.url"))
with engine.connect() as conn:
    user = conn.execute(sqlalchemy.text("select current_user")).scalar()
print(raw + "|" + user)
`;

export const PY_REDIS_STANDALONE = `
import os, redis
r = redis.Redis.from_url(os.environ["REDIS_URL"])
r.set("orders:matrix:redis-py", "v")
print(r.get("orders:matrix:redis-py").decode())
`;

/** redis-py's Sentinel client as seed 000/001 would build it from the Sentinel keys. */
export const PY_REDIS_SENTINEL = `
import os, redis
from redis.sentinel import Sentinel
e = os.environ
tls = e["REDIS_TLS"] == "true"
ssl = {"ssl": True, "ssl_ca_certs": e["CA_FILE"], "ssl_cert_reqs": "required"} if tls else {}
hosts = [(h.rsplit(":", 1)[0], int(h.rsplit(":", 1)[1])) for h in e["REDIS_SENTINEL_HOSTS"].split(",")]
sentinel = Sentinel(hosts, sentinel_kwargs={"password": e["REDIS_SENTINEL_PASSWORD"], **ssl}, socket_timeout=5, **ssl)
master = sentinel.master_for(e["REDIS_SENTINEL_MASTER"], username=e["REDIS_USERNAME"], password=e["REDIS_PASSWORD"],
                             db=int(e["REDIS_DB"]))
master.set("orders:matrix:redis-py", "v")
print(master.get("orders:matrix:redis-py").decode())
`;

const NODE_PG_VERIFY_FULL = `
const { Client } = require("pg");
(async () => {
  const c = new Client({ host: process.env.DB_HOST, port: Number(process.env.DB_PORT), database: process.env.DB_NAME,
    user: process.env.DB_USER, password: process.env.DB_PASSWORD,
    // verify-full: the contract's CA, and the host name checked (node's default checkServerIdentity).
    ssl: { ca: process.env.DB_CA_CERT, rejectUnauthorized: true } });
  await c.connect();
  const { rows } = await c.query("select current_user as u, ssl from pg_stat_ssl where pid = pg_backend_pid()");
  await c.end();
  console.log(JSON.stringify(rows[0]));
})().catch((e) => { console.error(e.message); process.exit(1); });
`;

const NODE_IOREDIS = `
const Redis = require("ioredis");
const e = process.env;
const tls = e.REDIS_TLS === "true" ? { ca: e.REDIS_CA_CERT } : undefined;
const redis = e.REDIS_SENTINEL_HOSTS
  ? new Redis({
      sentinels: e.REDIS_SENTINEL_HOSTS.split(",").map((h) => ({ host: h.slice(0, h.lastIndexOf(":")), port: Number(h.slice(h.lastIndexOf(":") + 1)) })),
      name: e.REDIS_SENTINEL_MASTER, sentinelPassword: e.REDIS_SENTINEL_PASSWORD,
      username: e.REDIS_USERNAME, password: e.REDIS_PASSWORD, db: Number(e.REDIS_DB),
      tls, sentinelTLS: tls, enableTLSForSentinelMode: tls !== undefined,
      lazyConnect: true, maxRetriesPerRequest: 1,
    })
  : new Redis(e.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, tls });
(async () => {
  await redis.connect();
  await redis.set("orders:matrix:ioredis", "v");
  console.log(await redis.get("orders:matrix:ioredis"));
  redis.disconnect();
})().catch((err) => { console.error(err.message); process.exit(1); });
`;

/** Seed 000's Celery app on the Sentinel keys, as the README's recipe builds it (Debian's Celery 5.2 / kombu 5.2). */
const CELERY_APP = `"""Seed 000's Celery on the Sentinel contract (Debian's Celery 5.2 / kombu 5.2): the documented recipe."""
import os
import ssl
from urllib.parse import quote

from celery import Celery

e = os.environ
tls = e["REDIS_TLS"] == "true"
ca = e.get("REDIS_CA_FILE")
tls_options = {"ssl_cert_reqs": ssl.CERT_REQUIRED, "ssl_ca_certs": ca} if tls else None
if not e.get("REDIS_SENTINEL_HOSTS"):
    # Standalone: REDIS_URL carries the user, password and database; the prefix is the application's name.
    user = e["REDIS_URL"].split("//", 1)[1].split(":", 1)[0]
    urls = e["REDIS_URL"]
    transport, backend_transport, credentials = {}, {}, {}
else:
    user, password, db = e["REDIS_USERNAME"], e["REDIS_PASSWORD"], e["REDIS_DB"]
    # One sentinel:// URL per Sentinel, each with the application's user (kombu reads user:password from each).
    urls = ";".join(f"sentinel://{quote(user, safe='')}:{quote(password, safe='')}@{h}/{db}" for h in e["REDIS_SENTINEL_HOSTS"].split(","))
    sentinel_kwargs = {"password": e["REDIS_SENTINEL_PASSWORD"]}
    if tls:
        sentinel_kwargs.update(ssl=True, ssl_ca_certs=ca, ssl_cert_reqs="required")
    transport = {"master_name": e["REDIS_SENTINEL_MASTER"], "sentinel_kwargs": sentinel_kwargs}
    backend_transport = dict(transport)
    # Celery 5.2's Sentinel result backend drops the URL's user name.
    credentials = {"redis_username": user, "redis_password": password}
# Every key and channel under the application's own prefix, the only ones its ACL user may touch (Celery 5.3+ reads it
# for the result backend too; 5.2 gets it below).
prefix = e["REDIS_KEY_PREFIX"]
transport["global_keyprefix"] = prefix
backend_transport["global_keyprefix"] = prefix

app = Celery("matrix", broker=urls, backend=urls)
app.conf.update(
    broker_transport_options=transport,
    result_backend_transport_options=backend_transport,
    broker_use_ssl=tls_options,
    redis_backend_use_ssl=tls_options,
    **credentials,
)
# Celery 5.2's result backend has no key prefix option: its keys (and the channels it publishes them on) get the prefix
# here (5.3+ set the same from the option).
app.backend.task_keyprefix = app.backend.key_t(prefix + "celery-task-meta-")


@app.task
def add(x, y):
    return x + y
`;

/** What the client of `runCeleryTask` runs by default: one task, its result, whether it is stored, and the ping. */
const CELERY_TASK_CLIENT = [
    "from matrix_celery import app, add",
    "r = add.delay(2, 3)",
    "value = r.get(timeout=30)",
    "stored = app.backend.client.get(app.backend.get_key_for_task(r.id)) is not None",
    // Remote control: a broadcast on the pidbox fanout channel, answered through a reply queue.
    "pongs = [a for reply in app.control.ping(timeout=10) for a in reply.values()]",
    "print(value, stored, ' '.join(a.get('ok', str(a)) for a in pongs) or 'no-pong')",
].join("\n");

/**
 * Runs a worker of `python`'s Celery with the app `source` (module `matrix_celery`, with a task `add`) and a client
 * running `client`; resolves with what the client printed (or why it failed) and what the worker logged.
 */
export async function runCeleryTask(
    python: string,
    env: Record<string, string>,
    source = CELERY_APP,
    client = CELERY_TASK_CLIENT,
): Promise<{ result: string; worker: string }> {
    assert.ok(fs.existsSync(python), `${python} is missing: run bash .ci/install.sh`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "consumers-celery-"));
    fs.writeFileSync(path.join(dir, "matrix_celery.py"), source);
    const childEnv = { PATH: process.env.PATH ?? "/usr/bin:/bin", PYTHONPATH: dir, ...env };
    // The worker logs to a file: the client below runs synchronously, and a pipe nobody reads would stall it.
    const logFile = path.join(dir, "worker.log");
    const logFd = fs.openSync(logFile, "w");
    const worker = spawn(python, ["-m", "celery", "-A", "matrix_celery", "worker", "--pool=solo", "--loglevel=INFO"], {
        cwd: dir,
        env: childEnv,
        stdio: ["ignore", logFd, logFd],
    });
    fs.closeSync(logFd);
    const exited = new Promise<void>((resolve) => worker.on("exit", () => resolve()));
    try {
        const run = spawnSync(python, ["-c", client], { cwd: dir, env: childEnv, encoding: "utf8", timeout: 60_000 });
        return {
            result: run.status === 0 ? run.stdout.trim() : `failed: ${run.stderr}`,
            worker: fs.readFileSync(logFile, "utf8"),
        };
    } finally {
        worker.kill("SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        worker.kill("SIGKILL");
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/**
 * `npm run sandbox -- --stack <stack>`, started once for the stack's own `checks` (what it started and wrote) and
 * then one `it` per client of the matrix; stopping it checks that it exits 0 and leaves no process behind.
 */
export function describeSandbox(stack: string, checks: (sandbox: () => ConsumerStack) => void): void {
    describe(`npm run sandbox -- --stack ${stack}, and the consumer matrix (${MATRIX_APP}'s env file only)`, function () {
        this.timeout(300_000);
        let s: ConsumerStack;
        before(async () => {
            s = await startConsumerStack(stack);
        });
        after(async () => {
            await s?.stop();
        });
        checks(() => s);
        const user = () => s.env.DB_USER;
        const db = () => s.env.DB_NAME;

        it(`${stack}: node-postgres Pool exactly as seed 003 builds it (DB_* keys, pool sizes and timeouts from the contract)`, () => {
            for (const key of ["DB_POOL_MAX", "DB_POOL_IDLE_TIMEOUT", "DB_POOL_CONNECTION_TIMEOUT"]) {
                assert.match(s.env[key] ?? "", /^[1-9][0-9]*$/, `${key} is in the contract, not the seed's default`);
            }
            const got = JSON.parse(node(SEED_003_POOL, s.env).stdout);
            assert.deepEqual(got, {
                u: user(),
                d: db(),
                ssl: true,
                max: Number(s.env.DB_POOL_MAX),
                idle: Number(s.env.DB_POOL_IDLE_TIMEOUT),
                connect: Number(s.env.DB_POOL_CONNECTION_TIMEOUT),
            });
        });

        it(`${stack}: node-postgres verify-full with DB_CA_CERT`, () => {
            assert.deepEqual(JSON.parse(node(NODE_PG_VERIFY_FULL, s.env).stdout), { u: user(), ssl: true });
        });

        it(`${stack}: psql with DATABASE_URL (on the server of PG_BIN: 15 from Debian, 16 from npm in .ci/run)`, () => {
            const version = run(path.join(PG_BIN, "postgres"), ["--version"], {}).stdout;
            const major = /\(PostgreSQL\) (\d+)/.exec(version)?.[1];
            assert.ok(major, version);
            const sql =
                "select current_user || ',' || current_database() || ',' || current_setting('server_version_num')::int / 10000";
            assert.equal(psql(s.env.DATABASE_URL, sql, s.env), `${user()},${db()},${major}`);
        });

        it(`${stack}: psql verify-full (DATABASE_URL with sslmode=verify-full, sslrootcert = mounted DB_CA_CERT)`, () => {
            const url = withParams(s.env.DATABASE_URL, { sslmode: "verify-full", sslrootcert: s.file("DB_CA_CERT") });
            assert.equal(psql(url, "select ssl from pg_stat_ssl where pid = pg_backend_pid()", s.env), "t");
        });

        it(`${stack}: psql verify-full refuses a CA that did not sign the server (the check is real)`, () => {
            const other = path.join(os.tmpdir(), `consumers-${stack}-azure-roots.pem`);
            fs.writeFileSync(
                other,
                fs.readFileSync(path.join(ROOT, "components/postgres/certs/azure-postgres-roots.pem")),
            );
            const url = withParams(s.env.DATABASE_URL, { sslmode: "verify-full", sslrootcert: other });
            const result = spawnSync(path.join(PG_BIN, "psql"), ["-X", "-d", url, "-c", "select 1"], {
                encoding: "utf8",
            });
            fs.rmSync(other);
            assert.notEqual(result.status, 0);
            assert.match(result.stderr, /certificate verify failed/);
        });

        it(`${stack}: psycopg2 (Debian) via DATABASE_URL`, () => {
            assert.equal(python(PY_PSYCOPG2_URL, s.env).stdout, `${user()},${db()},True`);
        });

        it(`${stack}: psycopg2 (Debian) via the DB_* keys, verify-full with DB_CA_CERT`, () => {
            const out = python(PY_PSYCOPG2_KEYS_VERIFY_FULL, { ...s.env, CA_FILE: s.file("DB_CA_CERT") }).stdout;
            assert.equal(out, `${user()},${db()},True`);
        });

        it(`${stack}: psycopg2 (Debian) via DATABASE_DIRECT_URL: session advisory lock and LISTEN/NOTIFY`, () => {
            assert.equal(python(PY_DIRECT_SESSION, s.env).stdout, "True True ['migrated']");
        });

        it(`${stack}: SQLAlchemy (Debian) with DATABASE_URL, through Alembic's ConfigParser as is (URL-safe password) and with % doubled`, () => {
            // A URL-safe password needs no escape; doubling, what a password of the previous alphabet needs, is harmless.
            assert.doesNotMatch(s.env.DATABASE_URL, /%/);
            assert.equal(python(PY_SQLALCHEMY_ALEMBIC, s.env).stdout, `accepted|${user()}`);
        });

        it(`${stack}: redis-py (Debian) ${stack === "prod" ? "Sentinel(...).master_for with the Sentinel password, username and TLS" : "from REDIS_URL"}`, () => {
            const script = s.env.REDIS_SENTINEL_HOSTS ? PY_REDIS_SENTINEL : PY_REDIS_STANDALONE;
            const extra: Record<string, string> = s.env.REDIS_CA_CERT ? { CA_FILE: s.file("REDIS_CA_CERT") } : {};
            assert.equal(python(script, { ...s.env, ...extra }).stdout, "v");
        });

        if (stack === "prod") {
            it(`${stack}: Celery (Debian 5.2.6, kombu 5.2.4) worker runs one task over the Sentinel broker, its result stored, and answers control.ping()`, async () => {
                const app = parseStack(stack).apps.find((a) => a.name === MATRIX_APP);
                assert.ok(app);
                // kombu PSUBSCRIBEs its fanout patterns: the app's ACL grants them literally (acl.ts).
                const rules = appRules(app).split(" ");
                for (const channel of celeryFanoutChannels(app)) {
                    assert.ok(rules.includes(`&${channel}`), channel);
                }
                const { result, worker } = await runCeleryTask(PYTHON, {
                    ...s.env,
                    REDIS_CA_FILE: s.file("REDIS_CA_CERT"),
                });
                assert.match(worker, /Connected to sentinel:\/\/orders:\*\*@127\.0\.0\.1:\d+\/\d+/);
                assert.match(worker, /mingle: all alone/);
                assert.equal(result, "5 True pong", worker);
            });
        }

        it(`${stack}: ioredis ${stack === "prod" ? "Sentinel, TLS from REDIS_CA_CERT" : "standalone from REDIS_URL"}`, () => {
            assert.equal(node(NODE_IOREDIS, s.env).stdout, "v");
        });
    });
}
