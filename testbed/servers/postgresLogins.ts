/**
 * What a stack's login Job makes of a server on loopback: Azure's or StackGres' starting point (the admin and, with
 * `postgres.azure.databases: arm`, the ARM databases; or the superuser's password), the login Job's real entrypoint and psql script run against it, and each
 * application's contract pointing at it. `startPostgres` is the sandbox's entry point (cli/sandbox.ts).
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { isDeepStrictEqual } from "util";
import type { PlatformConfig } from "../../components/config";
import { loginJobFiles, loginJobSpec } from "../../components/postgres/loginJobSpec";
import { STACKGRES_SUPERUSER, plainLoginHba } from "../../components/postgres/stackgresSpec";
import type { RecordedResource, RunResult } from "../../offline/mockEngine";
import { PostgresEndpoint, postgresEnv } from "../../components/postgres/env";
import { PG_ADMIN_CREDENTIAL } from "../../components/postgres/credentials";
import { armDatabases } from "../../components/postgres/azureSpec";
import { postgresCaCert } from "../../components/postgres/contract";
import {
    AppLogin,
    JobSecretFile,
    LoginSqlOptions,
    appLogins,
    expectedDigests,
    jobSecretFiles,
    ADMIN_SECRET_KEY,
    loginSqlOptions,
    loginVerifiers,
    sqlLiteral,
    tenantJobSecretFiles,
} from "../../components/postgres/sql";
import { LOOPBACK } from "./processes";
import { postgresNames, postgresServerConfig } from "../../components/postgres/servers";
import { DEFAULT_INSTANCE } from "../../components/serviceModule";
import { PG_MONITOR_CREDENTIAL } from "../../components/postgres/credentials";
import { LocalServer, PG_BIN, TLS_ONLY_HBA, requirePostgresBinaries, startLocalServer, superuserSql } from "./postgres";

const SUPERUSER = STACKGRES_SUPERUSER;

/**
 * Azure's server admin: `azure_pg_admin` and the admin login in it, NOSUPERUSER with CREATEDB and CREATEROLE.
 * `azure_pg_admin` may grant `pg_monitor`, which PostgreSQL 16 allows only with ADMIN OPTION on it: Azure gives its
 * members that ("Improved control for azure_pg_admin", MicrosoftDocs azure-databases-docs
 * articles/postgresql/security/security-access-control.md; `GRANT pg_monitor` works on Azure 16 and 17:
 * DataDog/documentation#39602). `pg_write_all_data` it may not grant (same page).
 */
export async function createAzureAdmin(server: LocalServer, adminLogin: string, adminPassword: string): Promise<void> {
    await superuserSql(
        server,
        [
            "CREATE ROLE azure_pg_admin NOLOGIN;",
            "GRANT pg_monitor TO azure_pg_admin WITH ADMIN OPTION;",
            `CREATE ROLE "${adminLogin}" LOGIN NOSUPERUSER INHERIT CREATEDB CREATEROLE IN ROLE azure_pg_admin PASSWORD ${sqlLiteral(adminPassword)};`,
        ].join("\n"),
    );
    // A database the admin creates in SQL copies template1. Whose `public` is in Azure's template1 is not verified: the
    // stricter case, as in the databases ARM creates (see `createAzureDatabase`), which the login Job must hand over.
    await superuserSql(server, "ALTER SCHEMA public OWNER TO azure_pg_admin;", "template1");
}

/**
 * A database as ARM creates it: owned by `azure_pg_admin`, and so is its schema `public` (not `pg_database_owner`
 * as on PostgreSQL 15+ elsewhere: `ALTER SCHEMA public OWNER TO azure_pg_admin` in pg_dumps of Azure 16 and 17
 * databases; frappe/frappe#39145, backstage/backstage#24531).
 */
export async function createAzureDatabase(server: LocalServer, name: string): Promise<void> {
    await superuserSql(server, `CREATE DATABASE "${name}" OWNER azure_pg_admin;`);
    await superuserSql(server, "ALTER SCHEMA public OWNER TO azure_pg_admin;", name);
}

/** What Azure provides before the login Job runs: the server admin, and the databases ARM creates (`arm`). */
export async function prepareAzureLikeServer(
    server: LocalServer,
    adminLogin: string,
    adminPassword: string,
    armDatabases: readonly AppLogin[],
): Promise<void> {
    await createAzureAdmin(server, adminLogin, adminPassword);
    for (const l of armDatabases) {
        await createAzureDatabase(server, l.database);
    }
}

