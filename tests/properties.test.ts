/**
 * Property tests over the configuration space (fast-check, fixed seed: a failure prints its seed, path and the
 * shrunk configuration, and replays with them). Generated stacks vary the application names and count (1..60),
 * namespaces, both PostgreSQL modes (the dev stack is StackGres, prod is Azure), both Redis modes, pool sizes,
 * profiles, rotations and key patterns.
 */
import { strict as assert } from "assert";
import * as fc from "fast-check";
import { ConfigError, PlatformConfig, defaultVaultName } from "../components/config";
import { DNS_LABEL, KEY_VAULT_NAME, KEY_VAULT_SECRET_NAME, PG_IDENTIFIER } from "../components/config/names";
import { serverName } from "../components/postgres/azureSpec";
import { appLogins } from "../components/postgres/sql";
import { RESERVED_USER_NAMES } from "../components/redis/acl";
import { bundleSecretName, credentialSecretName, platformCredentialIds } from "../components/vault";
import { StatefulSet } from "kubernetes-models/apps/v1";
import { Job } from "kubernetes-models/batch/v1";
import { ConfigMap, Namespace, Service, ServiceAccount } from "kubernetes-models/v1";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { Role, RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1";
import type { RecordedResource } from "../engine/mockEngine";
import { toPlan } from "../engine/plan";
import { allPolicies } from "../policy/policies";
import { validateAgainstCrd } from "./support/crdSchemas";
import { packConfig, runPolicies } from "./support/policyHarness";
import { parseStack, type Overrides, sectionOverride } from "./support/config";
import { runStack } from "./support/program";

const SEED = 20261201;
const RUNS = 200;

type Stack = "dev" | "prod";

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

/** An application name: a DNS label of at most 30 characters that the platform does not reserve. */
const appName = fc
    .stringMatching(/^[a-z][a-z0-9-]{0,28}[a-z0-9]$/)
    .filter((n) => !RESERVED_USER_NAMES.includes(n) && n !== "data-platform");

/** 1..max applications with names whose databases are distinct and are not each other's `_alt` login. */
function apps(max: number): fc.Arbitrary<GeneratedApp[]> {
    return fc
        .uniqueArray(appName, {
            minLength: 1,
            maxLength: max,
            selector: (n) => n.replace(/-/g, "_"),
        })
        .filter((names) => {
            const databases = new Set(names.map((n) => n.replace(/-/g, "_")));
            return names.every((n) => !databases.has(`${n.replace(/-/g, "_")}_alt`));
        })
        .chain((names) =>
            fc.tuple(
                ...names.map((name, i) =>
                    fc.record({
                        name: fc.constant(name),
                        namespace: fc.constant(name),
                        redisDb: fc.constant(i + 1),
                        // One connection each, so 60 applications fit either server's budget.
                        poolSize: fc.constant(1),
                        replicas: fc.constant(1),
                        redisKeyPatterns: fc.option(fc.constant([`${name}:*`, `${name}-jobs:*`]), { nil: undefined }),
                    }),
                ),
            ),
        )
        .map((list) => list.map((a) => (a.redisKeyPatterns ? a : { ...a, redisKeyPatterns: undefined })));
}

const generated: fc.Arbitrary<Generated> = fc
    .record({
        stack: fc.constantFrom<Stack>("dev", "prod"),
        redisMode: fc.constantFrom<"sentinel" | "standalone">("sentinel", "standalone"),
        apps: apps(60),
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

/** The stack file with the generated applications, Redis mode and rotations applied. */
function overrides(g: Generated): Overrides {
    const redis = sectionOverride(g.stack, "redis", {
        mode: g.redisMode,
        databases: 64,
        // A Sentinel group needs room for replica buffers and the backlog: the development profile's 256Mi is refused
        // there (the first thing these properties found: development defaults and sentinel mode do not fit together).
        ...(g.redisMode === "sentinel" ? { replicas: 3, sentinels: 3, quorum: 2, memory: "1Gi" } : {}),
    });
    const keyVault = sectionOverride(g.stack, "keyVault", { rotations: g.rotations });
    const apps = g.apps.map((a) => Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined)));
    return { ...redis, ...keyVault, "data-platform:apps": apps };
}

/** Every name the platform derives for a stack, with the limit of the API that takes it. */
function derivedNames(config: PlatformConfig): Array<{ what: string; name: string; ok: boolean }> {
    const names: Array<{ what: string; name: string; ok: boolean }> = [];
    const add = (what: string, name: string, ok: boolean) => names.push({ what, name, ok });
    add("Key Vault name", config.keyVault.name, KEY_VAULT_NAME.test(config.keyVault.name));
    const server = serverName(config);
    add("Azure server name", server, /^[a-z0-9][-a-z0-9]{1,61}[a-z0-9]$/.test(server));
    for (const id of platformCredentialIds(config)) {
        add("Key Vault secret", credentialSecretName(id), KEY_VAULT_SECRET_NAME.test(credentialSecretName(id)));
    }
    for (const app of config.apps) {
        add("bundle secret", bundleSecretName(app.name), KEY_VAULT_SECRET_NAME.test(bundleSecretName(app.name)));
        add("namespace", app.namespace, DNS_LABEL.test(app.namespace) && app.namespace.length <= 63);
        add("Secret", app.secretName, DNS_LABEL.test(app.secretName) && app.secretName.length <= 63);
    }
    for (const login of appLogins(config.apps, config.keyVault.rotations)) {
        add("database", login.database, PG_IDENTIFIER.test(login.database) && login.database.length <= 63);
        for (const l of login.logins) {
            add("login", l.name, PG_IDENTIFIER.test(l.name) && l.name.length <= 63);
        }
    }
    return names;
}

/** Core Kubernetes kinds the program registers, validated with kubernetes-models. */
const CORE_MODELS: Readonly<Record<string, new (data: any) => { validate(): void }>> = {
    "kubernetes:apps/v1:StatefulSet": StatefulSet,
    "kubernetes:batch/v1:Job": Job,
    "kubernetes:core/v1:ConfigMap": ConfigMap,
    "kubernetes:core/v1:Namespace": Namespace,
    "kubernetes:core/v1:Service": Service,
    "kubernetes:core/v1:ServiceAccount": ServiceAccount,
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": NetworkPolicy,
    "kubernetes:policy/v1:PodDisruptionBudget": PodDisruptionBudget,
    "kubernetes:rbac.authorization.k8s.io/v1:Role": Role,
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": RoleBinding,
};

/** Schema problems of one recorded object: upstream CRDs (StackGres, ESO) or kubernetes-models; none for others. */
function schemaProblems(r: RecordedResource): string[] {
    if (/^kubernetes:(stackgres\.io|external-secrets\.io)\//.test(r.type)) {
        return validateAgainstCrd(r.inputs).map((p) => `${r.name}: ${p}`);
    }
    const Model = CORE_MODELS[r.type];
    if (!Model) {
        return [];
    }
    try {
        new Model(r.inputs).validate();
        return [];
    } catch (err) {
        return [`${r.name}: ${err instanceof Error ? err.message : err}`];
    }
}

describe("properties over generated stack configurations (fast-check)", function () {
    this.timeout(60_000);

    it(`every valid configuration parses, and every derived name fits its API (${RUNS} cases)`, () => {
        fc.assert(
            fc.property(generated, (g) => {
                const config = parseStack(g.stack, overrides(g));
                assert.equal(config.apps.length, g.apps.length);
                assert.deepEqual(
                    derivedNames(config).filter((n) => !n.ok),
                    [],
                );
            }),
            { seed: SEED, numRuns: RUNS },
        );
    });

    it(`adding an unrelated application renames no stateful thing (${RUNS} cases)`, () => {
        fc.assert(
            fc.property(
                generated.filter((g) => g.apps.length < 60),
                appName,
                (g, extra) => {
                    fc.pre(
                        !g.apps.some(
                            (a) =>
                                a.name.replace(/-/g, "_") === extra.replace(/-/g, "_") ||
                                `${a.name.replace(/-/g, "_")}_alt` === extra.replace(/-/g, "_") ||
                                `${extra.replace(/-/g, "_")}_alt` === a.name.replace(/-/g, "_"),
                        ),
                    );
                    const before = parseStack(g.stack, overrides(g));
                    const added = {
                        name: extra,
                        namespace: extra,
                        redisDb: g.apps.length + 1,
                        poolSize: 1,
                        replicas: 1,
                    };
                    const after = parseStack(g.stack, overrides({ ...g, apps: [...g.apps, added] }));
                    assert.equal(after.keyVault.name, before.keyVault.name);
                    assert.equal(serverName(after), serverName(before));
                    assert.equal(after.postgres.stackgres.clusterName, before.postgres.stackgres.clusterName);
                    const keep = (c: PlatformConfig) =>
                        c.apps
                            .filter((a) => a.name !== extra)
                            .map((a) => [a.name, a.database, a.namespace, a.secretName, bundleSecretName(a.name)]);
                    assert.deepEqual(keep(after), keep(before));
                    const ids = new Set(platformCredentialIds(after));
                    assert.ok(platformCredentialIds(before).every((id) => ids.has(id)));
                },
            ),
            { seed: SEED, numRuns: RUNS },
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
                        parseStack(g.stack, {
                            ...overrides(g),
                            "data-platform:apps": apps as unknown as GeneratedApp[],
                        });
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
            { seed: SEED, numRuns: RUNS },
        );
    });

    // The program itself costs ~0.5 s a run under the mock engine, so this property takes fewer cases; the
    // configuration properties above cover the names at 200 cases.
    it("the program runs for generated stacks: objects valid upstream, no password in the plan, no mandatory policy violation (12 cases)", async () => {
        await fc.assert(
            fc.asyncProperty(
                generated.map((g) => {
                    const apps = g.apps.slice(0, 6);
                    const kept = (id: string) =>
                        !id.startsWith("redis-app-") || apps.some((a) => id === `redis-app-${a.name}`);
                    return {
                        ...g,
                        apps,
                        rotations: Object.fromEntries(Object.entries(g.rotations).filter(([id]) => kept(id))),
                    };
                }),
                async (g) => {
                    const run = await runStack(g.stack, overrides(g));
                    const passwords = run.resources
                        .filter((r) => r.type === "random:index/randomPassword:RandomPassword")
                        .map((r) => String(r.outputs.result));
                    assert.ok(passwords.length > 0);
                    const plan = JSON.stringify(toPlan(run));
                    assert.deepEqual(
                        passwords.filter((p) => plan.includes(p)),
                        [],
                    );
                    assert.deepEqual(run.resources.flatMap(schemaProblems), []);
                    // prod is the production profile on production defaults: no mandatory policy violation.
                    const policy = await runPolicies(allPolicies, run, { config: packConfig(g.stack) });
                    assert.deepEqual(
                        policy.violations.filter((v) => v.enforcementLevel === "mandatory"),
                        [],
                    );
                },
            ),
            { seed: SEED, numRuns: 12 },
        );
    });

    it("the default vault name fits Key Vault for any stack and resource group name", () => {
        fc.assert(
            fc.property(
                fc.string({ minLength: 1, maxLength: 60 }),
                fc.stringMatching(/^[-\w._()]{1,90}$/),
                (stack, rg) => assert.ok(KEY_VAULT_NAME.test(defaultVaultName(stack, rg)), defaultVaultName(stack, rg)),
            ),
            { seed: SEED, numRuns: RUNS },
        );
    });
});
