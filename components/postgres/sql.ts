/**
 * The SQL (and the login Job's entrypoint, `scripts/login.sh`) that gives each application its logins and database.
 * Deterministic: the exact text rendered here is unit-tested, run against a real PostgreSQL and deployed.
 *
 * One psql script for both modes, run by the login Job: idempotent (safe to run any number of times, on a server
 * restored with everything present or on a fresh one), each login's SCRAM-SHA-256 verifier (never its password: see
 * scram.ts) as a psql variable from the environment, never as text in the script. Per application it ends in the same
 * state:
 * - an owning role named like the database, owning it and its `public` schema (on Azure too, where `azure_pg_admin`
 *   owns `public` in a new database), the database closed to PUBLIC so one application cannot connect to another's;
 * - two logins that alternate on rotation (the alternating-users strategy): the owning role itself and `<role>_alt`, a
 *   member of it whose sessions start as it (`SET role`), so whatever either login creates is owned by the one role.
 * Azure mode runs it as the (non-superuser) admin login, StackGres mode as the superuser. Both create missing databases
 * with `\gexec` (the operator's SGScript runs over JDBC, where no meta-command works, and a plain `CREATE DATABASE`
 * fails once the database exists), except an Azure server whose databases are ARM resources (`postgres.azure.databases`).
 */
import * as crypto from "crypto";
import * as path from "path";
import type { AppConfig } from "../config/platform";
import type { Rotations } from "../config/keyVault";
import type { ServerConfig } from "../config/types";
import { EXTENSION_NAME, PG_IDENTIFIER } from "../config/names";
import { renderScript } from "../scriptTemplate";
import {
    PG_MONITOR_CREDENTIAL,
    azureMonitoring,
    loginGeneration,
    pgAltCredentialId,
    pgAppCredentialId,
} from "./credentials";
import { SCRAM_SALT_BYTES, loginVerifier, scramVerifier } from "./scram";
import { postgresNames } from "./servers";
import { partCounts, splitInto } from "../vault/parts";

/** One login of an application and the credential holding its password. */
export interface Login {
    readonly name: string;
    readonly credentialId: string;
}

/** One application's owning role, database and its two alternating logins. */
export interface AppLogin {
    readonly app: string;
    /** Owns the database and every object the logins create; also the first login. */
    readonly role: string;
    readonly database: string;
    /** The owning role itself, then `<role>_alt`. */
    readonly logins: readonly [Login, Login];
    /** The login the application's Secret names: `logins[generation % 2]`. */
    readonly current: Login;
}

/**
 * The login postgres_exporter connects as (azure mode, monitoring on): a member of `pg_monitor` only, which reads
 * statistics and settings and no table (PostgreSQL docs, predefined roles); owns nothing, may connect to no
 * application database (they are closed to PUBLIC).
 */
export const MONITOR_LOGIN: Login = { name: "data_platform_monitor", credentialId: PG_MONITOR_CREDENTIAL };

/**
 * Sessions the monitoring login may hold: postgres_exporter 0.17 holds one for its built-in queries and opens one per
 * scrape for its collectors (tests/servers/monitoring/monitoringPostgresAzure.test.ts counts them); one spare for a
 * scrape that overlaps a slow one. They count against the applications' budget: at most this many of it.
 */
export const MONITOR_CONNECTION_LIMIT = 3;

/** Comment of the monitoring login: not `MANAGED_LOGIN_COMMENT`, so no application's removal ever touches it. */
const MONITOR_LOGIN_COMMENT = "data-platform: monitoring (postgres_exporter)";

/** Every login the Job sets: both of each application, then the monitoring login when it is on. */
export function jobLogins(logins: readonly AppLogin[], options: Pick<LoginSqlOptions, "monitor"> = {}): Login[] {
    return [
        ...logins.flatMap((l) => l.logins),
        ...(options.monitor ? [{ ...MONITOR_LOGIN, credentialId: options.monitor }] : []),
    ];
}

/** Suffix of the alternate login (a database name leaves room for it: see the config rules). */
export const ALT_LOGIN_SUFFIX = "_alt";

