/**
 * PostgreSQL on loopback with TLS, given exactly the logins and databases a stack renders.
 *
 * `startPostgres(input)` is the sandbox's entry point (tools/sandbox.ts); the integration tests use the lower
 * layers (`startLocalServer`, `applyLogins`). Applications' login SQL is the program's own rendering
 * (components/postgres/sql.ts): in azure mode the login Job's entrypoint and psql script run as a
 * non-superuser admin (as on Azure), against databases created beforehand as ARM would; in stackgres mode the
 * SGScript entries run in order as the superuser, each statement string sent whole as the operator's JDBC does.
 *
 * PostgreSQL refuses to run as root: when running as root, the server runs as the `postgres` OS user.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { isDeepStrictEqual } from "util";
import { Client } from "pg";
import type { PlatformConfig } from "../../components/config";
import { LOGIN_JOB, loginJobFiles } from "../../components/postgres/azureSpec";
import { loginSqlVaultSecretName, stackGresNames } from "../../components/postgres/stackgresSpec";
import type { RecordedResource, RunResult } from "../../engine/mockEngine";
import { PostgresEndpoint, postgresEnv } from "../../components/postgres/env";
import { PG_ADMIN_CREDENTIAL, pgAppCredentialId } from "../../components/postgres/credentials";
import {
    ADMIN_SECRET_KEY,
    AppLogin,
    appLogins,
    expectedDigests,
    loginSecretKey,
    renderAzureLoginSql,
    renderLoginEntrypoint,
    resolveScriptEntries,
    roleSqlKey,
    sqlLiteral,
    stackGresRoleSql,
    stackGresScriptEntries,
} from "../../components/postgres/sql";
import { makeCertificates } from "./certificates";
import { LOOPBACK, freePorts, requireCommands } from "./processes";

/** PostgreSQL 15 server binaries (Debian layout); override with `PG_BIN`. */
export const PG_BIN = process.env.PG_BIN ?? "/usr/lib/postgresql/15/bin";
const SUPERUSER = "postgres";

export interface LocalServer {
    readonly port: number;
    readonly pid: number;
    /** Unix socket directory: the superuser connects there without a password. */
    readonly socketDir: string;
    /** CA that issued the server certificate (for clients that verify, e.g. NODE_EXTRA_CA_CERTS). */
    readonly caFile: string;
    readonly dir: string;
    stop(): Promise<void>;
}

export interface LocalServerOptions {
    /** TCP port on 127.0.0.1; default: a free one from the OS. */
    readonly port?: number;
    readonly maxConnections?: number;
}

/** Fails loudly when the binaries a server needs are missing. */
export function requirePostgresBinaries(): void {
    const missing = ["initdb", "pg_ctl", "postgres", "psql"].filter((b) => !fs.existsSync(path.join(PG_BIN, b)));
    if (missing.length > 0) {
        throw new Error(
            `PostgreSQL binaries missing in ${PG_BIN}: ${missing.join(", ")} (apt-get install postgresql-15, or set PG_BIN)`,
        );
    }
    requireCommands(["openssl"], "needed for the server's TLS certificate");
}

const asRoot = process.getuid?.() === 0;

/** Runs a server binary, as the `postgres` OS user when we are root. */
function runAsServerUser(binary: string, args: string[]): string {
    const [cmd, argv] = asRoot
        ? ["runuser", ["-u", "postgres", "--", path.join(PG_BIN, binary), ...args]]
        : [path.join(PG_BIN, binary), args];
    const result = spawnSync(cmd, argv, { encoding: "utf8" });
    if (result.status !== 0) {
        throw new Error(`${binary} ${args.join(" ")} failed (${result.status}): ${result.stderr || result.stdout}`);
    }
    return result.stdout;
}

