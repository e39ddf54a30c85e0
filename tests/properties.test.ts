/**
 * Property tests over the configuration space (fast-check, fixed seed: a failure prints its seed, path and the
 * shrunk configuration, and replays with them). Generated stacks vary the application names and count (1..60),
 * namespaces, both PostgreSQL modes (the dev stack is StackGres, prod is Azure), both Redis modes, pool sizes,
 * profiles, rotations and key patterns.
 *
 * The configuration properties draw 1..60 applications evenly. A run of the program costs a millisecond or more per
 * registration and each application adds about twenty, so the program properties draw counts weighted towards one
 * or two applications, reaching 60 rarely. A program case is two runs, in worker threads (support/programPool.ts):
 * the generated stack, which every check runs on, and the stack with one more application, compared with it.
 */
import { strict as assert } from "assert";
import * as fc from "fast-check";
import { ConfigError, PlatformConfig, defaultVaultName, parseConfig } from "../components/config";
import { KEY_VAULT_NAME, KEY_VAULT_SECRET_NAME, PG_IDENTIFIER } from "../components/config/names";
import { serverName } from "../components/postgres/azureSpec";
import { appLogins } from "../components/postgres/sql";
import { RESERVED_USER_NAMES } from "../components/redis/acl";
import { bundleSecretName, credentialSecretName, platformCredentialIds } from "../components/vault";
import { StackConfig, loadStackConfig, mergeConfig } from "../engine/stackConfig";
import type { Overrides } from "./support/config";
import { AZURE_NAMES, fitsLabel } from "./support/nameRules";
import { ProgramPool } from "./support/programPool";

const SEED = 20261201;
const RUNS = 200;
/** Each property's run: the error itself in the report, beside the seed, the path and the shrunk case. */
const PARAMETERS = { seed: SEED, numRuns: RUNS, includeErrorInReport: true };

type Stack = "dev" | "prod";

/** The stack files, read once: every case starts from one of them. */
const STACK_FILES: Readonly<Record<Stack, StackConfig>> = {
    dev: loadStackConfig("dev"),
    prod: loadStackConfig("prod"),
};

interface GeneratedApp {
    readonly name: string;
    readonly namespace: string;
    readonly redisDb: number;
    readonly poolSize: number;
    readonly replicas: number;
    readonly redisKeyPatterns?: readonly string[];
}

interface Generated {
    readonly stack: Stack;
    readonly redisMode: "sentinel" | "standalone";
    readonly apps: GeneratedApp[];
    readonly rotations: Record<string, string>;
}

/**
 * An application name: a DNS label of at most 30 characters that the platform does not reserve. Lengths up to the
 * limit (fast-check's default size stops at 12), where derived names meet their APIs' limits.
 */
const appName = fc
    .stringMatching(/^[a-z][a-z0-9-]{0,28}[a-z0-9]$/, { size: "max" })
    .filter((n) => !RESERVED_USER_NAMES.includes(n) && n !== "data-platform");

const database = (name: string) => name.replace(/-/g, "_");

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

/** Every name's application: its own namespace, Redis database and one connection (60 fit either budget). */
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
                },
                { requiredKeys: ["name", "namespace", "redisDb", "poolSize", "replicas"] },
            ),
        ),
    );
}

/** A stack with the applications `apps` generates, a Redis mode and up to three rotations. */
function stackWith(apps: fc.Arbitrary<GeneratedApp[]>): fc.Arbitrary<Generated> {
    return fc
        .record({
            stack: fc.constantFrom<Stack>("dev", "prod"),
            redisMode: fc.constantFrom<"sentinel" | "standalone">("sentinel", "standalone"),
            apps,
        })
        .chain((g) =>
            fc.record({
                stack: fc.constant(g.stack),
                redisMode: fc.constant(g.redisMode),
                apps: fc.constant(g.apps),
                rotations: fc.dictionary(
                    fc.constantFrom(...g.apps.map((a) => `redis-app-${a.name}`), "redis-admin", "pg-admin"),
                    fc.integer({ min: 1, max: 9 }).map(String),
                    { maxKeys: 3 },
                ),
            }),
        );
}

/** 1..60 applications, evenly: for the properties that only parse. */
const anyCount = fc.integer({ min: 1, max: 60 });

/**
 * 1..59 applications for the properties that run the program: 70 % one, 20 % two, 9.5 % three to five, 0.5 % more.
 * Drawn evenly from a range mapped onto those counts, so a failing case shrinks towards one application.
 */
const runCount = fc
    .noBias(fc.integer({ min: 0, max: 99_999 }))
    .map((x) => (x < 70_000 ? 1 : x < 90_000 ? 2 : x < 99_500 ? 3 + (x % 3) : 6 + (x % 54)));

const generated = stackWith(appNames(anyCount).chain(appsNamed));

/** A stack, one more application whose names collide with none of its own, and where in the list it goes. */
interface Addition {
    readonly g: Generated;
    readonly extra: GeneratedApp;
    readonly at: number;
}

