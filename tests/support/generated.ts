/**
 * Generators of valid stack configurations for the property tests (fast-check, fixed seed: a failure prints its
 * seed, path and the shrunk configuration, and replays with them). Generated stacks vary the application names and
 * count (1..60), namespaces, both PostgreSQL modes (the dev stack is StackGres, prod is Azure), both Redis modes, pool
 * sizes, profiles, rotations, key patterns, and up to three named Redis groups and two named PostgreSQL servers (some
 * dedicated) with the applications placed over them, their Redis client profiles and keys of their own in their Secrets.
 */
import * as fc from "fast-check";
import { PlatformConfig, parseConfig } from "../../components/config";
import { RESERVED_USER_NAMES } from "../../components/redis/acl";
import { loginReservation } from "../../components/postgres/configRules";
import { StackConfig, loadStackConfig, mergeConfig } from "../../offline/stackConfig";
import type { Overrides } from "./config";

export const SEED = 20261201;
export const RUNS = 200;
/** Each property's run: the error itself in the report, beside the seed, the path and the shrunk case. */
export const PARAMETERS = { seed: SEED, numRuns: RUNS, includeErrorInReport: true };

type Stack = "dev" | "prod";

/** The stack files, read once: every case starts from one of them. */
const STACK_FILES: Readonly<Record<Stack, StackConfig>> = {
    dev: loadStackConfig("dev"),
    prod: loadStackConfig("prod"),
};

export interface GeneratedApp {
    readonly name: string;
    readonly namespace: string;
    readonly redisDb: number;
    readonly poolSize: number;
    readonly replicas: number;
    readonly redisKeyPatterns?: readonly string[];
    readonly redis?: { readonly group?: string; readonly clients?: readonly string[] };
    readonly postgres?: { readonly server: string };
    readonly env?: Readonly<Record<string, string>>;
}

/** A named Redis group or PostgreSQL server of a generated stack. */
export interface GeneratedGroup {
    readonly name: string;
    readonly dedicated: boolean;
}

export interface Generated {
    readonly stack: Stack;
    readonly redisMode: "sentinel" | "standalone";
    readonly apps: GeneratedApp[];
    readonly rotations: Record<string, number | string>;
    /** Named groups beside the default; applications are placed over all of them. */
    readonly groups: GeneratedGroup[];
    /** Named PostgreSQL servers beside the default, as the stack's own (mode, network); applications placed over them. */
    readonly servers: GeneratedGroup[];
}

/** The Azure admin login of the stacks (prod's, the default): no application's login may be named like it. */
const AZURE_ADMIN = parseConfig(STACK_FILES.prod.config, "prod", STACK_FILES.prod.secretKeys).postgres.azure.adminLogin;

/**
 * An application name: a DNS label of at most 30 characters that the platform does not reserve. Lengths up to the
 * limit (fast-check's default size stops at 12), where derived names meet their APIs' limits.
 */
const appName = fc
    .stringMatching(/^[a-z][a-z0-9-]{0,28}[a-z0-9]$/, { size: "max" })
    .filter((n) => !RESERVED_USER_NAMES.includes(n) && n !== "data-platform")
    .filter((n) =>
        [database(n), `${database(n)}_alt`].every((login) => loginReservation(login, AZURE_ADMIN) === undefined),
    );

function database(name: string): string {
    return name.replace(/-/g, "_");
}

/**
 * `count` application names whose databases are distinct and are not each other's `_alt` login. Taken from the front
 * of a list drawn apart from the count, so a failing case can shrink the list (its failing name moves to the front)
 * and then the count (a count that picked the names itself would draw new ones).
 */
function appNames(count: fc.Arbitrary<number>): fc.Arbitrary<string[]> {
    return fc
        .tuple(count, fc.uniqueArray(appName, { minLength: 1, maxLength: 60, selector: database, size: "max" }))
        .filter(([n, names]) => names.length >= n)
        .map(([n, names]) => names.slice(0, n))
        .filter((names) => {
            const databases = new Set(names.map(database));
            return names.every((n) => !databases.has(`${database(n)}_alt`));
        });
}

