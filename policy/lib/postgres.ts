/**
 * PostgreSQL facts the pack owns and the program imports (components/postgres/configRules.ts). The pack is published
 * alone (`pulumi policy publish` packs only this folder), so it cannot import from components/; the program, in the
 * same repository, can import from here. So the config rule that refuses a stack and the policy that judges its
 * recorded graph read one definition: the reserved connections, the poolers' defaults and the budget's arithmetic.
 */

export type PostgresMode = "azure" | "stackgres";

/** Connections PostgreSQL keeps from applications, by `postgres.mode`. */
export const RESERVED_CONNECTIONS = {
    /** Azure's `reserved_connections` + `superuser_reserved_connections` (Microsoft's concepts-limits.md). */
    azure: 15,
    /** StackGres: `superuser_reserved_connections` plus Patroni and monitoring sessions. */
    stackgres: 10,
} as const;

/** The PgBouncer settings that bound connections (pgbouncer.org config.html; 0 in the two `max_*`: no limit). */
export interface PoolerLimits {
    /** `default_pool_size`: server connections per (database, user) pair. */
    readonly defaultPoolSize: number;
    /** `reserve_pool_size`: extra server connections per pair when clients wait. */
    readonly reservePoolSize: number;
    /** `max_client_conn`: client connections one PgBouncer accepts. */
    readonly maxClientConnections: number;
    /** `max_db_connections`: server connections per database, all its users together. */
    readonly maxDbConnections: number;
    /** `max_user_connections`: server connections per user, all its databases together. */
    readonly maxUserConnections: number;
}

/** Each limit's PgBouncer name (pgbouncer.ini; Azure's server parameter is `pgbouncer.<name>`). */
export const PGBOUNCER_SETTINGS = {
    defaultPoolSize: "default_pool_size",
    reservePoolSize: "reserve_pool_size",
    maxClientConnections: "max_client_conn",
    maxDbConnections: "max_db_connections",
    maxUserConnections: "max_user_connections",
} as const satisfies Record<keyof PoolerLimits, string>;

/** `defaults` with the settings a rendered pgbouncer.ini (or Azure's `pgbouncer.*` parameters) gives, by PgBouncer name. */
export function poolerFromSettings(defaults: PoolerLimits, named: (name: string) => unknown): PoolerLimits {
    const entries = Object.entries(PGBOUNCER_SETTINGS).map(([key, name]) => {
        const value = named(name);
        return [key, value === undefined ? defaults[key as keyof PoolerLimits] : Number(value)];
    });
    return Object.fromEntries(entries) as unknown as PoolerLimits;
}

/**
 * What each mode's PgBouncer runs when nothing is set. StackGres 1.18.6 `pgbouncer-default-values.properties`:
 * `max_client_conn=1000`, `default_pool_size=1000`, `max_db_connections=0`, `max_user_connections=0`, and no
 * `reserve_pool_size` (PgBouncer's default, 0). Azure's built-in PgBouncer (learn.microsoft.com, "PgBouncer server
 * parameters", server-parameters-table-pgbouncer): `pgbouncer.default_pool_size` 50 (1-4950),
 * `pgbouncer.max_client_conn` 5000 (1-50000); it has no parameter for the other three: PgBouncer's defaults, 0.
 */
export const POOLER_DEFAULTS: Readonly<Record<PostgresMode, PoolerLimits>> = {
    stackgres: {
        defaultPoolSize: 1000,
        reservePoolSize: 0,
        maxClientConnections: 1000,
        maxDbConnections: 0,
        maxUserConnections: 0,
    },
    azure: {
        defaultPoolSize: 50,
        reservePoolSize: 0,
        maxClientConnections: 5000,
        maxDbConnections: 0,
        maxUserConnections: 0,
    },
};

/**
 * The PgBouncer users of one application: its login `<role>` and the alternate `<role>_alt` of the rotation
 * (components/postgres/sql.ts `appLogins`); both may be in use at once, so each is a pool of its own.
 */
