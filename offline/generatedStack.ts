/**
 * Generated prod stacks of many applications, placed the way a platform team would grow one: PostgreSQL servers as
 * the connection budget needs (at least 3), three shared Redis groups and one dedicated to the first application, the
 * applications' identities spread over resource groups below Azure's 800 per group. `npm run bench` and the limits
 * test measure them.
 */
import { StackConfig, loadStackConfig, mergeConfig } from "./stackConfig";
import {
    DIRECT_CONNECTIONS_PER_APP,
    POOLER_DEFAULTS,
    RESERVED_CONNECTIONS,
    serverSideOf,
} from "../policy/lib/postgres";

/** Each generated application's pool: replicas x connections per replica, a realistic service. */
export const GENERATED_POOL = { poolSize: 10, replicas: 3 } as const;

/**
 * Each server's PgBouncer: pools of 2 server connections per login (transaction pooling), so an application's 30
 * clients cost its server 7 connections (policy/lib/postgres.ts `serverSideOf`: its pools, auth_query's, a direct one).
 */
const GENERATED_PGBOUNCER = { defaultPoolSize: 2 } as const;

/** A SKU whose default max_connections is the most Azure allows (5,000 from 16 vCores), so no restart is needed. */
const SERVER_SKU = "Standard_D16ds_v5";
const SERVER_MAX_CONNECTIONS = 5000;
/** Connections kept free on each server beside the applications' (the platform's own: login Job, exporter). */
const CONNECTION_HEADROOM = 50;
/** Shared Redis groups besides the dedicated one. */
const SHARED_GROUPS = 3;
/** Applications whose identities share one resource group: below Azure's 800 identities per resource group. */
export const APPS_PER_IDENTITY_GROUP = 500;

export const DEDICATED_GROUP = "solo";

function instanceName(kind: string, index: number): string {
    return index === 0 ? "default" : `${kind}${index + 1}`;
}

const CLIENTS_PER_APP = GENERATED_POOL.poolSize * GENERATED_POOL.replicas;

/** What one generated application costs its server through PgBouncer. */
const SERVER_SIDE_PER_APP = serverSideOf(
    { name: "", clients: CLIENTS_PER_APP, pooled: true, direct: DIRECT_CONNECTIONS_PER_APP },
    { ...POOLER_DEFAULTS.azure, ...GENERATED_PGBOUNCER },
);

/** How many servers `count` applications of `GENERATED_POOL` need (at least 3), beside `ownDemand` connections. */
export function generatedServerCount(count: number, ownDemand = 0): number {
    const perServer = SERVER_MAX_CONNECTIONS - RESERVED_CONNECTIONS.azure - CONNECTION_HEADROOM;
    return Math.max(3, Math.ceil((ownDemand + count * SERVER_SIDE_PER_APP) / perServer));
}

export interface PlacementOptions {
    /** Each application's name from its index (`app-001`, ...). */
    readonly name?: (i: number) => string;
    /** Applications the stack keeps on the default server and group: their clients and Redis databases stay theirs. */
    readonly own?: ReadonlyArray<{ readonly redisDb: number; readonly poolSize?: number; readonly replicas?: number }>;
}

/** `count` generated applications placed over servers and groups, and the sections that size those (`prod`'s). */
export function generatedPlacement(
    prod: StackConfig,
    count: number,
    options: PlacementOptions = {},
): { apps: Record<string, unknown>[]; sections: Record<string, unknown> } {
    const { name = (i: number) => `app-${String(i + 1).padStart(3, "0")}`, own = [] } = options;
    const postgres = JSON.parse(prod.config["data-platform:postgres"]);
    const redis = JSON.parse(prod.config["data-platform:redis"]);
    const resourceGroup = JSON.parse(prod.config["data-platform:azure"]).resourceGroupName as string;
    const ownDemand = own.reduce((sum, a) => sum + (a.poolSize ?? 1) * (a.replicas ?? 1), 0);
    const servers = generatedServerCount(count, ownDemand);
    const groupIndexes = new Map<string, number>(
        own.length > 0 ? [["default", Math.max(...own.map((a) => a.redisDb))]] : [],
    );
    const apps = Array.from({ length: count }, (_, i) => {
        const server = instanceName("pg", i % servers);
        const group = i === 0 ? DEDICATED_GROUP : instanceName("cache", (i - 1) % SHARED_GROUPS);
        const redisDb = (groupIndexes.get(group) ?? 0) + 1;
        groupIndexes.set(group, redisDb);
        const chunk = Math.floor(i / APPS_PER_IDENTITY_GROUP);
        return {
            name: name(i),
            namespace: name(i),
            redisDb,
            ...GENERATED_POOL,
            ...(server === "default" ? {} : { postgres: { server } }),
            ...(group === "default" ? {} : { redis: { group } }),
            ...(chunk === 0 ? {} : { identityResourceGroupName: `${resourceGroup}-apps-${chunk + 1}` }),
        };
    });
    // Named servers and groups take nothing from the section: each is given prod's settings. Their databases the
    // login Job creates, as on any stack set up now.
    const server = {
        ...postgres,
        maxConnections: SERVER_MAX_CONNECTIONS,
        // One PgBouncer takes every client of its server's applications.
        pooler: {
            ...GENERATED_PGBOUNCER,
            maxClientConnections: Math.max(
                POOLER_DEFAULTS.azure.maxClientConnections,
                Math.ceil(count / servers) * CLIENTS_PER_APP + ownDemand + CONNECTION_HEADROOM,
            ),
        },
        azure: { ...postgres.azure, skuName: SERVER_SKU, databases: "sql" },
    };
    const databases = (group: string) => (groupIndexes.get(group) ?? 0) + 1;
    const sections = {
        "data-platform:postgres": {
            ...server,
            servers: Object.fromEntries(
                Array.from({ length: servers - 1 }, (_, i) => [instanceName("pg", i + 1), server]),
            ),
        },
        "data-platform:redis": {
            ...redis,
            databases: databases("default"),
            groups: {
                ...Object.fromEntries(
                    Array.from({ length: SHARED_GROUPS - 1 }, (_, i) => {
                        const group = instanceName("cache", i + 1);
                        return [group, { ...redis, databases: databases(group) }];
                    }),
                ),
                [DEDICATED_GROUP]: { ...redis, dedicated: true, databases: databases(DEDICATED_GROUP) },
            },
        },
    };
    return { apps, sections };
}

/** The prod stack with `count` generated applications (`app-001`, ...), placed over servers and groups. */
export function generatedStack(count: number): StackConfig {
    const prod = loadStackConfig("prod");
    const { apps, sections } = generatedPlacement(prod, count);
    return mergeConfig(prod, { "data-platform:apps": apps, ...sections });
}