/**
 * Every name's application: its own namespace, Redis database and one connection, which costs 3 on its server through
 * PgBouncer (its pool, auth_query's, a migration): 61 fit either stack's budget with `maxConnections` of 250 (below).
 */
function appsNamed(names: readonly string[]): fc.Arbitrary<GeneratedApp[]> {
    return fc.tuple(
        ...names.map((name, i) =>
            fc.record(
                {
                    name: fc.constant(name),
                    namespace: fc.constant(name),
                    redisDb: fc.constant(i + 1),
                    poolSize: fc.constant(1),
                    replicas: fc.constant(1),
                    redisKeyPatterns: fc.constant([`${name}:*`, `${name}-jobs:*`]),
                    env: fc.constant({ APP_DB_PASSWORD: "{{DB_PASSWORD}}", APP_DB_URL: "{{DATABASE_URL}}" }),
                },
                { requiredKeys: ["name", "namespace", "redisDb", "poolSize", "replicas"] },
            ),
        ),
    );
}

/** Up to three named groups, some dedicated. */
const groups = fc.uniqueArray(
    fc.record({ name: fc.constantFrom("blue", "green", "cache7", "celery"), dedicated: fc.boolean() }),
    { maxLength: 3, selector: (group) => group.name },
);

/** Up to two named PostgreSQL servers, some dedicated. */
const servers = fc.uniqueArray(
    fc.record({ name: fc.constantFrom("north", "south", "olap"), dedicated: fc.boolean() }),
    { maxLength: 2, selector: (server) => server.name },
);

/**
 * The applications placed over the default instance and `named`, by a drawn index each, with `place` naming where; a
 * dedicated instance keeps only the first application placed on it (the others stay on the default).
 */
function placed(
    apps: readonly GeneratedApp[],
    named: readonly GeneratedGroup[],
    place: (app: GeneratedApp, name: string) => GeneratedApp,
): fc.Arbitrary<GeneratedApp[]> {
    return fc.array(fc.nat({ max: named.length }), { minLength: apps.length, maxLength: apps.length }).map((at) => {
        const taken = new Set<string>();
        return apps.map((app, i) => {
            const instance = at[i] === 0 ? undefined : named[at[i] - 1];
            if (instance === undefined || (instance.dedicated && taken.has(instance.name))) {
                return app;
            }
            taken.add(instance.name);
            return place(app, instance.name);
        });
    });
}

/** Client profiles an application may have on a shared group (unset: the default). */
const SHARED_CLIENTS: readonly (readonly string[] | undefined)[] = [
    undefined,
    ["plain"],
    ["celery"],
    ["celery", "plain"],
];

/** Each application's drawn Redis client profiles: a shared group's, or on its dedicated group possibly `sessions`. */
function withClients(apps: readonly GeneratedApp[], groups: readonly GeneratedGroup[]): fc.Arbitrary<GeneratedApp[]> {
    const draw = fc.tuple(fc.nat({ max: SHARED_CLIENTS.length - 1 }), fc.boolean());
    return fc.array(draw, { minLength: apps.length, maxLength: apps.length }).map((at) =>
        apps.map((app, i) => {
            const [shared, sessions] = at[i];
            const dedicated = groups.some((g) => g.dedicated && g.name === app.redis?.group);
            const clients = dedicated && sessions ? ["sessions"] : SHARED_CLIENTS[shared];
            return clients ? { ...app, redis: { ...app.redis, clients } } : app;
        }),
    );
}

/** A stack with the applications `apps` generates placed over its groups, a Redis mode and up to three rotations. */
function stackWith(apps: fc.Arbitrary<GeneratedApp[]>): fc.Arbitrary<Generated> {
    return fc
        .record({
            stack: fc.constantFrom<Stack>("dev", "prod"),
            redisMode: fc.constantFrom<"sentinel" | "standalone">("sentinel", "standalone"),
            apps,
            groups,
            servers,
        })
        .chain((g) =>
            fc.record({
                stack: fc.constant(g.stack),
                redisMode: fc.constant(g.redisMode),
                groups: fc.constant(g.groups),
                servers: fc.constant(g.servers),
                apps: placed(g.apps, g.groups, (app, group) => ({ ...app, redis: { group } }))
                    .chain((apps) => placed(apps, g.servers, (app, server) => ({ ...app, postgres: { server } })))
                    .chain((apps) => withClients(apps, g.groups)),
                rotations: fc.dictionary(
                    fc.constantFrom(...g.apps.map((a) => `redis-app-${a.name}`), "redis-admin", "pg-admin"),
                    // As users type them: YAML and `pulumi config set --path` write numbers, quoted YAML strings.
                    fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }).map(String)),
                    { maxKeys: 3 },
                ),
            }),
        );
}