/** `count` applications in all: the stack's and the one added (its Redis database is the last). */
function addition(count: fc.Arbitrary<number>): fc.Arbitrary<Addition> {
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
function added({ g, extra, at }: Addition): Generated {
    return { ...g, apps: [...g.apps.slice(0, at), extra, ...g.apps.slice(at)] };
}

/** The stack file with the generated applications, Redis mode and rotations applied. */
function overrides(g: Generated): Overrides {
    const section = (name: string, changes: Record<string, unknown>) => {
        const key = `data-platform:${name}`;
        return { [key]: { ...JSON.parse(STACK_FILES[g.stack].config[key] ?? "{}"), ...changes } };
    };
    const redis = section("redis", {
        mode: g.redisMode,
        databases: 64,
        // A Sentinel group needs room for replica buffers and the backlog: the development profile's 256Mi is refused
        // there (the first thing these properties found: development defaults and sentinel mode do not fit together).
        ...(g.redisMode === "sentinel" ? { replicas: 3, sentinels: 3, quorum: 2, memory: "1Gi" } : {}),
    });
    return { ...redis, ...section("keyVault", { rotations: g.rotations }), "data-platform:apps": g.apps };
}

function parse(g: Generated): PlatformConfig {
    const { config, secretKeys } = mergeConfig(STACK_FILES[g.stack], overrides(g));
    return parseConfig(config, g.stack, secretKeys);
}

/** Runs `check`; a failure names the configurations it failed for, as the stack and the overrides each applies. */
async function forAddition(c: Addition, check: () => unknown): Promise<void> {
    try {
        await check();
    } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        const config = (g: Generated) => `stack ${g.stack} with ${JSON.stringify(overrides(g))}`;
        throw new Error(`${message}\nbefore: ${config(c.g)}\nafter: ${config(added(c))}`);
    }
}

/** Every name the platform derives for a stack, with the limit of the API that takes it. */
function derivedNames(config: PlatformConfig): Array<{ what: string; name: string; ok: boolean }> {
    const names: Array<{ what: string; name: string; ok: boolean }> = [];
    const add = (what: string, name: string, ok: boolean) => names.push({ what, name, ok });
    add("Key Vault name", config.keyVault.name, KEY_VAULT_NAME.test(config.keyVault.name));
    const server = serverName(config);
    add("Azure server name", server, AZURE_NAMES.serverName.test(server));
    for (const id of platformCredentialIds(config)) {
        add("Key Vault secret", credentialSecretName(id), KEY_VAULT_SECRET_NAME.test(credentialSecretName(id)));
    }
    for (const app of config.apps) {
        add("bundle secret", bundleSecretName(app.name), KEY_VAULT_SECRET_NAME.test(bundleSecretName(app.name)));
        add("namespace", app.namespace, fitsLabel(app.namespace));
        add("Secret", app.secretName, fitsLabel(app.secretName));
    }
    for (const login of appLogins(config.apps, config.keyVault.rotations)) {
        add("database", login.database, PG_IDENTIFIER.test(login.database) && login.database.length <= 63);
        for (const l of login.logins) {
            add("login", l.name, PG_IDENTIFIER.test(l.name) && l.name.length <= 63);
        }
    }
    return names;
}

/** A program case: a stack of 1..59 applications (most with one or two) and one more application. */
const programCase = addition(runCount.map((n) => n + 1));

