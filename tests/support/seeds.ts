/**
 * The five seed applications (`../shared/seeds/`) as data: each one's entry in the stack file (its only change), and
 * each piece of its client code as the seed writes it. Where a seed shows code, the snippet here is that code verbatim;
 * where it only describes it (000's config.py and celery_app.py, 001's clients, 002's knex/Redis clients) the snippet
 * follows the description and keeps the seed's own key names and URL formats. Lines marked `# probe` / `// probe`
 * (and imports) are the only additions. `tests/servers/consumers/seeds*.test.ts` runs them against the sandboxes;
 * what they observe must equal `seedResults.json`, from which the README's seed table is rendered.
 */
import * as path from "path";
import { PG_BIN } from "../../testbed/servers/postgres";
import type { SeedStack } from "../../cli/seedTable";

/** What a snippet runs with: the application's Secret as its environment, and files a pod would mount. */
export interface SeedRun {
    readonly env: Readonly<Record<string, string>>;
    /** A key of the Secret written to a file, as a Secret volume mounts it. */
    file(key: string): string;
    /** `text` written to a file of that name, for the Deployment's own files. */
    write(name: string, text: string): string;
    /** A new empty directory the snippet may write to (a CronJob's volume). */
    newDir(): string;
    /**
     * Azure mode: the sandbox's CA (PEM), standing in for the public roots Azure's server chains to, which Node's own store
     * holds (checked in the test); undefined where the server's CA is a private issuer's (StackGres).
     */
    readonly publicRoots?: string;
}

/** A process to run for one snippet, and what it must print when it connects. */
export interface SeedCommand {
    readonly kind: "python" | "python-celery" | "celery" | "node" | "command";
    /** Script (python, node), Celery app module (celery), or argv (command). */
    readonly code: string | readonly string[];
    /** Environment added to the Secret's (a Deployment's own `env:`), e.g. a mounted file's path. */
    readonly extraEnv?: (run: SeedRun) => Record<string, string>;
    /** What it prints on success. */
    readonly expect: (env: Readonly<Record<string, string>>) => string;
}

/** One piece of a seed's client code. */
export interface SeedPart {
    readonly name: string;
    readonly asWritten: SeedCommand;
    /**
     * Per stack where the code as written cannot work: the failure it shows (matched), the smallest change, and the
     * command with that change, which must then connect.
     */
    readonly changes?: Partial<
        Record<SeedStack, { readonly failure: RegExp; readonly what: string; readonly run: SeedCommand }>
    >;
}

export interface Seed {
    readonly id: string;
    readonly title: string;
    /** The application's entry in `data-platform:apps`, per stack. */
    readonly entry: (stack: SeedStack) => Record<string, unknown>;
    /** Redis groups the entry names (`data-platform:redis.groups.<name>`). */
    readonly groups?: (stack: SeedStack) => Record<string, Record<string, unknown>>;
    /** What the table says beside the result (a choice the entry makes). */
    readonly note?: string;
    readonly parts: readonly SeedPart[];
}

/**
 * A dedicated group (`redis.groups.<name>.dedicated`) without TLS: the seeds' Redis clients set none (redis-py by host
 * and port, Celery's and ioredis' URLs with no CA), development's default and production's choice for a dedicated
 * group, which only its application's namespace reaches.
 */
function dedicated(stack: SeedStack, mode: string): Record<string, unknown> {
    const sentinel = mode === "sentinel" ? { replicas: 2, sentinels: 3, quorum: 2, memory: "512Mi" } : {};
    return { mode, dedicated: true, ...sentinel, ...(stack === "prod" ? { tls: false } : {}) };
}

/** What the Celery client prints: the task's result, that it was stored, and the worker's answer to `control.ping()`. */
const CELERY_TASK_AND_PING = "5 True pong";

/** Every entry's connection budget: small, so five seeds fit dev's 100 connections beside its own applications. */
const SEED_SIZE = { poolSize: 5, replicas: 1 } as const;

// ---------------------------------------------------------------------------------------------------------------
// Seed 000: cc-registry-v2 (FastAPI + Celery). Its app/core/config.py and app/tasks/celery_app.py are described,
// not shown: this is that description as code, with its URL formats verbatim.