/** 1..60 applications, evenly: for the properties that only parse. */
const anyCount = fc.integer({ min: 1, max: 60 });

export const generated = stackWith(appNames(anyCount).chain(appsNamed));

/** A stack, one more application whose names collide with none of its own, and where in the list it goes. */
export interface Addition {
    readonly g: Generated;
    readonly extra: GeneratedApp;
    readonly at: number;
}

/** `count` applications in all: the stack's and the one added (its Redis database is the last). */
export function addition(count: fc.Arbitrary<number>): fc.Arbitrary<Addition> {
    return appNames(count)
        .chain(appsNamed)
        .chain((apps) =>
            fc.record({
                g: stackWith(fc.constant(apps.slice(0, -1))),
                extra: fc.constant(apps[apps.length - 1]),
                at: fc.nat({ max: apps.length - 1 }),
            }),
        );
}

/** The stack with the application added: the others keep their entries, only the list's order moves. */
export function added({ g, extra, at }: Addition): Generated {
    return { ...g, apps: [...g.apps.slice(0, at), extra, ...g.apps.slice(at)] };
}

/** Room for 61 applications' 3 connections each and the platform's (`appsNamed`): dev's own 100 is too few. */
const ROOM_FOR_60_APPS = 250;

/** The stack file with the generated applications, Redis mode and rotations applied. */
export function overrides(g: Generated): Overrides {
    const section = (name: string, changes: Record<string, unknown>) => {
        const key = `data-platform:${name}`;
        return { [key]: { ...JSON.parse(STACK_FILES[g.stack].config[key] ?? "{}"), ...changes } };
    };
    const settings = {
        mode: g.redisMode,
        databases: 64,
        // A Sentinel group needs room for replica buffers and the backlog: the development profile's 256Mi is refused
        // there (the first thing these properties found: development defaults and sentinel mode do not fit together).
        ...(g.redisMode === "sentinel" ? { replicas: 3, sentinels: 3, quorum: 2, memory: "1Gi" } : {}),
    };
    // A named group inherits nothing from the section: with TLS (production's default) it needs the issuer's CA too.
    const caCert: unknown = JSON.parse(STACK_FILES[g.stack].config["data-platform:redis"] ?? "{}").tlsCaCert;
    const groupSettings = { ...settings, ...(caCert === undefined ? {} : { tlsCaCert: caCert }) };
    const redis = section("redis", {
        ...settings,
        groups: Object.fromEntries(g.groups.map(({ name, dedicated }) => [name, { ...groupSettings, dedicated }])),
    });
    // Named servers as the stack's own (mode, network, sizes), so each is valid where the stack's is.
    const { servers: _none, ...postgres } = JSON.parse(STACK_FILES[g.stack].config["data-platform:postgres"]);
    const maxConnections = Math.max(postgres.maxConnections ?? 0, ROOM_FOR_60_APPS);
    const pg = section("postgres", {
        maxConnections,
        servers: Object.fromEntries(
            g.servers.map(({ name, dedicated }) => [
                name,
                {
                    ...postgres,
                    maxConnections,
                    dedicated,
                    stackgres: { ...postgres.stackgres, installOperator: false },
                },
            ]),
        ),
    });
    return {
        ...redis,
        ...pg,
        ...section("keyVault", { rotations: g.rotations }),
        "data-platform:apps": g.apps,
    };
}

export function parse(g: Generated): PlatformConfig {
    const { config, secretKeys } = mergeConfig(STACK_FILES[g.stack], overrides(g));
    return parseConfig(config, g.stack, secretKeys);
}
