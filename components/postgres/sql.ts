/**
 * The SQL (and the login Job's entrypoint, `scripts/login.sh`) that gives each application its own login and database.
 * Deterministic: the exact text rendered here is unit-tested, run against a real PostgreSQL and deployed.
 *
 * Both implementations end in the same state per application: a LOGIN role named like its database,
 * owning that database, and the database closed to PUBLIC, so one application cannot connect to another's.
 * - Azure (`renderAzureLoginSql`): run by psql in a Job as the (non-superuser) admin login; idempotent;
 *   passwords come in as psql variables read from the environment, never as text in the script.
 *   The databases themselves are ARM resources (owned by `azure_pg_admin`, of which the admin is a member).
 * - StackGres (`stackGresScriptEntries`): SGScript entries run by the operator over JDBC as the superuser;
 *   no psql meta-commands; CREATE DATABASE alone in its entry (it cannot run in a transaction block).
 */
import * as crypto from "crypto";
import * as path from "path";
import type { AppConfig } from "../config/platform";
import { PG_IDENTIFIER } from "../config/names";
import { renderScript } from "../scriptTemplate";

/** One application's role and database (the role is named like the database). */
export interface AppLogin {
    readonly app: string;
    readonly role: string;
    readonly database: string;
}

export function appLogins(apps: readonly AppConfig[]): AppLogin[] {
    return apps.map((a) => ({ app: a.name, role: identifier(a.database), database: identifier(a.database) }));
}

