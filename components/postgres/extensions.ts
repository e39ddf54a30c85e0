/**
 * What each mode needs before `CREATE EXTENSION` works for `postgres.extensions`, beyond the login Job creating them.
 * Pure facts with their sources; the specs (stackgresSpec.ts, azureSpec.ts) and the config rules read them.
 */

/**
 * Extensions every StackGres cluster ships (StackGres 1.18 `StackGresUtil.getDefaultClusterExtensions`); any other
 * must be listed in `SGCluster.spec.postgres.extensions` for the operator to install it, or `CREATE EXTENSION` fails.
 */
export const STACKGRES_DEFAULT_EXTENSIONS: readonly string[] = [
    "plpgsql",
    "pg_stat_statements",
    "dblink",
    "plpython3u",
];

/** `SGCluster.spec.postgres.extensions`: the configured extensions the cluster does not ship. */
export function stackGresExtensions(extensions: readonly string[]): Array<{ name: string }> {
    return extensions.filter((e) => !STACKGRES_DEFAULT_EXTENSIONS.includes(e)).map((name) => ({ name }));
}

/**
 * The library each extension needs in `shared_preload_libraries` (its `CREATE EXTENSION` fails, or it does nothing,
 * until the server starts with it). Azure's allowed values: pg_cron, pg_partman_bgw, pg_prewarm, pg_stat_statements,
 * pgaudit, pglogical, timescaledb, wal2json (`az postgres flexible-server parameter show`, MicrosoftDocs/azure-docs#92207);
 * the background-worker-only modules are left to the operator.
 */
const PRELOADED_LIBRARY: Readonly<Record<string, string>> = {
    pg_cron: "pg_cron",
    pg_stat_statements: "pg_stat_statements",
    pgaudit: "pgaudit",
    pglogical: "pglogical",
    timescaledb: "timescaledb",
};

/** Azure's default `shared_preload_libraries` (same source): setting the parameter replaces it, so it is kept. */
export const AZURE_DEFAULT_PRELOADED_LIBRARIES: readonly string[] = ["pg_cron", "pg_stat_statements"];

/**
 * Azure's `shared_preload_libraries` for the configured extensions: undefined while the default preloads all they need
 * (the parameter stays untouched), else the default plus theirs, sorted.
 */
export function azurePreloadLibraries(extensions: readonly string[]): string | undefined {
    const needed = extensions.flatMap((e) => (PRELOADED_LIBRARY[e] ? [PRELOADED_LIBRARY[e]] : []));
    if (needed.every((library) => AZURE_DEFAULT_PRELOADED_LIBRARIES.includes(library))) {
        return undefined;
    }
    return [...new Set([...AZURE_DEFAULT_PRELOADED_LIBRARIES, ...needed])].sort().join(",");
}