export const POOLER_USERS_PER_APP = 2;

/**
 * Connections each application opens past the pooler whatever its pool: its migrations over `DATABASE_DIRECT_URL`
 * (advisory locks, one runner at a time) and libpq tools over `PG*`.
 */
export const DIRECT_CONNECTIONS_PER_APP = 1;

/**
 * The platform's own connections to each server, past the pooler, by the suffix of what holds them: the login Job's
 * one psql session (`<prefix>-logins`), and Azure's postgres_exporter (`<prefix>-exporter`), which opens one
 * connection for its built-in metrics and one for its collectors (prometheus-community/postgres_exporter
 * `cmd/postgres_exporter/server.go` `NewServer` and `collector/instance.go` `setup`: `SetMaxOpenConns(1)` each).
 */
export const PLATFORM_CONNECTIONS = { logins: 1, exporter: 2 } as const;

/** A scheduled export (`apps[].backup`): one `pg_dump` over `PGPORT`, its CronJob `concurrencyPolicy: Forbid`. */
export const EXPORT_CONNECTIONS = 1;

/** One application as its server's budget counts it. */
export interface AppConnections {
    readonly name: string;
    /** Its clients: replicas x pool size (`DB_POOL_MAX`). */
    readonly clients: number;
    /** Whether its `DATABASE_URL` is the pooler's port (the contract's `DB_PORT`). */
    readonly pooled: boolean;
    /** Connections it opens to PostgreSQL itself: migrations, its export's pg_dump. */
    readonly direct: number;
}

/** What one server holds and who connects to it. */
export interface ServerConnections {
    readonly maxConnections: number;
    readonly reserved: number;
    /** Its PgBouncer, when applications get one; undefined: none. */
    readonly pooler?: PoolerLimits;
    readonly apps: readonly AppConnections[];
    /** The platform's own connections past the pooler (login Job, exporter), by what holds them. */
    readonly platform: readonly BudgetLine[];
    /** What other stacks' applications may use of it (tenant stacks' quotas), one line each; unset: none. */
    readonly quotas?: readonly Quota[];
}

/**
 * A share of one server granted to applications the budget cannot see (a tenant stack's), in the budget's own terms:
 * `clients` into its PgBouncer, `connections` reaching PostgreSQL (`quotaBudget` counts the applications the same way).
 */
export interface Quota {
    readonly name: string;
    readonly clients: number;
    readonly connections: number;
}

/** One contribution to a sum. */
export interface BudgetLine {
    readonly name: string;
    readonly connections: number;
}

/** One side of a budget: the sum, its limit, the applications' lines (largest first) and the platform's own. */
export interface BudgetSide {
    readonly sum: number;
    readonly limit: number;
    readonly apps: readonly BudgetLine[];
    /** The platform's connections and the reserved ones (`reserved`). */
    readonly fixed: readonly BudgetLine[];
}

export interface ConnectionBudget {
    /** Client connections into the PgBouncer against its `max_client_conn`; undefined without a pooler. */
    readonly client?: BudgetSide;
    /** Connections reaching PostgreSQL against `max_connections` (reserved ones are a line of their own). */
    readonly server: BudgetSide;
}

/** The server connections one (database, user) pool holds at most: `default_pool_size` + `reserve_pool_size`, and
 *  no more than `max_user_connections` when set. */
function perPool(pooler: PoolerLimits): number {
    const pool = pooler.defaultPoolSize + pooler.reservePoolSize;
    return pooler.maxUserConnections > 0 ? Math.min(pool, pooler.maxUserConnections) : pool;
}

/** The most server connections one application's own pools hold: its logins' pools, within `max_db_connections`. */
export function poolCap(pooler: PoolerLimits, users = POOLER_USERS_PER_APP): number {
    const pools = users * perPool(pooler);
    return pooler.maxDbConnections > 0 ? Math.min(pools, pooler.maxDbConnections) : pools;
}