/** The application's logins at the login generation given by `rotations` (`keyVault.rotations`). */
export function appLogins(apps: readonly AppConfig[], rotations: Rotations = {}): AppLogin[] {
    return apps.map((a) => {
        const role = identifier(a.database);
        const logins = [
            { name: role, credentialId: pgAppCredentialId(a.name) },
            { name: identifier(`${role}${ALT_LOGIN_SUFFIX}`), credentialId: pgAltCredentialId(a.name) },
        ] as const;
        return {
            app: a.name,
            role,
            database: role,
            logins,
            current: logins[loginGeneration(rotations, a.name) % 2],
        };
    });
}

/** A plain lowercase name, checked, so SQL text can never be injected through configuration. */
function identifier(name: string): string {
    if (!PG_IDENTIFIER.test(name) || name.length > 63) {
        throw new Error(`not a plain PostgreSQL identifier: ${JSON.stringify(name)}`);
    }
    return name;
}

/** An extension name, checked and quoted (`uuid-ossp` has a dash). */
function extension(name: string): string {
    if (!EXTENSION_NAME.test(name)) {
        throw new Error(`not an extension name: ${JSON.stringify(name)}`);
    }
    return `"${name}"`;
}

/** Quoted, so that names which are SQL keywords (`user`, `order`) work too; same name as unquoted for lowercase. */
function q(name: string): string {
    return `"${identifier(name)}"`;
}

/** A single-quoted SQL string literal (standard_conforming_strings is on in every supported version). */
export function sqlLiteral(value: string): string {
    if (value.includes("\u0000")) {
        throw new Error("a SQL literal cannot contain NUL");
    }
    return `'${value.replace(/'/g, "''")}'`;
}

/** Key of the admin password in the Job's synced Secret. */
export const ADMIN_SECRET_KEY = "admin";

/** Key of a tenant Job's own key in its synced Secret: its digests and SCRAM salts are keyed by it (`tenantLogin.sh`). */
export const TENANT_KEY_SECRET_KEY = "tenant-key";

/** Key of a login's SCRAM verifier in the Job's synced Secret (and in its verifiers' Key Vault secret): its credential id. */
export function loginSecretKey(login: Login): string {
    return login.credentialId;
}

/** Key Vault secret (JSON, by `loginSecretKey`) holding every login's SCRAM verifier, which the Job's Secret syncs. */

/** Each login's SCRAM verifier by `loginSecretKey`: the value of the server's verifiers secret (`postgresNames(...).loginVerifiers`). */
export function loginVerifiers(
    adminPassword: string,
    logins: readonly AppLogin[],
    password: (login: Login) => string,
    options: Pick<LoginSqlOptions, "monitor"> = {},
): Record<string, string> {
    return Object.fromEntries(
        jobLogins(logins, options).map((login) => [
            loginSecretKey(login),
            loginVerifier(adminPassword, login.name, password(login)),
        ]),
    );
}

/**
 * The logins whose verifiers each Key Vault secret of the server's verifiers secret (`postgresNames(...).loginVerifiers`) holds (`../vault/parts.ts`: one secret
 * holds 25 KB, ~75 applications' verifiers), planned from the entries' lengths: a verifier's is fixed.
 */
export function loginVerifierParts(
    logins: readonly AppLogin[],
    options: Pick<LoginSqlOptions, "monitor"> = {},
): Login[][] {
    const all = jobLogins(logins, options);
    const verifier = JSON.stringify(scramVerifier("", Buffer.alloc(SCRAM_SALT_BYTES)));
    const entry = (login: Login) => JSON.stringify(loginSecretKey(login)).length + verifier.length + 2;
    return splitInto(all, partCounts(all.map(entry)));
}

/** Environment variable the entrypoint exports a login's verifier in, for psql's `\getenv`. */
export function loginVerifierEnv(login: Login): string {
    return `LOGIN_VERIFIER_${login.name}`;
}

