/**
 * The consumer matrix's rows of today's client libraries, beside Debian's (tests/support/consumers.ts): Python in the
 * venvs `.ci/install.sh` makes from `.ci/requirements-consumers*.txt`, node `pg`, `knex` and node-redis from the
 * lockfile, go-redis v9 built by the install script, and Debian's pgjdbc. Each row is given one application's
 * contract only, and fails naming what is missing when a client is not installed.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT } from "../../offline/stackConfig";
import { PG_BIN } from "../../testbed/servers/postgres";
import type { ConsumerStack } from "./consumers";
import { MATRIX_APP, PY_REDIS_SENTINEL, PY_REDIS_STANDALONE, node, run, runCeleryTask } from "./consumers";

/** Where `.ci/install.sh` puts the matrix's venvs and programs. */
const CONSUMERS = path.join(
    process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"),
    "data-platform",
    "consumers",
);
const GOREDIS_SOURCES = path.join(ROOT, "tests/servers/consumers/goredis");
/** Debian's libpostgresql-jdbc-java. */
const PGJDBC = "/usr/share/java/postgresql.jar";

/** The python of venv `name`, checked to hold exactly the pins of `requirements` (the install script's copy). */
function venvPython(name: string, requirements: string): string {
    const installed = path.join(CONSUMERS, name, "requirements.txt");
    const wanted = fs.readFileSync(path.join(ROOT, requirements), "utf8");
    assert.ok(
        fs.existsSync(installed) && fs.readFileSync(installed, "utf8") === wanted,
        `venv ${path.dirname(installed)} is missing or not made from ${requirements}: run bash .ci/install.sh`,
    );
    return path.join(CONSUMERS, name, "bin", "python");
}

export const celeryPython = () => venvPython("python-celery", ".ci/requirements-consumers.txt");
const redis6Python = () => venvPython("python-redis6", ".ci/requirements-consumers-redis6.txt");

/** The go-redis program, checked to be built from the sources here (`sha256sum go.mod go.sum main.go`). */
function goRedis(): string {
    const sources = ["go.mod", "go.sum", "main.go"]
        .map((f) => {
            const sha = crypto
                .createHash("sha256")
                .update(fs.readFileSync(path.join(GOREDIS_SOURCES, f)))
                .digest("hex");
            return `${sha}  ${f}\n`;
        })
        .join("");
    const built = path.join(CONSUMERS, "goredis.sources");
    assert.ok(
        fs.existsSync(built) && fs.readFileSync(built, "utf8") === sources,
        `${path.join(CONSUMERS, "goredis")} is missing or not built from ${GOREDIS_SOURCES}: run bash .ci/install.sh (needs Go)`,
    );
    return path.join(CONSUMERS, "goredis");
}

const PY_PSYCOPG3 = `
import os, psycopg
# DATABASE_URL as it is, then verify-full with the server's CA (keyword arguments override the URL's).
verify = {"sslmode": "verify-full", "sslrootcert": os.environ["CA_FILE"]} if os.environ.get("VERIFY") else {}
with psycopg.connect(os.environ["DATABASE_URL"], **verify) as c:
    row = c.execute("select current_user, current_database(), ssl from pg_stat_ssl where pid = pg_backend_pid()").fetchone()
print(",".join(map(str, row)), psycopg.__version__)
`;

/** SQLAlchemy 2 on psycopg 3 (its dialect `postgresql+psycopg`), through Alembic's ConfigParser unchanged. */
const PY_SQLALCHEMY2 = `
import configparser, os, sqlalchemy
cp = configparser.ConfigParser()
cp.add_section("alembic")
cp.set("alembic", "sqlalchemy.url", os.environ["DATABASE_URL"])
url = cp.get("alembic", "sqlalchemy.url").replace("postgresql://", "postgresql+psycopg://", 1)
engine = sqlalchemy.create_engine(url, connect_args={"sslmode": "verify-full", "sslrootcert": os.environ["CA_FILE"]})
with engine.connect() as conn:
    row = conn.execute(sqlalchemy.text("select current_user, ssl from pg_stat_ssl where pid = pg_backend_pid()")).one()
print(",".join(map(str, row)), sqlalchemy.__version__)
`;

/** node-postgres with DATABASE_URL and what the application appends (`SUFFIX`). */
const NODE_PG_URL = `
const { Client } = require("pg");
(async () => {
  const c = new Client({ connectionString: process.env.DATABASE_URL + (process.env.SUFFIX ?? "") });
  await c.connect();
  const { rows } = await c.query("select current_user as u, ssl from pg_stat_ssl where pid = pg_backend_pid()");
  await c.end();
  console.log(JSON.stringify({ ...rows[0], pg: require("pg/package.json").version }));
})().catch((e) => { console.error(e.message); process.exit(1); });
`;

const NODE_KNEX = `
const knex = require("knex")({ client: "pg", connection: process.env.DATABASE_URL + process.env.SUFFIX });
knex.raw("select current_user as u, ssl from pg_stat_ssl where pid = pg_backend_pid()")
  .then((r) => { console.log(JSON.stringify(r.rows[0])); return knex.destroy(); })
  .catch((e) => { console.error(e.message); process.exit(1); });
`;

