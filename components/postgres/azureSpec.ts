/**
 * Pure parts of the Azure Flexible Server implementation: names, server parameters, maintenance window.
 */
import { azurePreloadLibraries } from "./extensions";
import * as fs from "fs";
import * as path from "path";
import type { ServerConfig } from "../config/types";
import { stackHash, stackSlug } from "../stableNames";
import { renderedPoolerSettings } from "./pooler";

export const AZURE_POSTGRES_PORT = 5432;

/**
 * The root CAs Flexible Server certificates chain to, as one PEM bundle (`certs/azure-postgres-roots.pem`):
 * DigiCert Global Root G2 and Microsoft RSA Root Certificate Authority 2017, the roots Microsoft tells clients to
 * trust for `verify-ca`/`verify-full` (learn.microsoft.com/azure/postgresql/flexible-server/security-tls). Roots only:
 * the intermediates rotate without notice (the 2025-2026 rotation kept these roots). Taken from Debian's
 * ca-certificates; tests check each one's SHA-256 fingerprint.
 */
export function azureRootCertificates(): string {
    // Read once: every application's contract asks for it.
    azureRoots ??= fs.readFileSync(path.join(__dirname, "certs", "azure-postgres-roots.pem"), "utf8");
    return azureRoots;
}
let azureRoots: string | undefined;

/** Server name: configured, or derived from project, stack and resource group (stable, globally unique enough). */
export function serverName(config: ServerConfig): string {
    if (config.postgres.azure.serverName) {
        return config.postgres.azure.serverName;
    }
    const hash = stackHash(config.project, config.stack, config.azure.resourceGroupName);
    const server = config.postgres.server;
    // A named server: its name after `pg`, the stack's slug shorter so the whole stays within Azure's 63 characters.
    return server === undefined
        ? `dp-${stackSlug(config.stack, 40)}-pg-${hash}`
        : `dp-${stackSlug(config.stack, 23)}-pg-${server}-${hash}`;
}

/**
 * The resource id of database `database` on the stack's server (`pulumi import`'s id for a `dbforpostgresql.Database`:
 * ARM's `.../flexibleServers/{serverName}/databases/{databaseName}`); needs `azure-native:subscriptionId`.
 */
export function databaseId(config: ServerConfig, database: string): string {
    if (!config.subscriptionId) {
        throw new Error(`importing database ${database} needs azure-native:subscriptionId`);
    }
    return (
        `/subscriptions/${config.subscriptionId}/resourceGroups/${config.azure.resourceGroupName}` +
        `/providers/Microsoft.DBforPostgreSQL/flexibleServers/${serverName(config)}/databases/${database}`
    );
}

/**
 * Whether the server's application databases are ARM `dbforpostgresql.Database` resources (`postgres.azure.databases`),
 * and protected: not at all with `sql` (the login Job creates them), as the stack's other stateful resources with
 * `arm`, unprotected with `release` (the one `up` after which `sql` may drop them from the state: Pulumi refuses to
 * delete a protected resource, retainOnDelete or not).
 */
export function armDatabases(config: ServerConfig): { readonly protect: boolean } | undefined {
    const creator = config.postgres.azure.databases;
    return creator === "sql" ? undefined : { protect: creator === "arm" && config.protect };
}

/** Server parameters Azure applies only at a restart (learn.microsoft.com, concepts-server-parameters: "static"). */
export const AZURE_STATIC_PARAMETERS: readonly string[] = ["max_connections", "shared_preload_libraries"];

/**
 * Server parameters, in the order they are applied (one at a time: parallel PUTs fail with ServerBusy).
 * `max_connections` and `shared_preload_libraries` (for extensions that need a library loaded at start,
 * `extensions.ts`) are static: Azure applies them at the next restart (see the config rules). `azure.extensions` is the
 * allow-list `CREATE EXTENSION` needs on Azure (learn.microsoft.com, postgresql/extensions/how-to-allow-extensions).
 * `pgbouncer.max_prepared_statements` defaults to 0 on Azure: set like StackGres', so clients that prepare statements
 * at protocol level (pgx, JDBC, asyncpg, Npgsql) behave the same in both modes.
 */
export function serverParameters(config: ServerConfig): Array<{ name: string; value: string }> {
    const pg = config.postgres;
    const preload = azurePreloadLibraries(pg.extensions);
    return [
        { name: "require_secure_transport", value: "on" },
        { name: "ssl_min_protocol_version", value: "TLSv1.2" },
        { name: "max_connections", value: String(pg.maxConnections) },
        ...(preload !== undefined ? [{ name: "shared_preload_libraries", value: preload }] : []),
        ...(pg.extensions.length > 0 ? [{ name: "azure.extensions", value: pg.extensions.join(",") }] : []),
        ...(pg.azure.pgBouncer
            ? [
                  { name: "pgbouncer.enabled", value: "true" },
                  { name: "pgbouncer.max_prepared_statements", value: String(pg.pooler.maxPreparedStatements) },
                  // The pool limits set in the config (pooler.ts); unset: Azure's defaults, which the budget counts.
                  ...Object.entries(renderedPoolerSettings(pg.pooler)).map(([name, value]) => ({
                      name: `pgbouncer.${name}`,
                      value,
                  })),
              ]
            : []),
    ];
}

/** The server's `network`: private access (VNet integration) when a subnet and a DNS zone are given, else public. */
export function serverNetwork(config: ServerConfig) {
    const azure = config.postgres.azure;
    return azure.delegatedSubnetId !== undefined && azure.privateDnsZoneId !== undefined
        ? {
              delegatedSubnetResourceId: azure.delegatedSubnetId,
              privateDnsZoneArmResourceId: azure.privateDnsZoneId,
              publicNetworkAccess: "Disabled",
          }
        : { publicNetworkAccess: "Enabled" };
}

/** The server's `backup`: how long Azure keeps its backups, and whether they are copied to the paired region. */
export function serverBackup(config: ServerConfig) {
    const azure = config.postgres.azure;
    return {
        backupRetentionDays: azure.backupRetentionDays,
        geoRedundantBackup: azure.geoRedundantBackup ? "Enabled" : "Disabled",
    };
}

/** The server's `maintenanceWindow`: the configured custom window, or Azure's choice. */
export function maintenanceWindow(config: ServerConfig) {
    const w = config.postgres.azure.maintenanceWindow;
    return w.custom
        ? { customWindow: "Enabled", dayOfWeek: w.dayOfWeek, startHour: w.startHour, startMinute: w.startMinute }
        : { customWindow: "Disabled" };
}