/** What differs between the modes in the login script. */
export interface LoginSqlOptions {
    /** The script creates missing databases (all but an Azure server whose databases ARM creates). */
    readonly createDatabases: boolean;
    /** StackGres: the superuser runs it and can keep the statements with verifiers out of the server log. */
    readonly superuser: boolean;
    /** Extensions created in every application database (`postgres.extensions`). */
    readonly extensions: readonly string[];
    /** Azure with monitoring on: the Job also keeps `MONITOR_LOGIN`, with the password of this credential (the server's). */
    readonly monitor?: string;
    /**
     * A tenant stack's Job (its name): its logins carry `managedLoginComment(tenant)`, so the platform's Job (while it
     * admits the tenant) and every other tenant's leave them alone, and this one turns off LOGIN only for its own.
     */
    readonly tenant?: string;
    /**
     * The platform's Job: the tenant stacks its platform admits (`data-platform:tenants`). It turns off LOGIN for the
     * logins of any other tenant (a destroyed stack's: no Job of its own is left to do it), as for a removed
     * application. Absent: every tenant's logins are left alone.
     */
    readonly tenants?: readonly string[];
}

/** The login script's options for the configuration's mode. */
export function loginSqlOptions(config: ServerConfig): LoginSqlOptions {
    const stackgres = config.postgres.mode === "stackgres";
    return {
        // With `release` too: its ARM databases exist, so the script finds nothing to create, and `sql` renders the same.
        createDatabases: stackgres || config.postgres.azure.databases !== "arm",
        superuser: stackgres,
        extensions: config.postgres.extensions,
        ...(azureMonitoring(config.postgres) ? { monitor: postgresNames(config.postgres).credentials.monitor } : {}),
        tenants: Object.keys(config.tenants),
    };
}

/**
 * Creates a role if missing, (re)sets it as a login with the SCRAM verifier in psql variable `variable` and marks it
 * with `comment` (an application's: see `revokeRemovedSql`); `limit` is a CONNECTION LIMIT clause or nothing.
 */
function loginSql(login: Login, variable: string, comment: string, limit = ""): string[] {
    const create = `create_${login.name}`;
    return [
        `\\getenv ${variable} ${loginVerifierEnv(login)}`,
        // An unset variable would stay literally `:'verifier_x'`, a syntax error: the run stops (ON_ERROR_STOP).
        `SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = ${sqlLiteral(login.name)}) AS ${create} \\gset`,
        `\\if :${create}`,
        `CREATE ROLE ${q(login.name)};`,
        `\\endif`,
        // No [NO]SUPERUSER/REPLICATION/BYPASSRLS: naming those at all needs a superuser, which Azure's admin is not.
        `ALTER ROLE ${q(login.name)} WITH LOGIN NOCREATEDB NOCREATEROLE INHERIT${limit} PASSWORD :'${variable}';`,
        `COMMENT ON ROLE ${q(login.name)} IS ${sqlLiteral(comment)};`,
    ];
}

/**
 * The monitoring login: `pg_monitor`, nothing else. On PostgreSQL 16 granting it takes ADMIN OPTION on it, which
 * Azure's admin holds through `azure_pg_admin` ("Improved control for azure_pg_admin", MicrosoftDocs
 * azure-databases-docs articles/postgresql/security/security-access-control.md; DataDog/documentation#39602).
 */
function monitorSql(): string[] {
    return [
        `-- monitoring (postgres_exporter)`,
        ...loginSql(
            MONITOR_LOGIN,
            `verifier_${MONITOR_LOGIN.name}`,
            MONITOR_LOGIN_COMMENT,
            ` CONNECTION LIMIT ${MONITOR_CONNECTION_LIMIT}`,
        ),
        `GRANT pg_monitor TO ${q(MONITOR_LOGIN.name)};`,
    ];
}

/**
 * Gives the owning role schema `public` unless it or `pg_database_owner` (PostgreSQL 15+'s own owner of `public`, which
 * is the database's owner) holds it already. Azure makes `azure_pg_admin` the owner of `public` in every new database,
 * so owning the database gives no CREATE there and an application's first migration fails "permission denied for
 * schema public" (pg_dumps of Azure 16/17 databases: `ALTER SCHEMA public OWNER TO azure_pg_admin`; frappe/frappe#39145).
 * Azure's admin may hand it over: it is a member of `azure_pg_admin`, may `SET ROLE` to the role (granted above) and
 * the role has CREATE on its database. A database whose application dropped `public` is left alone.
 */