/** initdb + start: TLS only over TCP (no plain `host` line in pg_hba), SCRAM passwords, superuser on the socket. */
export async function startLocalServer(options: LocalServerOptions = {}): Promise<LocalServer> {
    requirePostgresBinaries();
    const port = options.port ?? (await freePorts(1))[0];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dp-pg-"));
    fs.chmodSync(dir, 0o755);
    const dataDir = path.join(dir, "data");
    const certs = makeCertificates(dir, { ca: "ca.crt", cert: "server.crt", key: "server.key" });
    if (asRoot) {
        execFileSync("chown", ["-R", "postgres:postgres", dir]);
    }
    fs.chmodSync(certs.key, 0o600);
    runAsServerUser("initdb", [
        "-D",
        dataDir,
        "-U",
        SUPERUSER,
        "--auth-local=trust",
        "--auth-host=reject",
        "-E",
        "UTF8",
        "--locale=C.UTF-8",
    ]);
    fs.writeFileSync(
        path.join(dataDir, "pg_hba.conf"),
        [`local all ${SUPERUSER} trust`, "hostssl all all 127.0.0.1/32 scram-sha-256", ""].join("\n"),
    );
    fs.appendFileSync(
        path.join(dataDir, "postgresql.conf"),
        [
            "",
            "listen_addresses = '127.0.0.1'",
            `port = ${port}`,
            `unix_socket_directories = '${dir}'`,
            `max_connections = ${options.maxConnections ?? 100}`,
            "ssl = on",
            `ssl_cert_file = '${certs.cert}'`,
            `ssl_key_file = '${certs.key}'`,
            "ssl_min_protocol_version = 'TLSv1.2'",
            "password_encryption = 'scram-sha-256'",
            "fsync = off",
            "",
        ].join("\n"),
    );
    runAsServerUser("pg_ctl", ["-D", dataDir, "-l", path.join(dir, "server.log"), "-w", "-t", "60", "start"]);
    const pid = Number(fs.readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
    let stopped = false;
    return {
        port,
        pid,
        socketDir: dir,
        caFile: certs.ca,
        dir,
        async stop() {
            if (stopped) {
                return;
            }
            stopped = true;
            runAsServerUser("pg_ctl", ["-D", dataDir, "-m", "fast", "-w", "stop"]);
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
}

/** Runs `sql` as the superuser over the socket, as one simple-query string (the way JDBC's execute sends it). */
export async function superuserSql(server: LocalServer, sql: string, database = "postgres"): Promise<void> {
    const client = new Client({ host: server.socketDir, port: server.port, user: SUPERUSER, database });
    await client.connect();
    try {
        await client.query(sql);
    } finally {
        await client.end();
    }
}

/** What Azure provides before the login Job runs: `azure_pg_admin`, the admin login in it, and the ARM databases. */
export async function prepareAzureLikeServer(
    server: LocalServer,
    adminLogin: string,
    adminPassword: string,
    logins: readonly AppLogin[],
): Promise<void> {
    await superuserSql(
        server,
        [
            "CREATE ROLE azure_pg_admin NOLOGIN;",
            // The privileges Azure gives the server admin (NOSUPERUSER, CREATEDB, CREATEROLE).
            `CREATE ROLE "${adminLogin}" LOGIN NOSUPERUSER INHERIT CREATEDB CREATEROLE IN ROLE azure_pg_admin PASSWORD ${sqlLiteral(adminPassword)};`,
        ].join("\n"),
    );
    for (const l of logins) {
        await superuserSql(server, `CREATE DATABASE "${l.database}" OWNER azure_pg_admin;`);
    }
}

/** The passwords the login SQL needs, by credential id (admin and one per application). */
export type CredentialPasswords = Readonly<Record<string, string>>;

/**
 * Runs the azure-mode login Job's entrypoint and psql script against the server, with the Job's Secret as files.
 * @returns psql's output
 */
export function runAzureLoginJob(
    server: LocalServer,
    adminLogin: string,
    logins: readonly AppLogin[],
    passwords: CredentialPasswords,
    options: { waitSeconds?: number; expected?: CredentialPasswords } = {},
): string {
    // The Job waits for the passwords it was rendered for (`expected`); the files hold what the Secret has now.
    const expected = options.expected ?? passwords;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dp-login-job-"));
    try {
        const secrets = path.join(dir, "secrets");
        fs.mkdirSync(secrets);
        const keyed = (from: CredentialPasswords) => [
            { key: ADMIN_SECRET_KEY, password: need(from, PG_ADMIN_CREDENTIAL) },
            ...logins.map((l) => ({ key: loginSecretKey(l), password: need(from, pgAppCredentialId(l.app)) })),
        ];
        const files = keyed(passwords);
        for (const f of files) {
            fs.writeFileSync(path.join(secrets, f.key), f.password);
        }
        fs.writeFileSync(path.join(dir, "logins.sql"), renderAzureLoginSql(logins));
        fs.writeFileSync(path.join(dir, "apply.sh"), renderLoginEntrypoint(logins));
        const result = spawnSync("sh", [path.join(dir, "apply.sh")], {
            encoding: "utf8",
            env: {
                PATH: `${PG_BIN}:${process.env.PATH ?? "/usr/bin:/bin"}`,
                SECRETS_DIR: secrets,
                SQL_FILE: path.join(dir, "logins.sql"),
                EXPECTED_DIGESTS: expectedDigests(keyed(expected)),
                WAIT_SECONDS: String(options.waitSeconds ?? 0),
                PGHOST: "127.0.0.1",
                PGPORT: String(server.port),
                PGUSER: adminLogin,
                PGDATABASE: "postgres",
                PGSSLMODE: "require",
            },
        });
        if (result.status !== 0) {
            throw new Error(`login job failed (${result.status}): ${result.stderr}${result.stdout}`);
        }
        return result.stdout + result.stderr;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** The stackgres-mode entries with their SQL resolved, as the operator would run them (superuser, in order). */
export function stackGresSql(
    logins: readonly AppLogin[],
    passwords: CredentialPasswords,
): Array<{ id: number; name: string; sql: string }> {
    const secretName = "sql";
    const data = Object.fromEntries(
        logins.map((l) => [roleSqlKey(l), stackGresRoleSql(l, need(passwords, pgAppCredentialId(l.app)))]),
    );
    return resolveScriptEntries(stackGresScriptEntries(logins, secretName), data);
}

/** Applies the stack's logins and databases to a fresh server, the way its mode does. */
export async function applyLogins(
    server: LocalServer,
    config: PlatformConfig,
    passwords: CredentialPasswords,
): Promise<void> {
    const logins = appLogins(config.apps);
    if (config.postgres.mode === "azure") {
        await prepareAzureLikeServer(
            server,
            config.postgres.azure.adminLogin,
            need(passwords, PG_ADMIN_CREDENTIAL),
            logins,
        );
        runAzureLoginJob(server, config.postgres.azure.adminLogin, logins, passwords);
    } else {
        for (const entry of stackGresSql(logins, passwords)) {
            await superuserSql(server, entry.sql);
        }
    }
}

function need(passwords: CredentialPasswords, id: string): string {
    const value = passwords[id];
    if (value === undefined) {
        throw new Error(`no password for credential ${id}`);
    }
    return value;
}

/**
 * Checks that a mock run of the program deploys exactly the SQL this module runs: the login Job's ConfigMap
 * (azure mode), or the SGScript entries and the role SQL written to Key Vault (stackgres mode).
 */
export function assertDeployedSql(run: RunResult, config: PlatformConfig, passwords: CredentialPasswords): void {
    const logins = appLogins(config.apps);
    const find = (type: string, pred: (r: RecordedResource) => boolean = () => true) => {
        const found = run.resources.filter((r) => r.type === type && pred(r));
        if (found.length !== 1) {
            throw new Error(`the run has ${found.length} ${type} resources where one was expected`);
        }
        return found[0];
    };
    const differ = (what: string, deployed: unknown, rendered: unknown) => {
        if (!isDeepStrictEqual(deployed, rendered)) {
            throw new Error(`the run deploys a different ${what} than the sandbox runs`);
        }
    };
    if (config.postgres.mode === "azure") {
        const cm = find("kubernetes:core/v1:ConfigMap", (r) => r.inputs.metadata?.name === LOGIN_JOB.configMap);
        differ("login Job SQL", cm.inputs.data, loginJobFiles(logins));
        return;
    }
    const names = stackGresNames(config.postgres.stackgres.clusterName);
    const script = find("kubernetes:stackgres.io/v1:SGScript");
    differ("SGScript", script.inputs.spec.scripts, stackGresScriptEntries(logins, names.loginSqlSecret));
    for (const l of logins) {
        const kv = find("azure-native:keyvault:Secret", (r) => r.inputs.secretName === loginSqlVaultSecretName(l.app));
        differ(
            `role SQL of ${l.app}`,
            kv.inputs.properties?.value,
            stackGresRoleSql(l, need(passwords, pgAppCredentialId(l.app))),
        );
    }
}

/**
 * Input of `startPostgres`.
 * - `config`: the stack's validated configuration (its apps and `postgres.mode` decide what is created).
 * - `passwords`: the mocked generated passwords by credential id (`pg-admin`, `pg-app-<app>`), e.g. the
 *   `RandomPassword` results of the stack's mock run.
 * - `port`: TCP port on 127.0.0.1 (default: a free one from the OS).
 * - `run`: optional mock run of the same stack (see `assertDeployedSql`).
 */
export interface StartPostgresInput {
    readonly config: PlatformConfig;
    readonly passwords: CredentialPasswords;
    readonly port?: number;
    /** The stack's mock run: when given, its deployed SQL must equal what the sandbox runs (else it throws). */
    readonly run?: RunResult;
}

export interface StartedPostgres {
    readonly processes: Array<{ role: string; port: number; pid: number }>;
    /** Per application name: its PostgreSQL contract (DB_*, DATABASE_URL) pointing at loopback. */
    readonly env: Record<string, Record<string, string>>;
    /** CA of the server certificate: node-postgres verifies with `sslmode=require`, so pass it as NODE_EXTRA_CA_CERTS. */
    readonly caFile: string;
    stop(): Promise<void>;
}

/** Starts one PostgreSQL on loopback with the stack's logins and databases, and returns each app's contract. */
export async function startPostgres(input: StartPostgresInput): Promise<StartedPostgres> {
    if (input.run) {
        assertDeployedSql(input.run, input.config, input.passwords);
    }
    const server = await startLocalServer({
        port: input.port,
        maxConnections: input.config.postgres.maxConnections,
    });
    try {
        await applyLogins(server, input.config, input.passwords);
    } catch (err) {
        await server.stop();
        throw err;
    }
    const endpoint: PostgresEndpoint = { host: LOOPBACK, port: server.port, sslMode: "require" };
    const logins = appLogins(input.config.apps);
    const env = Object.fromEntries(
        input.config.apps.map((app, i) => [
            app.name,
            postgresEnv(
                endpoint,
                {
                    database: logins[i].database,
                    user: logins[i].role,
                    password: need(input.passwords, pgAppCredentialId(app.name)),
                },
                app.poolSize,
            ),
        ]),
    );
    return {
        processes: [{ role: "primary", port: server.port, pid: server.pid }],
        env,
        caFile: server.caFile,
        stop: () => server.stop(),
    };
}

/** Restarts a server from `startLocalServer` (static parameters such as max_connections take effect); data and port stay. */
export function restartLocalServer(server: LocalServer): void {
    const dataDir = path.join(server.dir, "data");
    runAsServerUser("pg_ctl", [
        "-D",
        dataDir,
        "-l",
        path.join(server.dir, "server.log"),
        "-m",
        "fast",
        "-w",
        "-t",
        "60",
        "restart",
    ]);
}