describe("properties over generated stack configurations (fast-check)", function () {
    // Generous: a program case is two runs, other processes share the two cores, and a failing case shrinks through
    // tens of runs more.
    this.timeout(600_000);

    let pool: ProgramPool;
    // A case's two runs: the generated stack, with every check; the stack with the application added, to compare.
    const stackRun = (c: Addition) => [c.g.stack, overrides(c.g), true] as const;
    const addedRun = (c: Addition) => [c.g.stack, overrides(added(c)), false] as const;
    before(() => {
        pool = new ProgramPool();
        // Every case fast-check will try first, so the worker threads run ahead while the other properties run here.
        const cases = fc.sample(programCase, { seed: SEED, numRuns: RUNS });
        cases.forEach((c) => pool.prefetch(...stackRun(c)));
        cases.forEach((c) => pool.prefetch(...addedRun(c)));
    });
    after(() => pool.close());

    it(`every valid configuration parses, and every derived name fits its API (${RUNS} cases)`, () => {
        fc.assert(
            fc.property(generated, (g) => {
                const config = parse(g);
                assert.equal(config.apps.length, g.apps.length);
                assert.deepEqual(
                    derivedNames(config).filter((n) => !n.ok),
                    [],
                );
            }),
            PARAMETERS,
        );
    });

    it(`adding an unrelated application renames no stateful thing the configuration derives (${RUNS} cases)`, () => {
        fc.assert(
            fc.property(addition(fc.integer({ min: 2, max: 60 })), (c) => {
                const before = parse(c.g);
                const after = parse(added(c));
                assert.equal(after.keyVault.name, before.keyVault.name);
                assert.equal(serverName(after), serverName(before));
                assert.equal(after.postgres.stackgres.clusterName, before.postgres.stackgres.clusterName);
                const keep = (config: PlatformConfig) =>
                    config.apps
                        .filter((a) => a.name !== c.extra.name)
                        .map((a) => [a.name, a.database, a.namespace, a.secretName, bundleSecretName(a.name)])
                        .sort();
                assert.deepEqual(keep(after), keep(before));
                const ids = new Set(platformCredentialIds(after));
                assert.ok(platformCredentialIds(before).every((id) => ids.has(id)));
            }),
            PARAMETERS,
        );
    });

    /** One way to break a valid configuration, and the key its message must name. */
    const breakage = fc.oneof(
        fc.record({
            kind: fc.constant("wrong type"),
            field: fc.constantFrom("poolSize", "replicas", "redisDb"),
            // Not null: a null value means "unset" (the default applies), as in a stack file.
            value: fc.oneof(fc.string(), fc.boolean(), fc.constant([1]), fc.constant({ n: 1 })),
        }),
        fc.record({
            kind: fc.constant("out of range"),
            field: fc.constantFrom("poolSize", "replicas", "redisDb"),
            value: fc.oneof(fc.integer({ min: -50, max: 0 }), fc.integer({ min: 1025, max: 10_000 }), fc.double()),
        }),
        fc.record({ kind: fc.constant("duplicate name"), field: fc.constant("name"), value: fc.constant(null) }),
        fc.record({
            kind: fc.constant("unknown key"),
            field: fc.stringMatching(/^x[a-zA-Z]{0,10}$/),
            value: fc.string(),
        }),
    );

    it(`every invalid configuration is one ConfigError naming the key, never a stack trace (${RUNS} cases)`, () => {
        fc.assert(
            fc.property(
                generated.filter((g) => g.apps.length >= 2),
                breakage,
                fc.nat(),
                (g, broken, pick) => {
                    const i = pick % g.apps.length;
                    const apps: Array<Record<string, unknown>> = g.apps.map((a) => ({ ...a }));
                    if (broken.kind === "duplicate name") {
                        apps[i] = { ...apps[i], name: apps[(i + 1) % apps.length].name };
                    } else {
                        apps[i] = { ...apps[i], [broken.field]: broken.value };
                    }
                    let error: unknown;
                    try {
                        parse({ ...g, apps: apps as unknown as GeneratedApp[] });
                    } catch (err) {
                        error = err;
                    }
                    assert.ok(error instanceof ConfigError, `expected a ConfigError for ${broken.kind}, got ${error}`);
                    const lines = error.message.split("\n").slice(1);
                    assert.ok(
                        lines.length > 0 && lines.every((l) => /^ {2}data-platform:\S+: given /.test(l)),
                        error.message,
                    );
                    assert.ok(
                        error.issues.some((issue) => issue.path.startsWith("data-platform:apps[")),
                        `no line names data-platform:apps[...]: ${error.message}`,
                    );
                },
            ),
            PARAMETERS,
        );
    });

    it(`the program runs for generated stacks: objects valid upstream, names within limits, int32 numbers, no password in the plan or the manifests, no mandatory policy violation (${RUNS} cases)`, async () => {
        await fc.assert(
            fc.asyncProperty(programCase, (c) =>
                forAddition(c, async () => {
                    const { error, problems } = await pool.verdict(...stackRun(c));
                    assert.equal(error, undefined);
                    assert.deepEqual(problems, []);
                }),
            ),
            PARAMETERS,
        );
    });

    it(`adding an unrelated application renames, replaces or removes no stateful thing of the program (${RUNS} cases)`, async () => {
        await fc.assert(
            fc.asyncProperty(programCase, (c) =>
                forAddition(c, async () => {
                    const [earlier, later] = await Promise.all([
                        pool.verdict(...stackRun(c)),
                        pool.verdict(...addedRun(c)),
                    ]);
                    assert.equal(earlier.error ?? later.error, undefined);
                    const identities = new Map(later.identities);
                    assert.deepEqual(
                        earlier.identities
                            .filter(([urn, identity]) => identities.get(urn) !== identity)
                            .map(([urn]) => urn),
                        [],
                    );
                }),
            ),
            PARAMETERS,
        );
    });

    it("the default vault name fits Key Vault for any stack and resource group name", () => {
        fc.assert(
            fc.property(
                fc.string({ minLength: 1, maxLength: 60 }),
                fc.stringMatching(/^[-\w._()]{1,90}$/),
                (stack, rg) => assert.ok(KEY_VAULT_NAME.test(defaultVaultName(stack, rg)), defaultVaultName(stack, rg)),
            ),
            PARAMETERS,
        );
    });
});