function publicSchemaSql(role: string): string[] {
    return [
        `SELECT EXISTS (SELECT FROM pg_catalog.pg_namespace WHERE nspname = 'public' AND nspowner NOT IN ` +
            `(${sqlLiteral(role)}::regrole, 'pg_database_owner'::regrole)) AS public_owned_by_other \\gset`,
        `\\if :public_owned_by_other`,
        `ALTER SCHEMA public OWNER TO ${q(role)};`,
        `\\endif`,
    ];
}

/** Start of the comment that marks a login as the platform Job's (followed by the application's name). */
export const MANAGED_LOGIN_COMMENT = "data-platform: app ";

/**
 * Start of the comment marking the logins of the Job of `tenant` (a tenant stack's, else the platform's). A tenant's does
 * not start with `MANAGED_LOGIN_COMMENT`, so the platform's Job turns off a tenant's logins only once it no longer admits
 * the tenant (`revokeUnadmittedSql`).
 */
export function managedLoginComment(tenant: string | undefined): string {
    return tenant === undefined ? MANAGED_LOGIN_COMMENT : `${TENANT_LOGIN_COMMENT}${tenant} app `;
}

/** Start of every tenant stack's login comment (`managedLoginComment`). */
const TENANT_LOGIN_COMMENT = "data-platform: tenant ";

/**
 * Turns off LOGIN for every login the Job marked (`MANAGED_LOGIN_COMMENT`) that no current application has: an
 * application removed from the configuration loses access, its role, database and data stay (re-adding it restores
 * LOGIN and its passwords). Open sessions are not terminated: Azure's admin may signal only backends of roles whose
 * privileges it has (or with pg_signal_backend), which it lacks for `<role>_alt` (16 gives the creating admin
 * `inherit false`, 15 no membership), and killing a team's transactions mid-flight would lose its writes; the
 * sessions end at the client's next reconnect.
 */
function revokeRemovedSql(logins: readonly AppLogin[], comment: string): string[] {
    const current = logins.flatMap((l) => l.logins.map((login) => sqlLiteral(identifier(login.name))));
    return [
        `SELECT format('ALTER ROLE %I NOLOGIN', r.rolname) FROM pg_catalog.pg_roles r JOIN pg_catalog.pg_shdescription d ` +
            `ON d.objoid = r.oid AND d.classoid = 'pg_catalog.pg_authid'::regclass ` +
            `WHERE starts_with(d.description, ${sqlLiteral(comment)}) AND r.rolcanlogin ` +
            `AND r.rolname <> ALL (ARRAY[${current.join(", ")}]::text[]) ORDER BY r.rolname \\gexec`,
    ];
}

/**
 * The platform's Job: turns off LOGIN for every tenant login (`TENANT_LOGIN_COMMENT`) of a tenant stack not in `admitted`,
 * as `revokeRemovedSql` does for a removed application (roles, databases and data stay).
 */
function revokeUnadmittedSql(admitted: readonly string[]): string[] {
    const prefixes = admitted.map((tenant) => sqlLiteral(managedLoginComment(tenant)));
    return [
        `SELECT format('ALTER ROLE %I NOLOGIN', r.rolname) FROM pg_catalog.pg_roles r JOIN pg_catalog.pg_shdescription d ` +
            `ON d.objoid = r.oid AND d.classoid = 'pg_catalog.pg_authid'::regclass ` +
            `WHERE starts_with(d.description, ${sqlLiteral(TENANT_LOGIN_COMMENT)}) AND r.rolcanlogin ` +
            `AND NOT EXISTS (SELECT FROM unnest(ARRAY[${prefixes.join(", ")}]::text[]) p WHERE starts_with(d.description, p)) ` +
            `ORDER BY r.rolname \\gexec`,
    ];
}

/**
 * Stops the run before anything is altered when the (non-superuser) admin may not alter an existing login: PostgreSQL
 * 16 lets a CREATEROLE role alter only roles it holds ADMIN OPTION on, which it gets automatically only for roles it
 * creates (15 checks CREATEROLE alone). A login created by a superuser, or on 15 before an in-place upgrade, would
 * otherwise fail every run with a bare "permission denied to alter role" (src/backend/commands/user.c, AlterRole).
 */