/** config.py's URL resolution (seed 000, "Backend Configuration Logic" 1 and 2). */
const SEED_000_CONFIG = `import os


def database_url():
    # 1. If DATABASE_URL is provided, use it directly
    if os.getenv("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    # Otherwise, if all components are provided: postgresql://{DB_USER}:{DB_PASSWORD}@{DB_HOST}:{DB_PORT}/{DB_NAME}
    e = os.environ
    if all(e.get(k) for k in ("DB_HOST", "DB_USER", "DB_PASSWORD", "DB_NAME")):
        return f"postgresql://{e['DB_USER']}:{e['DB_PASSWORD']}@{e['DB_HOST']}:{e.get('DB_PORT', '5432')}/{e['DB_NAME']}"
    return "postgresql://postgres:devpassword@postgres:5432/codecollection_registry"


def redis_url():
    # 2. If REDIS_URL is provided, use it directly
    if os.getenv("REDIS_URL"):
        return os.environ["REDIS_URL"]
    # Otherwise, if REDIS_SENTINEL_HOSTS is provided: sentinel://[:password@]hosts/master_name/db_number
    if os.getenv("REDIS_SENTINEL_HOSTS"):
        password = os.getenv("REDIS_PASSWORD")
        auth = f":{password}@" if password else ""
        return f"sentinel://{auth}{os.environ['REDIS_SENTINEL_HOSTS']}/{os.getenv('REDIS_SENTINEL_MASTER', 'mymaster')}/{os.getenv('REDIS_DB', '0')}"
    return "redis://redis:6379/0"


DATABASE_URL = database_url()
REDIS_URL = redis_url()
`;

/** celery_app.py (seed 000, "Celery Configuration"): Sentinel specially, otherwise the redis:// URL as it is. */
const SEED_000_CELERY = `
from celery import Celery

if REDIS_URL.startswith("sentinel://"):
    # Converts hosts to semicolon-separated format; broker_transport_options with Sentinel parameters
    auth_hosts, master_name, db = REDIS_URL[len("sentinel://"):].rsplit("/", 2)
    auth, _, hosts = auth_hosts.rpartition("@")
    urls = ";".join(f"sentinel://{auth + '@' if auth else ''}{h}/{db}" for h in hosts.split(","))
    app = Celery("cc_registry", broker=urls, backend=urls)
    options = {"master_name": master_name, "socket_timeout": 10, "socket_connect_timeout": 10, "socket_keepalive": True}
    app.conf.broker_transport_options = options
    app.conf.result_backend_transport_options = options
else:
    # Standalone Redis: uses standard redis:// URL
    app = Celery("cc_registry", broker=REDIS_URL, backend=REDIS_URL)


@app.task
def add(x, y):  # probe
    return x + y
`;

const SEED_000: Seed = {
    id: "000",
    title: "cc-registry-v2 (FastAPI, SQLAlchemy, Celery)",
    entry: () => ({
        name: "cc-registry",
        namespace: "codecollection-registry",
        redisDb: 1,
        ...SEED_SIZE,
        // Its Deployments' envFrom names this Secret (a new namespace: nothing to adopt).
        secretName: "cc-registry-secrets",
        // Celery's own key names (celery, _kombu.binding.*, reply queues) unprefixed: a group of its own.
        redis: { group: "ccregistry" },
    }),
    groups: (stack) => ({ ccregistry: dedicated(stack, stack === "prod" ? "sentinel" : "standalone") }),
    parts: [
        {
            name: "config.py: DATABASE_URL into SQLAlchemy (psycopg2)",
            asWritten: {
                kind: "python",
                code: `${SEED_000_CONFIG}
import sqlalchemy  # probe
with sqlalchemy.create_engine(DATABASE_URL).connect() as c:  # probe
    print(c.execute(sqlalchemy.text("select current_user")).scalar())  # probe
`,
                expect: (env) => env.DB_USER,
            },
        },
        {
            name: 'psql "$DATABASE_URL" -c "SELECT 1" (Troubleshooting)',
            asWritten: {
                kind: "command",
                code: ["sh", "-c", `"${path.join(PG_BIN, "psql")}" "$DATABASE_URL" -c "SELECT 1" -At`],
                expect: () => "1",
            },
        },
        {
            name: "config.py REDIS_URL into celery_app.py: a worker runs a task, answers control.ping() (Celery 5.5)",
            asWritten: {
                kind: "celery",
                code: `${SEED_000_CONFIG}${SEED_000_CELERY}`,
                expect: () => CELERY_TASK_AND_PING,
            },
        },
    ],
};

// ---------------------------------------------------------------------------------------------------------------
// Seed 001: session database and service cache. Its .env names the keys; the clients are those keys as redis-py
// takes them (sessions in REDIS_DB with REDIS_PASSWORD, the cache in CACHE_DB with CACHE_PASSWORD).

