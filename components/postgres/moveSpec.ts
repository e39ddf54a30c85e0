/**
 * Pure parts of moving an application's database to another server (`apps[].postgres.movedFrom`): the SQL of the
 * write freeze and of the copy, the Job's entrypoint (`scripts/move.sh`), files, name and `spec`.
 *
 * Dump and restore with a write freeze, not logical replication: a publication needs `wal_level = logical` (a static
 * parameter on Azure: a restart of the source) and a subscription needs a superuser or, from 16, the predefined role
 * `pg_create_subscription` (postgres commit c3afe8cf, "Add new predefined role pg_create_subscription"), which Azure's
 * admin does not hold; dump and restore need only what the admins already hold. The freeze lasts the copy: the old logins lose LOGIN and their
 * sessions end first, so every write the old server acknowledged is in the dump, and the application's Secret names
 * the new server only once the copy committed (its bundle waits for this Job).
 */
import * as crypto from "crypto";
import * as path from "path";
import { PLATFORM_NAME, recommendedLabels } from "../labels";
import { renderScript } from "../scriptTemplate";
import { LOGIN_JOB } from "./loginJobSpec";
import type { AppLogin } from "./sql";
import { sqlLiteral } from "./sql";
import { MOVE_JOB_LIB_FILE, moveJobLibFiles, moveJobMounts, moveJobSpecAround } from "../moveJobSpec";

export const MOVE_JOB = {
    checkFile: "check.sql",
    freezeFile: "freeze.sql",
    headerFile: "header.sql",
    footerFile: "footer.sql",
    entrypointFile: "move.sh",
    sourceCaFile: "source-ca.pem",
    targetCaFile: "target-ca.pem",
} as const;

/** How long the freeze waits for the old logins' sessions to end after `pg_terminate_backend` (seconds). */
export const FREEZE_SESSIONS_WAIT_SECONDS = 30;

const MOUNT = moveJobMounts("/etc/postgres-move");

/** One side of the copy: where its server listens and who its admin is. */
export interface MoveSide {
    readonly server: string;
    readonly host: string;
    readonly port: number;
    readonly adminLogin: string;
    /** The CA(s) its certificate chains to, when known: then `verify-full`. */
    readonly caCert: string | undefined;
}

/** The comment on the target database once the copy from `server` committed (the Job's own "done" mark). */
export function copiedMark(source: string): string {
    return `data-platform: copied from server ${source}`;
}

function ident(name: string): string {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) {
        throw new Error(`not a plain PostgreSQL identifier: ${JSON.stringify(name)}`);
    }
    return `"${name}"`;
}

/**
 * On the target, in the application's database: `copied` when it carries the mark of a copy from `source`, `empty`
 * when it holds no relation of its own (extensions' objects aside), else `occupied`.
 */
export function renderCopyCheckSql(source: string): string {
    return [
        "SELECT CASE",
        `  WHEN pg_catalog.shobj_description(d.oid, 'pg_database') = ${sqlLiteral(copiedMark(source))} THEN 'copied'`,
        "  WHEN EXISTS (SELECT FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace",
        "    WHERE n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'",
        "    AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend e WHERE e.classid = 'pg_catalog.pg_class'::regclass",
        "      AND e.objid = c.oid AND e.deptype = 'e')) THEN 'occupied'",
        "  ELSE 'empty' END",
        "FROM pg_catalog.pg_database d WHERE d.datname = current_database();",
        "",
    ].join("\n");
}

/**
 * On the source, as its admin: the write freeze. Both logins lose LOGIN (no new session), the admin takes the
 * alternate login's privileges (it holds only the owning role's: `pg_terminate_backend` needs the privileges of the
 * session's role, `has_privs_of_role`, or `pg_signal_backend`: src/backend/storage/ipc/signalfuncs.c), ends their
 * sessions, and waits
 * until none is left (looking afresh each time): a transaction they had open is rolled back, never acknowledged.
 */
export function renderFreezeSql(login: AppLogin): string {
    const names = login.logins.map((l) => sqlLiteral(l.name)).join(", ");
    const [, alt] = login.logins;
    return [
        "SET client_min_messages TO warning;",
        ...login.logins.map((l) => `ALTER ROLE ${ident(l.name)} NOLOGIN;`),
        `GRANT ${ident(alt.name)} TO CURRENT_USER;`,
        `SELECT count(pg_catalog.pg_terminate_backend(pid)) AS ended FROM pg_catalog.pg_stat_activity WHERE usename IN (${names});`,
        "DO $wait$",
        "BEGIN",
        `  FOR i IN 1..${FREEZE_SESSIONS_WAIT_SECONDS * 10} LOOP`,
        // A transaction reads pg_stat_activity once and keeps it; cleared, the next look sees sessions that ended
        // (PostgreSQL docs, "The Cumulative Statistics System", Viewing Statistics: pg_stat_clear_snapshot).
        "    PERFORM pg_catalog.pg_stat_clear_snapshot();",
        `    IF NOT EXISTS (SELECT FROM pg_catalog.pg_stat_activity WHERE usename IN (${names})) THEN RETURN; END IF;`,
        "    PERFORM pg_catalog.pg_sleep(0.1);",
        "  END LOOP;",
        `  RAISE EXCEPTION 'sessions of % still open ${FREEZE_SESSIONS_WAIT_SECONDS} s after pg_terminate_backend', ${sqlLiteral(login.role)};`,
        "END $wait$;",
        "",
    ].join("\n");
}