function adminOptionCheckSql(logins: readonly Login[]): string[] {
    // None (a stack whose applications are all removed): `IN ()` would be a syntax error.
    if (logins.length === 0) {
        return [];
    }
    const names = logins.map((login) => sqlLiteral(identifier(login.name)));
    return [
        `DO $check$`,
        `DECLARE locked text;`,
        `BEGIN`,
        `  IF current_setting('server_version_num')::int < 160000 THEN RETURN; END IF;`,
        `  SELECT string_agg(quote_ident(rolname), ', ' ORDER BY rolname) INTO locked FROM pg_catalog.pg_roles`,
        `    WHERE rolname IN (${names.join(", ")}) AND NOT pg_catalog.pg_has_role(current_user, oid, 'MEMBER WITH ADMIN OPTION');`,
        `  IF locked IS NOT NULL THEN`,
        `    RAISE EXCEPTION '% holds no ADMIN OPTION on role %: PostgreSQL 16 lets it alter only the roles it created', current_user, locked`,
        `      USING HINT = format('Have a superuser (on Azure: Microsoft support, as azuresu) run GRANT %s TO %I WITH ADMIN OPTION, ' ||`,
        `        'or drop or rename the role if it holds nothing to keep.', locked, current_user);`,
        `  END IF;`,
        `END $check$;`,
    ];
}

/**
 * psql script: for each application, its owning role and both logins (created if missing, verifiers (re)set), the
 * database (StackGres: created if missing) owned by the role and closed to PUBLIC, its schema `public` owned by the role
 * (see `publicSchemaSql`), and the configured extensions in it.
 * Safe to run any number of times. Contains no password.
 */
export function renderLoginSql(logins: readonly AppLogin[], options: LoginSqlOptions): string {
    const comment = managedLoginComment(options.tenant);
    const blocks = logins.map((l) => {
        const [owner, alt] = l.logins;
        return [
            `-- ${l.app}`,
            ...loginSql(owner, `verifier_${owner.name}`, comment + l.app),
            ...loginSql(alt, `verifier_${alt.name}`, comment + l.app),
            // Changing a database's owner, and setting a role's session role, require membership of that role.
            `GRANT ${q(l.role)} TO CURRENT_USER;`,
            `GRANT ${q(l.role)} TO ${q(alt.name)};`,
            // Sessions of the alternate login act as the owning role: objects either login creates have one owner.
            `ALTER ROLE ${q(alt.name)} SET role TO ${q(l.role)};`,
            ...(options.createDatabases
                ? [
                      `SELECT ${sqlLiteral(`CREATE DATABASE ${q(l.database)} OWNER ${q(l.role)}`)} WHERE NOT EXISTS ` +
                          `(SELECT FROM pg_catalog.pg_database WHERE datname = ${sqlLiteral(l.database)}) \\gexec`,
                  ]
                : []),
            `ALTER DATABASE ${q(l.database)} OWNER TO ${q(l.role)};`,
            `REVOKE ALL ON DATABASE ${q(l.database)} FROM PUBLIC;`,
            `GRANT CONNECT, TEMPORARY ON DATABASE ${q(l.database)} TO ${q(l.role)};`,
            `\\connect ${l.database}`,
            ...publicSchemaSql(l.role),
            ...options.extensions.map((e) => `CREATE EXTENSION IF NOT EXISTS ${extension(e)};`),
            `\\connect postgres`,
        ].join("\n");
    });
    return [
        "-- Application logins (rendered by data-platform). SCRAM verifiers arrive as psql variables from the environment.",
        "\\set ON_ERROR_STOP on",
        "SET client_min_messages TO warning;",
        // Keeps ALTER ROLE ... PASSWORD out of the server log; only a superuser may set it (Azure's admin is not one).
        ...(options.superuser ? ["SET log_statement TO 'none';"] : adminOptionCheckSql(jobLogins(logins, options))),
        ...blocks,
        ...(options.monitor ? monitorSql() : []),
        ...revokeRemovedSql(logins, comment),
        ...(options.tenant === undefined && options.tenants !== undefined ? revokeUnadmittedSql(options.tenants) : []),
        "",
    ].join("\n");
}

