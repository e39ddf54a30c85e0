/**
 * A server's PgBouncer as the program sees it: whether applications get it (the contract's `DB_PORT`), the limits it
 * runs with (set ones rendered, the rest the mode's defaults), and the connection budget it implies. Pure; the
 * arithmetic is the policy pack's (policy/lib/postgres.ts), so the config rule and the policy compute one thing.
 */
import type { AppConfig } from "../config/platform";
import type { PostgresConfig } from "../config/postgres";
import type { ServerConfig } from "../config/types";
import {
    AppConnections,
    DIRECT_CONNECTIONS_PER_APP,
    EXPORT_CONNECTIONS,
    PGBOUNCER_SETTINGS,
    PLATFORM_CONNECTIONS,
    POOLER_DEFAULTS,
    PoolerLimits,
    Quota,
    RESERVED_CONNECTIONS,
    ServerConnections,
} from "../../policy/lib/postgres";
import { azureMonitoring } from "./credentials";
import { postgresNames } from "./servers";
import { DEFAULT_INSTANCE } from "../instanceNames";

/** Port of the `<cluster>` Service that goes to StackGres' PgBouncer sidecar. */
export const STACKGRES_POOLER_PORT = 5432;
/** Azure's built-in PgBouncer listens on the server's host. */
export const AZURE_PGBOUNCER_PORT = 6432;

/** The limits Azure's built-in PgBouncer has no server parameter for (server-parameters-table-pgbouncer). */
export const AZURE_UNSUPPORTED_POOLER_SETTINGS: ReadonlyArray<keyof PoolerLimits> = [
    "reservePoolSize",
    "maxDbConnections",
    "maxUserConnections",
];

/**
 * The port applications connect to (the contract's `DB_PORT`, `DATABASE_URL`) when it is a PgBouncer's: StackGres'
 * sidecar behind the Service's 5432 always, Azure's built-in one on 6432 with `postgres.azure.pgBouncer`.
 */
export function poolerPort(postgres: Pick<PostgresConfig, "mode" | "azure">): number | undefined {
    if (postgres.mode === "stackgres") {
        return STACKGRES_POOLER_PORT;
    }
    return postgres.azure.pgBouncer ? AZURE_PGBOUNCER_PORT : undefined;
}

/** The limits the server's PgBouncer runs with; undefined when applications get none. */
export function poolerLimits(postgres: Pick<PostgresConfig, "mode" | "azure" | "pooler">): PoolerLimits | undefined {
    if (poolerPort(postgres) === undefined) {
        return undefined;
    }
    const defaults = POOLER_DEFAULTS[postgres.mode];
    const keys = Object.keys(PGBOUNCER_SETTINGS) as Array<keyof PoolerLimits>;
    return Object.fromEntries(
        keys.map((key) => [key, postgres.pooler[key] ?? defaults[key]]),
    ) as unknown as PoolerLimits;
}

/** The limits set in the config, by their PgBouncer name: rendered (unset ones stay the mode's defaults, unrendered). */
export function renderedPoolerSettings(pooler: PostgresConfig["pooler"]): Record<string, string> {
    return Object.fromEntries(
        Object.entries(PGBOUNCER_SETTINGS)
            .filter(([key]) => pooler[key as keyof PoolerLimits] !== undefined)
            .map(([key, name]) => [name, String(pooler[key as keyof PoolerLimits])]),
    );
}

/** One application as its server's budget counts it (`exports`: the stack has `backups`, so `backup` runs pg_dump). */
export function appConnections(
    app: Pick<AppConfig, "name" | "replicas" | "poolSize" | "backup">,
    pooler: PoolerLimits | undefined,
    exports: boolean,
): AppConnections {
    return {
        name: app.name,
        clients: app.replicas * app.poolSize,
        pooled: pooler !== undefined,
        direct: DIRECT_CONNECTIONS_PER_APP + (exports && app.backup ? EXPORT_CONNECTIONS : 0),
    };
}

/**
 * The tenant stacks' quotas on one server (`data-platform:tenants`), as its budget's lines; none in a tenant stack,
 * whose own applications are its share.
 */
export function tenantQuotas(config: ServerConfig): Quota[] {
    if (config.tenantStack !== undefined) {
        return [];
    }
    const server = config.postgres.server ?? DEFAULT_INSTANCE;
    return Object.entries(config.tenants)
        .filter(([, quota]) => quota.connections[server] !== undefined || quota.clients[server] !== undefined)
        .map(([stack, quota]) => ({
            name: `tenant stack ${stack}`,
            clients: quota.clients[server] ?? 0,
            connections: quota.connections[server] ?? 0,
        }));
}

/** Who connects to one server, as its connection budget counts them: its applications, the platform, its tenants. */
export function serverConnections(config: ServerConfig): ServerConnections {
    const pg = config.postgres;
    const pooler = poolerLimits(pg);
    const names = postgresNames(pg);
    return {
        maxConnections: pg.maxConnections,
        reserved: RESERVED_CONNECTIONS[pg.mode],
        pooler,
        apps: config.apps.map((app) => appConnections(app, pooler, config.backups !== undefined)),
        platform: [
            { name: names.logins, connections: PLATFORM_CONNECTIONS.logins },
            ...(azureMonitoring(pg) ? [{ name: names.exporter, connections: PLATFORM_CONNECTIONS.exporter }] : []),
        ],
        quotas: tenantQuotas(config),
    };
}
