/**
 * Point-in-time restore of ONE application's database on a shared server, leaving every other tenant untouched.
 *
 * PostgreSQL restores whole servers only (WAL replay is server-wide), so one application comes back in two moves:
 * 1. restore the whole server to a NEW server at time t (Azure: a Flexible Server created with `createMode:
 *    PointInTimeRestore`; StackGres: an SGCluster with `initialData.restore`; the drill: base backup + archived WAL
 *    with `recovery_target_time`), the live server never touched;
 * 2. copy the application's database from it into the live server under a new name, then swap the names in one
 *    short write freeze of that application only (`appRestoreSteps`).
 * Pure: the steps rendered here are what `npm run restore` prints and what the drill
 * (tests/servers/postgres/postgresRestore.test.ts) runs on real servers, addresses aside.
 */
import type { AppLogin } from "./sql";

/** Where a step runs: the server restored at t, or the live one. */
export type RestoreTarget = "restored" | "live";

/**
 * One command of the per-application copy. Connection details come from the environment (`PGHOST`, `PGPORT`,
 * `PGUSER` = the admin login, `PGPASSWORD`, `PGSSLMODE=require`) of `on`'s server, so the argv reads as typed.
 */
export interface RestoreStep {
    readonly title: string;
    readonly on: RestoreTarget;
    readonly argv: readonly string[];
}

/** Suffix of the database the restored copy is loaded into before the swap. */
export const RESTORING_SUFFIX = "_pitr";
/** Suffix the replaced database keeps after the swap: closed, kept until the operator has checked the restore. */
export const REPLACED_SUFFIX = "_pre_pitr";
/** PostgreSQL's identifier limit (NAMEDATALEN - 1); a longer name is truncated silently, so two could collide. */
const MAX_IDENTIFIER = 63;

function derivedName(database: string, suffix: string): string {
    const name = `${database}${suffix}`;
    if (name.length > MAX_IDENTIFIER) {
        throw new Error(`${name} is longer than ${MAX_IDENTIFIER} characters: restore ${database} by hand`);
    }
    return name;
}

/** psql running each `sql` as its own statement (CREATE DATABASE cannot run in a transaction block), stopping on error. */
function psql(database: string, sql: readonly string[]): string[] {
    return ["psql", "-X", "-v", "ON_ERROR_STOP=1", `--dbname=${database}`, ...sql.flatMap((s) => ["-c", s])];
}

/**
 * The per-application copy, run as the admin login (Azure's admin or the StackGres superuser), which the login Job
 * made a member of every owning role (`GRANT <role> TO CURRENT_USER`): it may create databases owned by the role,
 * restore as the role, rename the role's databases and end its sessions.
 *
 * The write freeze: only the last step stops the application, from `ALLOW_CONNECTIONS false` to the rename, a
 * fraction of a second; its sessions are ended (it reconnects to the restored data). Writes it made after t stay in
 * `<db>_pre_pitr`, closed, for salvage. Other applications' sessions are never touched.
 */
export function appRestoreSteps(app: AppLogin, dumpFile: string): RestoreStep[] {
    const db = app.database;
    const restoring = derivedName(db, RESTORING_SUFFIX);
    const replaced = derivedName(db, REPLACED_SUFFIX);
    return [
        {
            title: `dump ${db} as it was at t`,
            on: "restored",
            argv: ["pg_dump", "--format=custom", `--file=${dumpFile}`, `--dbname=${db}`],
        },
        {
            // template0: an empty database whose `public` belongs to pg_database_owner, i.e. the role (PostgreSQL 15+).
            // Closed to PUBLIC at once, as the login Job keeps every application database.
            title: `create ${restoring}, owned by ${app.role} and closed to other applications`,
            on: "live",
            argv: psql("postgres", [
                `CREATE DATABASE "${restoring}" OWNER "${app.role}" TEMPLATE template0 ENCODING 'UTF8'`,
                `REVOKE ALL ON DATABASE "${restoring}" FROM PUBLIC`,
            ]),
        },
        {
            // --no-owner --role: every object is created by, so owned by, the application's role, whoever dumped it.
            title: `load the dump into ${restoring}`,
            on: "live",
            argv: [
                "pg_restore",
                "--exit-on-error",
                "--no-owner",
                `--role=${app.role}`,
                `--dbname=${restoring}`,
                dumpFile,
            ],
        },
        {
            // pg_terminate_backend's timeout (PostgreSQL 14+) waits for the sessions to end: a rename fails while any is
            // open. MATERIALIZED: in a plain WHERE the planner may call it on other databases' sessions first (seen on 15).
            title: `swap: freeze ${db}, end its sessions, rename ${db} to ${replaced} and ${restoring} to ${db}`,
            on: "live",
            argv: psql("postgres", [
                `ALTER DATABASE "${db}" ALLOW_CONNECTIONS false`,
                `WITH s AS MATERIALIZED (SELECT pid FROM pg_stat_activity WHERE datname = '${db}') ` +
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 10000)) AS ended FROM s",
                `ALTER DATABASE "${db}" RENAME TO "${replaced}"`,
                `ALTER DATABASE "${restoring}" RENAME TO "${db}"`,
            ]),
        },
    ];
}

/** Once the application is checked: drops the replaced database (irreversible, hence a step of its own). */
export function appRestoreCleanup(app: AppLogin): RestoreStep {
    const replaced = derivedName(app.database, REPLACED_SUFFIX);
    return {
        title: `after checking ${app.app}: drop ${replaced}`,
        on: "live",
        argv: psql("postgres", [`DROP DATABASE "${replaced}"`]),
    };
}

/**
 * WAL archiving into a directory: the semantics of StackGres' `archive_command` (WAL-G `wal-push`, one file per
 * segment, never overwritten) and of Azure's continuous backup, with a directory standing for the object store.
 * The drill's live server runs with these.
 */
export function walArchiveSettings(archiveDir: string): string[] {
    return [
        "wal_level = replica",
        "archive_mode = on",
        `archive_command = 'test ! -f ${archiveDir}/%f && cp %p ${archiveDir}/%f'`,
    ];
}

/**
 * Recovery of a base backup to `targetTime` from the archive, then promotion (a new timeline). A restored server must
 * never archive into its source's archive (its new timeline's files would mix into it): archiving stays off.
 * `recovery_target_inclusive` (default on) keeps transactions committed exactly at t.
 */
export function pointInTimeRecoverySettings(archiveDir: string, targetTime: Date): string[] {
    return [
        "archive_mode = off",
        `restore_command = 'cp ${archiveDir}/%f %p'`,
        `recovery_target_time = '${recoveryTimestamp(targetTime)}'`,
        "recovery_target_action = 'promote'",
    ];
}

/**
 * `2026-12-06 17:02:17.252+00`: the GUC refuses ISO 8601's `T...Z` form (`invalid value for parameter
 * "recovery_target_time"`, seen on 15.18), which casts to timestamptz everywhere else.
 */
export function recoveryTimestamp(t: Date): string {
    return t.toISOString().replace("T", " ").replace("Z", "+00");
}

/** The file that makes a server start in targeted recovery (PostgreSQL 12+). */
export const RECOVERY_SIGNAL_FILE = "recovery.signal";