/**
 * The server connections one application makes. Through the pooler: its logins' pools, at most min(clients, cap);
 * and the pool PgBouncer's `auth_query` runs in, as `auth_user` in the client's database (pgbouncer.org config.html,
 * `auth_user`; StackGres sets `authenticator`): a pool like any other, which a burst of logins fills up to
 * min(clients, one pool) and which stays until `server_idle_timeout` (measured: 3 in one database, pools of 3 + 1,
 * tests/servers/postgres/pooler.test.ts). `max_db_connections` caps them together. Not pooled: all its clients.
 */
export function serverSideOf(app: AppConnections, pooler: PoolerLimits | undefined): number {
    if (pooler === undefined || !app.pooled) {
        return app.clients + app.direct;
    }
    const viaPools = Math.min(app.clients, poolCap(pooler)) + Math.min(app.clients, perPool(pooler));
    return (pooler.maxDbConnections > 0 ? Math.min(viaPools, pooler.maxDbConnections) : viaPools) + app.direct;
}

/** Each application's line on either side: its clients (pooled ones only) and its server connections. */
function appLines(apps: readonly AppConnections[], pooler: PoolerLimits | undefined) {
    return {
        client: apps.filter((app) => app.pooled).map((app) => ({ name: app.name, connections: app.clients })),
        server: apps.map((app) => ({ name: app.name, connections: serverSideOf(app, pooler) })),
    };
}

/**
 * The server's budget. Client side: the pooled applications' replicas x pool size against `max_client_conn` (one
 * PgBouncer takes them: the primary's, which the Service and Azure's port 6432 reach). Server side: each application's
 * `serverSideOf` (through the pooler its pools and auth_query's; not pooled, its clients; and its direct ones), the
 * platform's and the reserved ones, against `max_connections`. Each quota is a line of its own on both sides.
 */
export function connectionBudget(server: ServerConnections): ConnectionBudget {
    const pooler = server.pooler;
    const lines = appLines(server.apps, pooler);
    const quotas = server.quotas ?? [];
    const fixed = [...server.platform, { name: "reserved", connections: server.reserved }];
    const clientQuotas = quotas.map((q) => ({ name: q.name, connections: q.clients }));
    const serverQuotas = quotas.map((q) => ({ name: q.name, connections: q.connections }));
    return {
        ...(pooler !== undefined
            ? { client: side([...lines.client, ...clientQuotas], [], pooler.maxClientConnections) }
            : {}),
        server: side([...lines.server, ...serverQuotas], fixed, server.maxConnections),
    };
}

/**
 * Applications (a tenant stack's on one server) against their quota there, counted as `connectionBudget` counts them:
 * so what a tenant's applications use and what its platform's budget holds for them are one arithmetic.
 */
export function quotaBudget(
    apps: readonly AppConnections[],
    pooler: PoolerLimits | undefined,
    quota: Omit<Quota, "name">,
): ConnectionBudget {
    const lines = appLines(apps, pooler);
    return {
        ...(pooler !== undefined ? { client: side(lines.client, [], quota.clients) } : {}),
        server: side(lines.server, [], quota.connections),
    };
}

function side(apps: readonly BudgetLine[], fixed: readonly BudgetLine[], limit: number): BudgetSide {
    return {
        sum: [...apps, ...fixed].reduce((sum, line) => sum + line.connections, 0),
        limit,
        apps: [...apps].sort((a, b) => b.connections - a.connections || a.name.localeCompare(b.name)),
        fixed,
    };
}

/** The lines that fill a side, largest first: at most `max` named, then how many more. */
export function largestLines(lines: readonly BudgetLine[], max = 5): string {
    const named = lines.slice(0, max).map((line) => `${line.name} ${line.connections}`);
    return lines.length > max ? `${named.join(", ")} and ${lines.length - max} more` : named.join(", ");
}