/** node-redis: the Sentinel keys (createSentinel) where there are, else REDIS_URL; TLS with the contract's CA. */
const NODE_REDIS = `
const { createClient, createSentinel } = require("redis");
const e = process.env;
const socket = e.REDIS_TLS === "true" ? { tls: true, ca: e.REDIS_CA_CERT } : {};
const client = e.REDIS_SENTINEL_HOSTS
  ? createSentinel({
      name: e.REDIS_SENTINEL_MASTER,
      sentinelRootNodes: e.REDIS_SENTINEL_HOSTS.split(",").map((h) => ({ host: h.slice(0, h.lastIndexOf(":")), port: Number(h.slice(h.lastIndexOf(":") + 1)) })),
      nodeClientOptions: { username: e.REDIS_USERNAME, password: e.REDIS_PASSWORD, database: Number(e.REDIS_DB), socket },
      sentinelClientOptions: { password: e.REDIS_SENTINEL_PASSWORD, socket },
    })
  : createClient({ url: e.REDIS_URL, socket });
client.on("error", (err) => { console.error(err.message); process.exit(1); });
(async () => {
  await client.connect();
  await client.set("orders:matrix:node-redis", "v");
  console.log(await client.get("orders:matrix:node-redis"));
  await client.close();
})().catch((err) => { console.error(err.message); process.exit(1); });
`;

/** pgjdbc with a JDBC URL built from the DB_* keys, verify-full with the server's CA (user and password apart). */
const JDBC_PROBE = `
import java.sql.DriverManager;
import java.util.Properties;

public class Probe {
    public static void main(String[] args) throws Exception {
        var e = System.getenv();
        var url = "jdbc:postgresql://" + e.get("DB_HOST") + ":" + e.get("DB_PORT") + "/" + e.get("DB_NAME")
            + "?sslmode=verify-full&sslrootcert=" + e.get("CA_FILE");
        var props = new Properties();
        props.setProperty("user", e.get("DB_USER"));
        props.setProperty("password", e.get("DB_PASSWORD"));
        try (var c = DriverManager.getConnection(url, props);
             var rs = c.createStatement().executeQuery("select current_user, ssl from pg_stat_ssl where pid = pg_backend_pid()")) {
            rs.next();
            System.out.println(rs.getString(1) + "," + rs.getBoolean(2));
        }
    }
}
`;

/** Runs `script` with `python`, the contract (and `extra`) its whole environment. */
function py(python: string, script: string, env: Record<string, string>): string {
    return run(python, ["-c", script], env).stdout;
}