/**
 * Digest of a secret value (a password, a verifier) keyed by the admin password (SHA-256 of `key`, a newline, `value`):
 * tells a stale synced Secret from a fresh one, and reveals nothing about the value to whoever lacks the admin password
 * (the digests are also kept secret in state). The entrypoint computes the same with `sha256sum`, which every psql
 * image has.
 */
export function keyedDigest(key: string, value: string): string {
    return crypto.createHash("sha256").update(`${key}\n${value}`, "utf8").digest("hex");
}

/** One file of the Job's synced Secret: its key and content. */
export interface JobSecretFile {
    readonly key: string;
    readonly value: string;
}

/** `key=digest` pairs, space separated, each keyed by `adminPassword`: the entrypoint's `EXPECTED_DIGESTS`. */
export function expectedDigests(adminPassword: string, files: readonly JobSecretFile[]): string {
    return files.map((f) => `${f.key}=${keyedDigest(adminPassword, f.value)}`).join(" ");
}

/** The Job's synced Secret: the admin password and each login's verifier (see `loginVerifiers`). */
export function jobSecretFiles(
    adminPassword: string,
    logins: readonly AppLogin[],
    password: (login: Login) => string,
    options: Pick<LoginSqlOptions, "monitor"> = {},
): JobSecretFile[] {
    return jobSecretFilesOf(adminPassword, loginVerifiers(adminPassword, logins, password, options));
}

/** The login Job's Secret from the admin's password and the verifiers already computed (`loginVerifiers`). */
export function jobSecretFilesOf(adminPassword: string, verifiers: Readonly<Record<string, string>>): JobSecretFile[] {
    return [
        { key: ADMIN_SECRET_KEY, value: adminPassword },
        ...Object.entries(verifiers).map(([key, value]) => ({ key, value })),
    ];
}

/**
 * The Job's entrypoint, `scripts/login.sh` (POSIX sh + coreutils/busybox). It waits, at most `WAIT_SECONDS`, until
 * every file of the mounted Secret holds what this Job was rendered for (`EXPECTED_DIGESTS`) and the server answers,
 * then runs the SQL with psql. The admin password goes to libpq, each login's verifier (refused unless it is one) into
 * the environment of psql only. Inputs: `SECRETS_DIR`, `SQL_FILE`, `EXPECTED_DIGESTS`, `WAIT_SECONDS`, libpq's `PG*`;
 * the lines exporting each login's verifier replace `@LOGIN_VERIFIER_EXPORTS@`.
 */
export function renderLoginEntrypoint(
    logins: readonly AppLogin[],
    options: Pick<LoginSqlOptions, "monitor"> = {},
): string {
    return renderScript(path.join(__dirname, "scripts"), "login.sh", {
        ADMIN_SECRET_KEY,
        LOGIN_VERIFIER_EXPORTS: jobLogins(logins, options).flatMap((login) => {
            const env = loginVerifierEnv(login);
            return [`${env}="$(verifier ${loginSecretKey(login)})"`, `export ${env}`];
        }),
    });
}

/**
 * A tenant Job's files its digests cover (`expectedDigests` keyed by `tenantKey`): its key and each login's verifier.
 * Its Secret also holds the admin's password (`ADMIN_SECRET_KEY`), synced in the cluster and never known to its stack.
 */
export function tenantJobSecretFiles(tenantKey: string, verifiers: Readonly<Record<string, string>>): JobSecretFile[] {
    return [
        { key: TENANT_KEY_SECRET_KEY, value: tenantKey },
        ...Object.entries(verifiers).map(([key, value]) => ({ key, value })),
    ];
}

/**
 * A tenant Job's entrypoint, `scripts/tenantLogin.sh`: checks its files against `TENANT_EXPECTED_DIGESTS`, keyed by its
 * tenant key (the admin's password, synced in the cluster, must only be present), then runs `loginEntrypoint`, the
 * platform's own entrypoint unchanged (`renderLoginEntrypoint`), in the same directory.
 */
export function renderTenantLoginEntrypoint(loginEntrypoint: string): string {
    return renderScript(path.join(__dirname, "scripts"), "tenantLogin.sh", {
        ADMIN_SECRET_KEY,
        TENANT_KEY_SECRET_KEY,
        LOGIN_ENTRYPOINT: loginEntrypoint,
    });
}