/** What StackGres provides before the login Job runs: the superuser with its password (from the credentials Secret). */
export async function prepareStackGresLikeServer(server: LocalServer, superuserPassword: string): Promise<void> {
    await superuserSql(server, `ALTER ROLE "${SUPERUSER}" PASSWORD ${sqlLiteral(superuserPassword)};`);
}

/** The passwords the login SQL needs, by credential id (admin and both logins of each application). */
export type CredentialPasswords = Readonly<Record<string, string>>;

export interface LoginJobRun {
    /** The Azure admin login, or the StackGres superuser. */
    readonly adminLogin: string;
    readonly logins: readonly AppLogin[];
    readonly sqlOptions: LoginSqlOptions;
    /** The passwords behind what the Job's Secret holds now (the admin's, and each login's as its verifier). */
    readonly passwords: CredentialPasswords;
    /** The passwords the Job was rendered for (default: `passwords`). */
    readonly expected?: CredentialPasswords;
    readonly waitSeconds?: number;
    /** The server's CA the Job is rendered with (`loginJobFiles`); given, it verifies the server (verify-full). */
    readonly caCert?: string;
    /** The host name the Job is rendered with (default the loopback address); it reaches the server on loopback. */
    readonly host?: string;
    /**
     * A tenant stack's Job (`sqlOptions.tenant` set): its digests and salts are keyed by this credential's password;
     * the admin's password is still in its Secret (synced in the cluster), the tenant's stack never knows it.
     */
    readonly tenantKey?: string;
}

/** The Job's volumes written under `dir`, its entrypoint and environment, ready to run on this host. */
interface PreparedJob {
    readonly dir: string;
    readonly script: string;
    readonly env: NodeJS.ProcessEnv;
}

/**
 * Runs the login Job's entrypoint and psql script against the server, with the Job's files and Secret as its volumes
 * and the env its spec renders (mount paths translated); only the server's address is the loopback's (`PGHOSTADDR`,
 * so libpq still checks the certificate against the rendered host name).
 * @returns psql's output
 */
export function runLoginJob(server: LocalServer, run: LoginJobRun): string {
    const job = preparedLoginJob(server, run);
    try {
        const result = spawnSync("sh", [job.script], { encoding: "utf8", env: job.env });
        if (result.status !== 0) {
            throw new Error(`login job failed (${result.status}): ${result.stderr}${result.stdout}`);
        }
        return result.stdout + result.stderr;
    } finally {
        fs.rmSync(job.dir, { recursive: true, force: true });
    }
}

/** `runLoginJob` without waiting for it: several Jobs on one server at once (tenant stacks deploy in parallel). */
export async function runLoginJobAsync(server: LocalServer, run: LoginJobRun): Promise<string> {
    const job = preparedLoginJob(server, run);
    try {
        return await new Promise((resolve, reject) => {
            const child = spawn("sh", [job.script], { env: job.env });
            let output = "";
            child.stdout.on("data", (d) => (output += d));
            child.stderr.on("data", (d) => (output += d));
            child.on("error", reject);
            child.on("close", (status) =>
                status === 0 ? resolve(output) : reject(new Error(`login job failed (${status}): ${output}`)),
            );
        });
    } finally {
        fs.rmSync(job.dir, { recursive: true, force: true });
    }
}