/** A plain lowercase name, checked, so SQL text can never be injected through configuration. */
function identifier(name: string): string {
    if (!PG_IDENTIFIER.test(name) || name.length > 63) {
        throw new Error(`not a plain PostgreSQL identifier: ${JSON.stringify(name)}`);
    }
    return name;
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

/** Closes the database to everyone but its owner. Idempotent. */
function databaseGrantsSql(login: AppLogin): string {
    return `REVOKE ALL ON DATABASE ${q(login.database)} FROM PUBLIC;\nGRANT CONNECT, TEMPORARY ON DATABASE ${q(login.database)} TO ${q(login.role)};`;
}

// ---------------------------------------------------------------------------------------------------------
// Azure: psql script run by the login Job.

/** Key of the admin password in the Job's synced Secret. */
export const ADMIN_SECRET_KEY = "admin";

/** Key of an application's password in the Job's synced Secret. */
export function loginSecretKey(login: AppLogin): string {
    return `app-${login.app}`;
}

/** Environment variable the entrypoint exports an application's password in, for psql's `\getenv`. */
export function loginPasswordEnv(login: AppLogin): string {
    return `LOGIN_PASSWORD_${login.role}`;
}

/**
 * psql script: for each application, create its role if missing, (re)set its password, hand it its database
 * and close the database to PUBLIC. Safe to run any number of times. Contains no password.
 */
export function renderAzureLoginSql(logins: readonly AppLogin[]): string {
    const blocks = logins.map((l) => {
        const pw = `password_${l.role}`;
        const create = `create_${l.role}`;
        return [
            `-- ${l.app}`,
            `\\getenv ${pw} ${loginPasswordEnv(l)}`,
            // An unset variable would stay literally `:'password_x'`, a syntax error: the run stops (ON_ERROR_STOP).
            `SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = ${sqlLiteral(l.role)}) AS ${create} \\gset`,
            `\\if :${create}`,
            `CREATE ROLE ${q(l.role)};`,
            `\\endif`,
            // No [NO]SUPERUSER/REPLICATION/BYPASSRLS: naming those at all needs a superuser, which Azure's admin is not.
            `ALTER ROLE ${q(l.role)} WITH LOGIN NOCREATEDB NOCREATEROLE INHERIT PASSWORD :'${pw}';`,
            // Changing a database's owner requires membership of the new owner.
            `GRANT ${q(l.role)} TO CURRENT_USER;`,
            `ALTER DATABASE ${q(l.database)} OWNER TO ${q(l.role)};`,
            databaseGrantsSql(l),
        ].join("\n");
    });
    return [
        "-- Application logins (rendered by data-platform). Passwords arrive as psql variables from the environment.",
        "\\set ON_ERROR_STOP on",
        "SET client_min_messages TO warning;",
        ...blocks,
        "",
    ].join("\n");
}

/** The first 16 hex digits of the SHA-256 of a password: tells a stale synced Secret from a fresh one. */
export function passwordDigest(password: string): string {
    return crypto.createHash("sha256").update(password, "utf8").digest("hex").slice(0, 16);
}

/** `key=digest` pairs, space separated: the entrypoint's `EXPECTED_DIGESTS`. */
export function expectedDigests(passwords: ReadonlyArray<{ readonly key: string; readonly password: string }>): string {
    return passwords.map((p) => `${p.key}=${passwordDigest(p.password)}`).join(" ");
}

/**
 * The Job's entrypoint, `scripts/login.sh` (POSIX sh + coreutils/busybox). It waits until every file of the mounted
 * Secret holds the password this Job was rendered for (`EXPECTED_DIGESTS`; External Secrets refreshes on its own
 * schedule, and a Secret volume follows it), at most `WAIT_SECONDS`, then runs the SQL with psql. Passwords go from
 * files into the environment of psql only. Inputs: `SECRETS_DIR`, `SQL_FILE`, `EXPECTED_DIGESTS`, `WAIT_SECONDS`,
 * libpq's `PG*`; the lines exporting each application's password replace `@APP_PASSWORD_EXPORTS@`.
 */
export function renderLoginEntrypoint(logins: readonly AppLogin[]): string {
    return renderScript(path.join(__dirname, "scripts"), "login.sh", {
        ADMIN_SECRET_KEY,
        APP_PASSWORD_EXPORTS: logins.flatMap((l) => {
            const env = loginPasswordEnv(l);
            return [`${env}="$(cat "$SECRETS_DIR/${loginSecretKey(l)}")"`, `export ${env}`];
        }),
    });
}

// ---------------------------------------------------------------------------------------------------------
// StackGres: SGScript entries.

/** Secret key of an application's role SQL (it contains the password, so it is kept in a Secret). */
export function roleSqlKey(login: AppLogin): string {
    return `${login.app}.sql`;
}

/** Creates the role if missing and (re)sets its password, hidden from the server log. Contains the password. */
export function stackGresRoleSql(login: AppLogin, password: string): string {
    return [
        "SET log_statement TO 'none';",
        `DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = ${sqlLiteral(login.role)}) THEN CREATE ROLE ${q(login.role)}; END IF; END$$;`,
        `ALTER ROLE ${q(login.role)} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT PASSWORD ${sqlLiteral(password)};`,
        "",
    ].join("\n");
}

/** One `SGScript.spec.scripts[]` entry. */
export interface ScriptEntry {
    readonly id: number;
    readonly name: string;
    readonly script?: string;
    readonly scriptFrom?: { readonly secretKeyRef: { readonly name: string; readonly key: string } };
    readonly retryOnError?: boolean;
}

/** The largest id StackGres accepts: it binds `StackGresScriptEntry.id` as a java.lang.Integer. */
const MAX_SCRIPT_ID = 2 ** 31 - 1;
/** Ids per application: base + 1 .. base + 3; bases are multiples of 10. */
const SCRIPT_ID_SLOTS = Math.floor((MAX_SCRIPT_ID - 3) / 10);

/**
 * Entry ids derived from the application name, so adding, removing or reordering applications never gives an
 * existing id other content (StackGres runs each (id, version) once; a reused id would skip or repeat SQL).
 * The first 28 bits of the name's SHA-256, folded into the int32 range: a name whose prefix already fitted keeps
 * its id (so deployed clusters keep theirs); the others, which StackGres refused before, fold into the same range
 * (a clash is reported by `stackGresScriptEntries`).
 */
export function scriptIdBase(appName: string): number {
    const prefix = parseInt(crypto.createHash("sha256").update(appName).digest("hex").slice(0, 7), 16);
    return 10 * ((prefix % SCRIPT_ID_SLOTS) + 1);
}

/** The entries, in run order: per application its role (SQL from `sqlSecretName`), its database, its grants. */
export function stackGresScriptEntries(logins: readonly AppLogin[], sqlSecretName: string): ScriptEntry[] {
    const seen = new Map<number, string>();
    return logins.flatMap((l) => {
        const base = scriptIdBase(l.app);
        const other = seen.get(base);
        if (other !== undefined) {
            throw new Error(`applications ${other} and ${l.app} map to the same SGScript id ${base}; rename one`);
        }
        seen.set(base, l.app);
        return [
            // Retried: the role SQL comes from a Secret that External Secrets may not have written yet.
            {
                id: base + 1,
                name: `${l.app}-role`,
                retryOnError: true,
                scriptFrom: { secretKeyRef: { name: sqlSecretName, key: roleSqlKey(l) } },
            },
            { id: base + 2, name: `${l.app}-database`, script: `CREATE DATABASE ${q(l.database)} OWNER ${q(l.role)};` },
            { id: base + 3, name: `${l.app}-grants`, script: databaseGrantsSql(l) },
        ];
    });
}

/** The SQL of each entry, in order, with `scriptFrom` resolved from the given Secret data (key -> SQL). */
export function resolveScriptEntries(
    entries: readonly ScriptEntry[],
    secretData: Readonly<Record<string, string>>,
): Array<{ id: number; name: string; sql: string }> {
    return entries.map((e) => {
        const key = e.scriptFrom?.secretKeyRef.key;
        const sql = e.script ?? (key !== undefined ? secretData[key] : undefined);
        if (sql === undefined) {
            throw new Error(`no SQL for script entry ${e.name} (${key ?? "no key"})`);
        }
        return { id: e.id, name: e.name, sql };
    });
}