const SEED_001_CLIENTS = `import os
import redis

sessions = redis.Redis(host=os.environ["REDIS_HOST"], port=int(os.environ["REDIS_PORT"]),
                       password=os.environ["REDIS_PASSWORD"], db=int(os.environ["REDIS_DB"]))
cache = redis.Redis(host=os.environ["REDIS_HOST"], port=int(os.environ["REDIS_PORT"]),
                    password=os.environ["CACHE_PASSWORD"], db=int(os.environ["CACHE_DB"]))
sessions.set("session:probe", "v", ex=int(os.environ.get("SESSION_TTL_SECONDS", "3600")))
cache.set("cache:probe", "v", ex=int(os.environ.get("CACHE_DEFAULT_TTL_SECONDS", "86400")))
print(sessions.get("session:probe").decode(), cache.get("cache:probe").decode())  # probe
`;

const SEED_001: Seed = {
    id: "001",
    title: "session database and service cache (redis-py by host and port)",
    entry: () => ({
        name: "session-database",
        namespace: "session-database",
        redisDb: 1,
        ...SEED_SIZE,
        // A password alone logs in as `default`: on its dedicated group that is the application.
        redis: { group: "sessions", clients: ["sessions"] },
        env: { CACHE_DB: "{{REDIS_DB}}", CACHE_PASSWORD: "{{REDIS_PASSWORD}}" },
    }),
    groups: (stack) => ({ sessions: dedicated(stack, "sentinel") }),
    note: "sessions and cache share the application's database (`CACHE_DB` = `REDIS_DB`): a password alone logs in as `default`, which can be one user only",
    parts: [
        {
            name: "sessions (REDIS_HOST, REDIS_PORT, REDIS_PASSWORD, REDIS_DB) and cache (CACHE_PASSWORD, CACHE_DB), redis-py 5",
            asWritten: { kind: "python-celery", code: SEED_001_CLIENTS, expect: () => "v v" },
        },
    ],
};

// ---------------------------------------------------------------------------------------------------------------
// Seed 002: SaaS platform. Its apps read DATABASE_URL and REDIS_URL ("Environment Variables (for apps)"), with knex and
// pg ("npm install knex pg") and a Redis client for cache, sessions and rate limits (ioredis here).

const SEED_002_CLIENTS = `
const knex = require("knex")({ client: "pg", connection: process.env.DATABASE_URL });
const Redis = require("ioredis");
const redis = new Redis(process.env.REDIS_URL, { maxRetriesPerRequest: 1 });
(async () => {
  const { rows } = await knex.raw("select current_user as u, ssl from pg_stat_ssl where pid = pg_backend_pid()");  // probe
  await redis.set("cache:probe", "v", "EX", 60);  // probe
  console.log(rows[0].u, rows[0].ssl, await redis.get("cache:probe"));  // probe
  await knex.destroy(); redis.disconnect();  // probe
})().catch((e) => { console.error(e.message); process.exit(1); });  // probe
`;

/** Node's store as the pod has it: the public roots (the sandbox's CA playing Azure's), nothing of the Secret. */
function nodeStore(run: SeedRun): Record<string, string> {
    return run.publicRoots ? { NODE_EXTRA_CA_CERTS: run.write("node-ca.pem", run.publicRoots) } : {};
}

const SEED_002: Seed = {
    id: "002",
    title: "SaaS platform (knex/pg on DATABASE_URL, ioredis on REDIS_URL)",
    entry: () => ({
        name: "saas-platform",
        namespace: "platform-services",
        redisDb: 1,
        ...SEED_SIZE,
        // Its cache, session and rate-limit keys are its own names (no prefix): a group of its own.
        redis: { group: "saas" },
        // knex hands DATABASE_URL to pg, which reads sslmode=require as verify-full.
        postgres: { urlFormat: "node-postgres" },
    }),
    groups: (stack) => ({ saas: dedicated(stack, "standalone") }),
    parts: [
        {
            name: "knex (pg 8.23) on DATABASE_URL, ioredis on REDIS_URL",
            asWritten: {
                kind: "node",
                code: SEED_002_CLIENTS,
                extraEnv: nodeStore,
                // Encrypted in both stacks: verified on Azure, as libpq's `require` on StackGres.
                expect: (env) => `${env.DB_USER} true v`,
            },
        },
    ],
};

// ---------------------------------------------------------------------------------------------------------------
// Seed 003: Admin Center API (node-postgres). db-pool.js, its connection string, psql and the backup CronJob verbatim.