/** Writes the Job's volumes into a new directory (the caller removes it) and translates its spec to this host. */
function preparedLoginJob(server: LocalServer, run: LoginJobRun): PreparedJob {
    requirePostgresBinaries(PG_BIN, ["psql", "pg_isready"]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dp-login-job-"));
    try {
        const volumes = { job: path.join(dir, "job"), secrets: path.join(dir, "secrets") };
        Object.values(volumes).forEach((v) => fs.mkdirSync(v));
        const keyed = (from: CredentialPasswords) =>
            run.tenantKey === undefined
                ? secretFiles(run.logins, from, run.sqlOptions)
                : tenantSecretFiles(run.logins, from, run.tenantKey, run.sqlOptions);
        const admin = { key: ADMIN_SECRET_KEY, value: need(run.passwords, PG_ADMIN_CREDENTIAL) };
        for (const f of [...(run.tenantKey === undefined ? [] : [admin]), ...keyed(run.passwords)]) {
            fs.writeFileSync(path.join(volumes.secrets, f.key), f.value);
        }
        const expected = run.expected ?? run.passwords;
        const digestKey = need(expected, run.tenantKey ?? PG_ADMIN_CREDENTIAL);
        const files = loginJobFiles(run.logins, run.sqlOptions, run.caCert);
        for (const [file, text] of Object.entries(files)) {
            fs.writeFileSync(path.join(volumes.job, file), text);
        }
        const container = loginJobSpec(
            {
                files,
                image: "(not run: the entrypoint runs here)",
                host: run.host ?? LOOPBACK,
                port: server.port,
                adminLogin: run.adminLogin,
                expectedDigests: expectedDigests(digestKey, keyed(expected)),
                // The stack's own server's login Job.
            },
            postgresNames({}).logins,
        ).template.spec.containers[0];
        const local = (value: string) => {
            const mount = container.volumeMounts.find(
                (m) => value.startsWith(`${m.mountPath}/`) || value === m.mountPath,
            );
            return mount ? volumes[mount.name as keyof typeof volumes] + value.slice(mount.mountPath.length) : value;
        };
        return {
            dir,
            script: local(container.command[1]),
            env: {
                ...Object.fromEntries(container.env.map((e) => [e.name, local(e.value)])),
                PATH: `${PG_BIN}:${process.env.PATH ?? "/usr/bin:/bin"}`,
                WAIT_SECONDS: String(run.waitSeconds ?? 0),
                PGHOSTADDR: LOOPBACK,
            },
        };
    } catch (e) {
        fs.rmSync(dir, { recursive: true, force: true });
        throw e;
    }
}

/** The azure-mode login Job (no extensions): `runLoginJob` as the non-superuser admin. */
export function runAzureLoginJob(
    server: LocalServer,
    adminLogin: string,
    logins: readonly AppLogin[],
    passwords: CredentialPasswords,
    options: {
        waitSeconds?: number;
        expected?: CredentialPasswords;
        monitor?: boolean;
        /** The Job creates the missing databases (`postgres.azure.databases: sql`); default: ARM made them. */
        createDatabases?: boolean;
    } = {},
): string {
    const { monitor, createDatabases, ...rest } = options;
    const sqlOptions = {
        createDatabases: createDatabases ?? false,
        superuser: false,
        extensions: [],
        ...(monitor ? { monitor: PG_MONITOR_CREDENTIAL } : {}),
    };
    return runLoginJob(server, { adminLogin, logins, sqlOptions, passwords, ...rest });
}

/**
 * Applies the stack's logins and databases the way its mode does: on a fresh server, or again on one that has them
 * (a rotation, a restored cluster).
 */
export async function applyLogins(
    server: LocalServer,
    stack: PlatformConfig,
    passwords: CredentialPasswords,
    options: { fresh?: boolean } = {},
): Promise<void> {
    // The testbed runs the stack's own (default) server.
    const config = postgresServerConfig(stack, DEFAULT_INSTANCE);
    const logins = appLogins(config.apps, config.keyVault.rotations);
    const fresh = options.fresh ?? true;
    const admin = need(passwords, PG_ADMIN_CREDENTIAL);
    const azure = config.postgres.mode === "azure";
    if (fresh) {
        await (azure
            ? prepareAzureLikeServer(
                  server,
                  config.postgres.azure.adminLogin,
                  admin,
                  armDatabases(config) ? logins : [],
              )
            : prepareStackGresLikeServer(server, admin));
    }
    runLoginJob(server, {
        adminLogin: azure ? config.postgres.azure.adminLogin : SUPERUSER,
        logins,
        sqlOptions: loginSqlOptions(config),
        passwords,
        // Where the stack's Job has a CA to verify against, the server's own plays it (as for DB_CA_CERT below).
        caCert: postgresCaCert(config.postgres) !== undefined ? fs.readFileSync(server.caFile, "utf8") : undefined,
    });
}

function need(passwords: CredentialPasswords, id: string): string {
    const value = passwords[id];
    if (value === undefined) {
        throw new Error(`no password for credential ${id}`);
    }
    return value;
}

/** The login Job's Secret for these passwords: the admin's, and every login's verifier. */
function secretFiles(
    logins: readonly AppLogin[],
    passwords: CredentialPasswords,
    options: Pick<LoginSqlOptions, "monitor">,
): JobSecretFile[] {
    return jobSecretFiles(
        need(passwords, PG_ADMIN_CREDENTIAL),
        logins,
        (login) => need(passwords, login.credentialId),
        options,
    );
}

/** A tenant Job's Secret files its digests cover: its key and every login's verifier salted with it. */
function tenantSecretFiles(
    logins: readonly AppLogin[],
    passwords: CredentialPasswords,
    tenantKey: string,
    options: Pick<LoginSqlOptions, "monitor">,
): JobSecretFile[] {
    const key = need(passwords, tenantKey);
    return tenantJobSecretFiles(
        key,
        loginVerifiers(key, logins, (login) => need(passwords, login.credentialId), options),
    );
}

/**
 * Checks that a mock run of the program deploys exactly the login Job this module runs: its files, and the digests of
 * exactly these passwords.
 */
export function assertDeployedSql(run: RunResult, stack: PlatformConfig, passwords: CredentialPasswords): void {
    const config = postgresServerConfig(stack, DEFAULT_INSTANCE);
    const logins = appLogins(config.apps, config.keyVault.rotations);
    const find = (type: string, pred: (r: RecordedResource) => boolean) => {
        const found = run.resources.filter((r) => r.type === type && pred(r));
        if (found.length !== 1) {
            throw new Error(`the run has ${found.length} ${type} resources where one was expected`);
        }
        return found[0];
    };
    const configMap = find(
        "kubernetes:core/v1:ConfigMap",
        (r) => r.inputs.metadata?.name === postgresNames(config.postgres).logins,
    );
    const jobFiles = loginJobFiles(logins, loginSqlOptions(config), postgresCaCert(config.postgres));
    if (!isDeepStrictEqual(configMap.inputs.data, jobFiles)) {
        throw new Error("the run deploys a different login Job SQL than the sandbox runs");
    }
    const job = find("kubernetes:batch/v1:Job", (r) =>
        r.inputs.metadata?.name?.startsWith(`${postgresNames(config.postgres).logins}-`),
    );
    const env: Array<{ name: string; value: string }> = job.inputs.spec.template.spec.containers[0].env;
    const digests = env.find((e) => e.name === "EXPECTED_DIGESTS")?.value;
    const files = secretFiles(logins, passwords, loginSqlOptions(config));
    if (digests !== expectedDigests(need(passwords, PG_ADMIN_CREDENTIAL), files)) {
        throw new Error("the run deploys a login Job that waits for other passwords than the sandbox's");
    }
}

/**
 * Input of `startPostgres`.
 * - `config`: the stack's validated configuration (its apps and `postgres.mode` decide what is created).
 * - `passwords`: the mocked generated passwords by credential id (`pg-admin`, `pg-app-<app>`, `pg-alt-<app>`), e.g.
 *   the `RandomPassword` results of the stack's mock run.
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

/** Each application's contract at the configuration's login generation, pointing at `server`. */
export function contractsOn(
    server: LocalServer,
    config: PlatformConfig,
    passwords: CredentialPasswords,
): Record<string, Record<string, string>> {
    // The sandbox's own CA plays the issuer's (or Azure's roots'): DB_CA_CERT lets clients verify-full against it.
    const endpoint: PostgresEndpoint = {
        host: LOOPBACK,
        port: server.port,
        sslMode: "require",
        caCert: fs.readFileSync(server.caFile, "utf8"),
        // It plays Azure's public roots too (the seed tests hand it to Node as its store's).
        caIsPublic: config.postgres.mode === "azure",
    };
    const logins = appLogins(config.apps, config.keyVault.rotations);
    return Object.fromEntries(
        config.apps.map((app, i) => [
            app.name,
            postgresEnv(
                endpoint,
                {
                    database: logins[i].database,
                    user: logins[i].current.name,
                    password: need(passwords, logins[i].current.credentialId),
                },
                app.poolSize,
                app.postgres,
            ),
        ]),
    );
}

/** Starts one PostgreSQL on loopback with the stack's logins and databases, and returns each app's contract. */
export async function startPostgres(input: StartPostgresInput): Promise<StartedPostgres> {
    if (input.run) {
        assertDeployedSql(input.run, input.config, input.passwords);
    }
    const server = await startLocalServer({
        port: input.port,
        maxConnections: input.config.postgres.maxConnections,
        // TLS only, but for the logins of applications without it, as the server's rendered pg_hba admits them.
        hba: [...plainLoginHba(input.config.apps), ...TLS_ONLY_HBA],
    });
    try {
        await applyLogins(server, input.config, input.passwords);
    } catch (err) {
        await server.stop();
        throw err;
    }
    return {
        processes: [{ role: "primary", port: server.port, pid: server.pid }],
        env: contractsOn(server, input.config, input.passwords),
        caFile: server.caFile,
        stop: () => server.stop(),
    };
}