/** The rows of today's clients, inside `describeSandbox` (one sandbox per stack). */
export function currentClientRows(stack: string, sandbox: () => ConsumerStack): void {
    const s = () => sandbox();
    const ca = () => ({ CA_FILE: s().file("DB_CA_CERT") });

    it(`${stack}: psycopg 3 (binary) with DATABASE_URL as it is, and verify-full with DB_CA_CERT`, () => {
        const { env } = s();
        const expected = `${env.DB_USER},${env.DB_NAME},True 3.3.9`;
        assert.equal(py(celeryPython(), PY_PSYCOPG3, env), expected);
        assert.equal(py(celeryPython(), PY_PSYCOPG3, { ...env, ...ca(), VERIFY: "1" }), expected);
    });

    it(`${stack}: SQLAlchemy 2 on psycopg 3 with DATABASE_URL, through Alembic's ConfigParser unescaped (URL-safe password), verify-full`, () => {
        assert.equal(py(celeryPython(), PY_SQLALCHEMY2, { ...s().env, ...ca() }), `${s().env.DB_USER},True 2.0.59`);
    });

    it(`${stack}: the URLs seeds 000 and 003 build by hand from the DB_* keys parse and connect (URL-safe passwords)`, () => {
        const { env } = s();
        // Seed 000's config.py (SQLAlchemy 2): postgresql://{DB_USER}:{DB_PASSWORD}@{DB_HOST}:{DB_PORT}/{DB_NAME}.
        const seed000 = `
import os, sqlalchemy
e = os.environ
url = f"postgresql://{e['DB_USER']}:{e['DB_PASSWORD']}@{e['DB_HOST']}:{e['DB_PORT']}/{e['DB_NAME']}"
with sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1)).connect() as conn:
    print(conn.execute(sqlalchemy.text("select current_user")).scalar())
`;
        assert.equal(py(celeryPython(), seed000, env), env.DB_USER);
        // Seed 003's connection string: postgresql://${DB_USER}:${DB_PASSWORD}@${DB_HOST}:${DB_PORT}/${DB_NAME}?sslmode=${DB_SSL_MODE}.
        const seed003 = `postgresql://${env.DB_USER}:${env.DB_PASSWORD}@${env.DB_HOST}:${env.DB_PORT}/${env.DB_NAME}?sslmode=${env.DB_SSL_MODE}`;
        assert.equal(
            run(path.join(PG_BIN, "psql"), ["-X", "-A", "-t", "-d", seed003, "-c", "select current_user"], env).stdout,
            env.DB_USER,
        );
    });

    it(`${stack}: node-postgres 8.23 reads DATABASE_URL's sslmode=require as verify-full: refused without the server's CA, accepted with NODE_EXTRA_CA_CERTS`, () => {
        const result = runFailing(process.execPath, ["-e", NODE_PG_URL], s().env);
        assert.match(result, /self-signed certificate in certificate chain|unable to verify the first certificate/);
        // The same code with the CA added to Node's store (a Deployment change only).
        const got = JSON.parse(node(NODE_PG_URL, { ...s().env, NODE_EXTRA_CA_CERTS: ca().CA_FILE }).stdout);
        assert.deepEqual(got, { u: s().env.DB_USER, ssl: true, pg: "8.23.1" });
    });

    it(`${stack}: node-postgres 8.23 with DATABASE_URL + sslrootcert (the mounted DB_CA_CERT): verify-full`, () => {
        const got = JSON.parse(node(NODE_PG_URL, { ...s().env, SUFFIX: `&sslrootcert=${ca().CA_FILE}` }).stdout);
        assert.deepEqual(got, { u: s().env.DB_USER, ssl: true, pg: "8.23.1" });
    });

    it(`${stack}: node-postgres 8.23 with DATABASE_URL + uselibpqcompat=true: libpq's require (encrypted, unverified)`, () => {
        const got = JSON.parse(node(NODE_PG_URL, { ...s().env, SUFFIX: "&uselibpqcompat=true" }).stdout);
        assert.deepEqual(got, { u: s().env.DB_USER, ssl: true, pg: "8.23.1" });
    });

    it(`${stack}: psql refuses uselibpqcompat in a URL (why DATABASE_URL never carries it)`, () => {
        const out = runFailing(
            path.join(PG_BIN, "psql"),
            ["-X", "-d", `${s().env.DATABASE_URL}&uselibpqcompat=true`, "-c", "select 1"],
            s().env,
        );
        assert.match(out, /invalid URI query parameter: "uselibpqcompat"/);
    });

    it(`${stack}: knex 3 (pg) with DATABASE_URL + sslrootcert`, () => {
        const got = JSON.parse(node(NODE_KNEX, { ...s().env, SUFFIX: `&sslrootcert=${ca().CA_FILE}` }).stdout);
        assert.deepEqual(got, { u: s().env.DB_USER, ssl: true });
    });

    it(`${stack}: JDBC (Debian's pgjdbc) with a URL built from the DB_* keys, verify-full with DB_CA_CERT`, () => {
        assert.ok(fs.existsSync(PGJDBC), `${PGJDBC} is missing: run bash .ci/install.sh (libpostgresql-jdbc-java)`);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "consumers-jdbc-"));
        try {
            fs.writeFileSync(path.join(dir, "Probe.java"), JDBC_PROBE);
            const out = run("java", ["-cp", PGJDBC, path.join(dir, "Probe.java")], { ...s().env, ...ca() }, 120_000);
            assert.equal(out.stdout, `${s().env.DB_USER},true`);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    const redisVia = stack === "prod" ? "Sentinel with the Sentinel password, username and TLS" : "REDIS_URL";
    it(`${stack}: redis-py 6.4 ${redisVia}`, () => {
        const script = s().env.REDIS_SENTINEL_HOSTS ? PY_REDIS_SENTINEL : PY_REDIS_STANDALONE;
        const extra: Record<string, string> = s().env.REDIS_CA_CERT ? { CA_FILE: s().file("REDIS_CA_CERT") } : {};
        assert.equal(py(redis6Python(), script, { ...s().env, ...extra }), "v");
    });

    it(`${stack}: node-redis 6 ${redisVia}`, () => {
        assert.equal(node(NODE_REDIS, s().env).stdout, "v");
    });

    it(`${stack}: go-redis v9 ${redisVia}`, () => {
        assert.equal(run(goRedis(), [], { ...s().env, KEY: `${MATRIX_APP}:matrix:go-redis` }).stdout, "v");
    });

    it(`${stack}: Celery 5.5.3 / kombu 5.5.4 worker runs one task over ${redisVia} and answers control.ping()`, async () => {
        const extra: Record<string, string> = s().env.REDIS_CA_CERT ? { REDIS_CA_FILE: s().file("REDIS_CA_CERT") } : {};
        const { result, worker } = await runCeleryTask(celeryPython(), { ...s().env, ...extra });
        assert.match(worker, /celery@\S+ ready/, worker);
        assert.equal(result, "5 True pong", worker);
    });
}

/** Runs a command that must fail; returns what it printed. */
function runFailing(cmd: string, args: string[], env: Record<string, string>): string {
    const result = spawnSync(cmd, args, {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
        encoding: "utf8",
        timeout: 60_000,
    });
    assert.notEqual(result.status, 0, `${cmd} was expected to fail:\n${result.stdout}`);
    return `${result.stdout}${result.stderr}`;
}