/** services/api-backend/database/db-pool.js, verbatim but for `module.exports` (each test adds its probe). */
export const SEED_003_DB_POOL = `
const { Pool } = require('pg');

const pool = new Pool({
  host: process.env.DB_HOST,
  port: parseInt(process.env.DB_PORT || '5432'),
  database: process.env.DB_NAME,
  user: process.env.DB_USER,
  password: process.env.DB_PASSWORD,

  // Connection pool settings
  max: parseInt(process.env.DB_POOL_MAX || '50'),
  idleTimeoutMillis: parseInt(process.env.DB_POOL_IDLE_TIMEOUT || '600000'),
  connectionTimeoutMillis: parseInt(process.env.DB_POOL_CONNECTION_TIMEOUT || '30000'),

  // SSL settings
  ssl: process.env.DB_SSL_MODE === 'require' ? {
    rejectUnauthorized: false
  } : false,
});
`;

const SEED_003_POOL = `${SEED_003_DB_POOL}
(async () => {  // probe
  const { rows } = await pool.query("select current_user as u, ssl from pg_stat_ssl where pid = pg_backend_pid()");  // probe
  console.log(rows[0].u, rows[0].ssl, pool.options.max);  // probe
  await pool.end();  // probe
})().catch((e) => { console.error(e.stack); process.exit(1); });  // probe
`;

/** "Update Connection String": the seed's template, given to node-postgres as the backend would. */
const SEED_003_CONNECTION_STRING = `
const { DB_USER, DB_PASSWORD, DB_HOST, DB_PORT, DB_NAME, DB_SSL_MODE } = process.env;
// Connection string format
const connectionString = \`postgresql://\${DB_USER}:\${DB_PASSWORD}@\${DB_HOST}:\${DB_PORT}/\${DB_NAME}?sslmode=\${DB_SSL_MODE}\`;
const { Pool } = require("pg");  // probe
const pool = new Pool({ connectionString });  // probe
pool.query("select current_user as u").then((r) => { console.log(r.rows[0].u); return pool.end(); })  // probe
  .catch((e) => { console.error(e.message); process.exit(1); });  // probe
`;

/** The backup CronJob's env and command, verbatim: PGHOST, PGUSER, PGDATABASE literal, PGPASSWORD from its Secret. */
const SEED_003_BACKUP = [
    "sh",
    "-c",
    'BACKUP_FILE="$BACKUP_DIR/backup-$(date +%Y%m%d-%H%M%S).sql"\n' +
        `"${path.join(PG_BIN, "pg_dump")}" > $BACKUP_FILE\n` +
        "gzip $BACKUP_FILE\n" +
        'echo "Backup completed: $BACKUP_FILE.gz" >&2\n' +
        'gzip -dc "$BACKUP_FILE.gz" | grep -c "PostgreSQL database dump complete"', // probe
];

const SEED_003: Seed = {
    id: "003",
    title: "Admin Center API (node-postgres Pool, psql, pg_dump CronJob)",
    entry: (stack) => ({
        name: "cloudtolocalllm",
        namespace: "cloudtolocalllm",
        redisDb: 5,
        ...SEED_SIZE,
        // Its Secret, and the key its backup CronJob reads the password from.
        secretName: "cloudtolocalllm-secrets",
        env: { "postgres-password": "{{DB_PASSWORD}}" },
        // Its URL hands DB_SSL_MODE to node-postgres, which reads `require` as verify-full, and db-pool.js turns TLS off
        // for any other value: no sslmode works with both against the StackGres issuer's CA, so none (Azure's roots are
        // Node's own).
        ...(stack === "dev" ? { postgres: { tls: false } } : {}),
    }),
    parts: [
        {
            name: "db-pool.js (DB_*, pool sizes and timeouts, DB_SSL_MODE)",
            asWritten: {
                kind: "node",
                code: SEED_003_POOL,
                // TLS exactly when DB_SSL_MODE is `require`, as db-pool.js decides.
                expect: (env) => `${env.DB_USER} ${env.DB_SSL_MODE === "require"} ${env.DB_POOL_MAX}`,
            },
        },
        {
            name: "its connection string `postgresql://${DB_USER}:${DB_PASSWORD}@...?sslmode=${DB_SSL_MODE}` in node-postgres 8.23",
            asWritten: {
                kind: "node",
                code: SEED_003_CONNECTION_STRING,
                extraEnv: nodeStore,
                expect: (env) => env.DB_USER,
            },
        },
        {
            name: 'psql -h $DB_HOST -U $DB_USER -d $DB_NAME -c "\\dt" (password from PGPASSWORD)',
            asWritten: {
                kind: "command",
                code: [
                    "sh",
                    "-c",
                    `"${path.join(PG_BIN, "psql")}" -h $DB_HOST -U $DB_USER -d $DB_NAME -c "\\dt" -At; echo ok`,
                ],
                expect: () => "ok",
            },
        },
        {
            name: "backup CronJob: pg_dump with PGHOST, PGUSER, PGDATABASE as written and PGPASSWORD from postgres-password",
            asWritten: {
                kind: "command",
                code: SEED_003_BACKUP,
                extraEnv: (run) => ({
                    PGHOST: "postgres.cloudtolocalllm.svc.cluster.local",
                    PGUSER: "appuser",
                    PGPASSWORD: run.env["postgres-password"],
                    PGDATABASE: "cloudtolocalllm",
                    BACKUP_DIR: run.newDir(),
                }),
                expect: () => "1",
            },
            changes: {
                dev: cronJobChange(),
                prod: cronJobChange(),
            },
        },
    ],
};