/** Before the restore, on the target: what it creates is owned by the application's role (the admin is a member). */
export function renderCopyHeaderSql(login: AppLogin): string {
    return `SET ROLE ${ident(login.role)};\n`;
}

/** After the restore, in the same transaction: the mark `renderCopyCheckSql` reads. */
export function renderCopyFooterSql(login: AppLogin, source: string): string {
    return `COMMENT ON DATABASE ${ident(login.database)} IS ${sqlLiteral(copiedMark(source))};\n`;
}

/** The ConfigMap data of one move. */
export function moveJobFiles(login: AppLogin, source: MoveSide, target: MoveSide): Record<string, string> {
    return {
        [MOVE_JOB.checkFile]: renderCopyCheckSql(source.server),
        [MOVE_JOB.freezeFile]: renderFreezeSql(login),
        [MOVE_JOB.headerFile]: renderCopyHeaderSql(login),
        [MOVE_JOB.footerFile]: renderCopyFooterSql(login, source.server),
        [MOVE_JOB.entrypointFile]: renderScript(path.join(__dirname, "scripts"), "move.sh", {
            CHECK_FILE: MOVE_JOB.checkFile,
            FREEZE_FILE: MOVE_JOB.freezeFile,
            HEADER_FILE: MOVE_JOB.headerFile,
            FOOTER_FILE: MOVE_JOB.footerFile,
            MOVE_JOB_LIB: MOVE_JOB_LIB_FILE,
        }),
        ...moveJobLibFiles(),
        ...(source.caCert !== undefined ? { [MOVE_JOB.sourceCaFile]: source.caCert } : {}),
        ...(target.caCert !== undefined ? { [MOVE_JOB.targetCaFile]: target.caCert } : {}),
    };
}

/** libpq settings of one side as `<SIDE>_PG*` variables (the entrypoint's `on` exports them as `PG*`). */
function sideEnv(prefix: "SOURCE" | "TARGET", side: MoveSide, caFile: string) {
    return [
        { name: `${prefix}_PGHOST`, value: side.host },
        { name: `${prefix}_PGPORT`, value: String(side.port) },
        { name: `${prefix}_PGUSER`, value: side.adminLogin },
        // As the login Job: verify-full against the server's CA when known, else encrypted only (loginJobTls).
        ...(side.caCert !== undefined
            ? [
                  { name: `${prefix}_PGSSLMODE`, value: "verify-full" },
                  { name: `${prefix}_PGSSLROOTCERT`, value: `${MOUNT.job}/${caFile}` },
              ]
            : [{ name: `${prefix}_PGSSLMODE`, value: "require" }]),
    ];
}

/** What the Job runs. */
export interface MoveJobInput {
    readonly app: string;
    readonly database: string;
    readonly files: Readonly<Record<string, string>>;
    /** The target's client image: pg_dump reads an older server, pg_restore needs a version not older than the dump. */
    readonly image: string;
    readonly source: MoveSide;
    readonly target: MoveSide;
}

/** The base of the move's objects (ConfigMap, Secret, service account, the Job's name prefix). */
export function moveJobBase(targetPrefix: string, app: string): string {
    return `${targetPrefix}-move-${app}`;
}

/** Renamed whenever what it runs changes: a finished Job never runs again, one under a new name does (idempotently). */
export function moveJobName(input: MoveJobInput, base: string): string {
    const hash = crypto.createHash("sha256").update(JSON.stringify(input)).digest("hex");
    return `${base}-${hash.slice(0, 8)}`;
}

/**
 * `spec` of the move Job (restricted Pod Security; the admins' passwords only as mounted Secret files). A failed attempt
 * changed nothing on the target (one transaction); the freeze is idempotent.
 */
export function moveJobSpec(input: MoveJobInput, base: string) {
    const labels = recommendedLabels({ name: base, partOf: PLATFORM_NAME });
    return moveJobSpecAround(
        base,
        MOUNT,
        { labels, uid: LOGIN_JOB.uid, serviceAccountName: base },
        {
            name: "copy",
            image: input.image,
            command: ["/bin/sh", `${MOUNT.job}/${MOVE_JOB.entrypointFile}`],
            env: [
                { name: "DATABASE", value: input.database },
                ...sideEnv("SOURCE", input.source, MOVE_JOB.sourceCaFile),
                ...sideEnv("TARGET", input.target, MOVE_JOB.targetCaFile),
                { name: "PGCONNECT_TIMEOUT", value: "15" },
                { name: "PGAPPNAME", value: base },
            ],
            resources: {
                requests: { cpu: "100m", memory: "128Mi" },
                limits: { cpu: "1", memory: "512Mi" },
            },
        },
    );
}