/** The CronJob names its server and user in the manifest; the platform's are others. */
function cronJobChange() {
    return {
        failure: /could not translate host name "postgres\.cloudtolocalllm\.svc\.cluster\.local"/,
        what: "the CronJob writes its own host and user (`postgres.cloudtolocalllm...`, `appuser`) into `env`: replace that block with `envFrom` of the Secret (`PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`, `PGPASSWORD`, `PGSSLMODE`)",
        run: {
            kind: "command" as const,
            code: SEED_003_BACKUP,
            extraEnv: (run: SeedRun) => ({ BACKUP_DIR: run.newDir() }),
            expect: () => "1",
        },
    };
}

// ---------------------------------------------------------------------------------------------------------------
// Seed 004: StackGres URL consumers (Knative Service): DATABASE_URL and DB_HOST... from the Secret it names.

const SEED_004: Seed = {
    id: "004",
    title: "StackGres URL consumers (Knative env from secretKeyRef)",
    entry: () => ({
        name: "genfix",
        namespace: "client1-ns",
        redisDb: 6,
        ...SEED_SIZE,
        // The Secret its Knative Service's secretKeyRef names.
        secretName: "genfix-dev-cluster-db-url",
    }),
    note: "its own ExternalSecret `genfix-db-credentials`, which targets the same Secret, is retired: the platform's writes it now",
    parts: [
        {
            name: "DATABASE_URL (libpq: psql)",
            asWritten: {
                kind: "command",
                code: ["sh", "-c", `"${path.join(PG_BIN, "psql")}" "$DATABASE_URL" -Atc "select current_user"`],
                expect: (env) => env.DB_USER,
            },
        },
        {
            name: "DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_PASSWORD (psycopg2)",
            asWritten: {
                kind: "python",
                code: `import os, psycopg2
e = os.environ
conn = psycopg2.connect(host=e["DB_HOST"], port=e["DB_PORT"], dbname=e["DB_NAME"], user=e["DB_USER"], password=e["DB_PASSWORD"])
cur = conn.cursor()  # probe
cur.execute("select current_user")  # probe
print(cur.fetchone()[0])  # probe
`,
                expect: (env) => env.DB_USER,
            },
        },
    ],
};

export const SEEDS: readonly Seed[] = [SEED_000, SEED_001, SEED_002, SEED_003, SEED_004];

/** The keys a seed's entry sets beyond name, namespace, redisDb and its size, with their values, and its groups. */
export function stackKeysOf(seed: Seed, stack: SeedStack): string[] {
    const flat = (value: unknown, prefix: string): string[] =>
        value !== null && typeof value === "object" && !Array.isArray(value)
            ? Object.entries(value).flatMap(([k, v]) => flat(v, `${prefix}.${k}`))
            : [`${prefix.slice(1)}: ${Array.isArray(value) ? `[${value.join(", ")}]` : String(value)}`];
    const { name: _n, namespace: _ns, redisDb: _db, poolSize: _p, replicas: _r, ...entry } = seed.entry(stack);
    const groups = Object.entries(seed.groups?.(stack) ?? {}).map(
        ([g, settings]) => `redis.groups.${g}: ${settings.mode}, dedicated${settings.tls === false ? ", no TLS" : ""}`,
    );
    return [...flat(entry, ""), ...groups];
}
