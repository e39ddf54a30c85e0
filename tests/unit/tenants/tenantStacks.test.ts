/**
 * Tenant stacks beside the platform stack (issue 26 item 7): the tenant role's configuration, the StackReference the
 * mock engine answers from the platform's run, and a generated prod environment of one platform stack and ten tenant
 * stacks (100 applications): every stack plans and passes the program checks (upstream schemas, names, the policy pack
 * at prod's configuration), no two objects collide across the stacks on the cluster or in the vault, each tenant stays
 * bounded, and the same 100 applications as one stack give the same objects.
 */
import { strict as assert } from "assert";
import { parseTenantConfig, TENANT_MAX_APPS } from "../../../components/config/tenant";
import type { RecordedResource, RunResult } from "../../../offline/mockEngine";
import { runProgram } from "../../../offline/mockEngine";
import { isManifest } from "../../../offline/plan";
import { mergeConfig } from "../../../offline/stackConfig";
import {
    type Environment,
    asOneStack,
    generateEnvironment,
    runEnvironment,
    tenantStackName,
} from "../../../offline/tenantEnvironment";
import { runTenant } from "../../../offline/tenantStacks";
import { importIds, retainedResources } from "../../../offline/teardown";
import { duplicateNames, runProblems } from "../../support/programChecks";
import { POSTGRES_SECRET_ENV_KEYS } from "../../../components/postgres/env";
import { REDIS_SECRET_ENV_KEYS } from "../../../components/redis/env";
import { bundleSecretName } from "../../../components/vault/secretNames";
import { DIRECT_CONNECTIONS_PER_APP, POOLER_DEFAULTS, serverSideOf } from "../../../policy/lib/postgres";

const SUBSCRIPTION = "12345678-1234-1234-1234-123456789abc";
const decode = (value: unknown) => (typeof value === "string" && /^[[{]/.test(value) ? JSON.parse(value) : value);

/** A tenant's own configuration keys, as a stack file gives them. */
function tenantRaw(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        "data-platform:profile": "production",
        "data-platform:tenant": JSON.stringify({ platformStack: "acme/data-platform/prod", owners: ["@acme/shop"] }),
        "data-platform:apps": JSON.stringify([{ name: "shop", namespace: "shop", redisDb: 9 }]),
        ...extra,
    };
}

/** What a state holds of a run: every resource's inputs and outputs (JSON), the size Pulumi checkpoints each step. */
function stateBytes(run: RunResult): number {
    return run.resources.reduce(
        (sum, r) => sum + JSON.stringify(r.inputs).length + JSON.stringify(r.outputs).length,
        0,
    );
}

/** Kubernetes objects and Key Vault secrets of an application (in its namespace, or its bundle), by identity. */
function appObjects(run: RunResult, app: string): Map<string, RecordedResource> {
    const objects = new Map<string, RecordedResource>();
    for (const r of run.resources) {
        if (isManifest(r) && (r.inputs.metadata?.namespace === app || r.inputs.metadata?.name === app)) {
            objects.set(`${r.inputs.kind} ${r.inputs.metadata?.namespace ?? ""}/${r.inputs.metadata.name}`, r);
        } else if (r.type === "azure-native:keyvault:Secret" && r.name.includes(app)) {
            objects.set(`Key Vault secret ${r.inputs.secretName}`, r);
        }
    }
    return objects;
}

/** Contract keys whose values hold a password: generated per stack, so compared by presence only. */
const PASSWORD_KEYS = new Set<string>([...POSTGRES_SECRET_ENV_KEYS, ...REDIS_SECRET_ENV_KEYS]);

/**
 * An object's inputs without what names its stack's own resources (source-version digests of mocked versions), its
 * passwords masked (each stack generates its own), in a bundle key by key.
 */
function comparable(r: RecordedResource): any {
    const inputs = structuredClone(r.inputs);
    delete inputs.metadata?.annotations?.["data-platform.io/source-versions"];
    // The identity's client id: Azure generates it when the identity (of the same name) is created, in either stack.
    if (inputs.metadata?.annotations?.["azure.workload.identity/client-id"] !== undefined) {
        inputs.metadata.annotations["azure.workload.identity/client-id"] = "(generated)";
    }
    if (r.type === "azure-native:keyvault:Secret" && r.inputs.properties?.contentType === "application/json") {
        const bundle = JSON.parse(inputs.properties.value);
        for (const key of Object.keys(bundle).filter((k) => PASSWORD_KEYS.has(k))) {
            bundle[key] = "(password)";
        }
        inputs.properties.value = bundle;
    } else if (r.type === "azure-native:keyvault:Secret" && r.secretPaths.includes("properties.value")) {
        inputs.properties.value = "(password)";
    }
    return inputs;
}

describe("tenant stacks: configuration", () => {
    it("accepts a tenant's own keys and refuses a platform key, naming it and where it belongs", () => {
        assert.equal(parseTenantConfig(tenantRaw(), "shop", decode).issues.length, 0);
        const { issues } = parseTenantConfig(tenantRaw({ "data-platform:redis": '{"mode":"sentinel"}' }), "t", decode);
        assert.equal(issues.length, 1);
        assert.equal(issues[0].path, "data-platform:redis");
        assert.match(issues[0].allowed, /set it on the platform stack/);
    });

    it(`refuses more than ${TENANT_MAX_APPS} applications and a tenant without owners`, () => {
        const apps = Array.from({ length: TENANT_MAX_APPS + 1 }, (_, i) => ({ name: `a${i}`, namespace: `a${i}` }));
        const many = parseTenantConfig(tenantRaw({ "data-platform:apps": JSON.stringify(apps) }), "t", decode);
        assert.deepEqual(
            many.issues.map((i) => [i.path, i.given]),
            [["data-platform:apps", '"101 applications"']],
        );
        const noOwners = parseTenantConfig(
            tenantRaw({ "data-platform:tenant": JSON.stringify({ platformStack: "prod" }) }),
            "t",
            decode,
        );
        assert.deepEqual(
            noOwners.issues.map((i) => i.path),
            ["data-platform:tenant.owners"],
        );
    });
});

describe("tenant stacks: the platform's outputs through a StackReference", () => {
    const env = generateEnvironment({ apps: 2, tenants: 1 });
    const tenant = env.tenants[tenantStackName(0)];
    let platform: RunResult;
    before(async () => {
        platform = await runProgram({ stack: env.platform.stack, ...env.platform.config });
    });

    it("exports only non-secret facts to its tenants (tenancy: no credential, no secret path)", () => {
        assert.ok(platform.outputs.tenancy, "the platform exports tenancy");
        assert.deepEqual(
            platform.outputSecretPaths.filter((p) => p.startsWith("tenancy")),
            [],
        );
        assert.deepEqual(Object.keys(platform.outputs.tenancy).sort(), ["config", "keyVaultId", "stack"]);
        assert.ok(!("data-platform:apps" in platform.outputs.tenancy.config), "the platform's apps stay its own");
        assert.ok(!("data-platform:kubeconfig" in platform.outputs.tenancy.config), "no secret key");
    });

    it("fails naming the stack when the platform stack is unknown to the engine", async () => {
        await assert.rejects(
            runProgram({ stack: "t", ...tenant, preview: true, stackOutputs: () => undefined }),
            /unknown stack acme\/data-platform\/prod \(StackReference\)/,
        );
    });

    it("refuses a platform stack without the tenancy output, naming data-platform:tenant.platformStack", async () => {
        await assert.rejects(
            runProgram({ stack: "t", ...tenant, preview: true, stackOutputs: () => ({}) }),
            /data-platform:tenant\.platformStack: given "acme\/data-platform\/prod"; allowed: a deployed platform stack/,
        );
    });

    it("deploys (an up, not only a preview): its platform's groups load its Redis users (tenantRedisUsers.test.ts)", async () => {
        const run = await runTenant(tenantStackName(0), tenant, platform, { preview: false });
        assert.ok(run.resources.some((r) => r.type === "data-platform:redis:TenantRedis"));
    });

    it("plans beside a platform that rotated its own application's password (a credential the tenant does not hold)", async () => {
        const keyVault = JSON.parse(env.platform.config.config["data-platform:keyVault"] ?? "{}");
        const rotated = await runProgram({
            stack: env.platform.stack,
            ...mergeConfig(env.platform.config, {
                "data-platform:keyVault": { ...keyVault, rotations: { ...keyVault.rotations, "pg-app-orders": "1" } },
            }),
        });
        const run = await runTenant(tenantStackName(0), tenant, rotated, { preview: false });
        assert.ok(run.resources.some((r) => r.type === "data-platform:postgres:TenantPostgres"));
    });

    it("refuses a tenant whose profile is not its platform's", async () => {
        const dev = mergeConfig(tenant, { "data-platform:profile": "development" });
        await assert.rejects(
            runTenant("t", dev, platform),
            /data-platform:profile: given "development"; allowed: "production"/,
        );
    });

    it("validates its applications as part of the platform's configuration (a Redis database beyond the group's)", async () => {
        const apps = JSON.parse(tenant.config["data-platform:apps"]);
        const bad = mergeConfig(tenant, { "data-platform:apps": [{ ...apps[0], redisDb: 100000 }] });
        await assert.rejects(runTenant("t", bad, platform), /data-platform:apps\[0\]\.redisDb/);
    });

    it("refuses an application without TLS: its platform renders the server's pg_hba, which admits plain logins by name", async () => {
        const apps = JSON.parse(tenant.config["data-platform:apps"]);
        const plain = mergeConfig(tenant, { "data-platform:apps": [{ ...apps[0], postgres: { tls: false } }] });
        await assert.rejects(
            runTenant("t", plain, platform),
            /data-platform:apps\[0\]\.postgres\.tls: given false; allowed: true in a tenant stack \(its platform stack renders the server's pg_hba and PgBouncer settings\)/,
        );
    });
});

describe("tenant stacks: connection quotas in the pooler's terms (the platform cannot see its tenants' applications)", () => {
    // Two applications of 4 x 2: 16 clients into PgBouncer. On PostgreSQL (policy/lib/postgres.ts serverSideOf) each
    // costs min(8, its pools) + auth_query's pool min(8, one pool) + 1 direct: 17 with Azure's default pools of 50,
    // 7 with pools of 2.
    const env = generateEnvironment({ apps: 2, tenants: 1 });
    const stack = tenantStackName(0);
    const postgres = JSON.parse(env.platform.config.config["data-platform:postgres"]);
    const platformWith = (tenants: unknown, pg: Record<string, unknown> = {}) =>
        runProgram({
            stack: env.platform.stack,
            ...mergeConfig(env.platform.config, {
                "data-platform:tenants": tenants,
                "data-platform:postgres": { ...postgres, ...pg },
            }),
        });
    const quota = (connections: number, clients: number) => ({
        [stack]: { connections: { default: connections }, clients: { default: clients } },
    });

    it("accepts a tenant whose applications fit its quota of server connections behind PgBouncer though their clients exceed it (16 clients, 14 server connections)", async () => {
        const platform = await platformWith(quota(14, 16), { pooler: { defaultPoolSize: 2 } });
        const run = await runTenant(stack, env.tenants[stack], platform);
        assert.ok(run.resources.some((r) => r.type === "data-platform:postgres:TenantPostgres"));
    });

    it("refuses a tenant whose applications cost more server connections than its quota though their clients fit, naming the quota's key; at it, plans", async () => {
        await assert.rejects(
            runTenant(stack, env.tenants[stack], await platformWith(quota(33, 16))),
            /data-platform:apps: given "34 server connections on server default"; allowed: at most 33, this tenant's quota there \(platform stack prod: data-platform:tenants\.tenant-01\.connections\.default\); its applications there: t-app-0001 17, t-app-0002 17/,
        );
        // At its quota it plans; also after the refused run (whose late rejection once failed the next run instead).
        await runTenant(stack, env.tenants[stack], await platformWith(quota(34, 16)));
    });

    it("refuses a tenant whose clients pass its quota into the server's PgBouncer, naming the quota's key", async () => {
        await assert.rejects(
            runTenant(stack, env.tenants[stack], await platformWith(quota(34, 15))),
            /data-platform:apps: given "16 client connections into server default's PgBouncer"; allowed: at most 15, this tenant's quota there \(platform stack prod: data-platform:tenants\.tenant-01\.clients\.default\); its applications there: t-app-0001 8, t-app-0002 8/,
        );
    });

    it("refuses a tenant its platform does not admit", async () => {
        await assert.rejects(
            runTenant(stack, env.tenants[stack], await platformWith({})),
            /data-platform:tenant\.platformStack: given "prod"; allowed: a platform stack that admits tenant tenant-01/,
        );
    });

    it("counts every tenant's quotas in the platform's server budgets as lines of their own, naming the server's key", async () => {
        await assert.rejects(
            platformWith(quota(100000, 16)),
            /data-platform:postgres\.maxConnections: given \d+; allowed: at least \d+: \d+ connections reach PostgreSQL: .*tenant stack tenant-01 100000/,
        );
        await assert.rejects(
            platformWith(quota(34, 100000)),
            /data-platform:postgres\.pooler\.maxClientConnections: given 5000; allowed: at least \d+: .*tenant stack tenant-01 100000/,
        );
        await assert.rejects(
            platformWith({ [stack]: { connections: { nowhere: 1 } } }),
            /data-platform:tenants\.tenant-01\.connections\.nowhere: given "nowhere"; allowed: a server: default/,
        );
    });

    it("refuses a clients quota on a server without PgBouncer (its applications' clients are its server connections)", async () => {
        await assert.rejects(
            platformWith(quota(34, 16), { azure: { ...postgres.azure, pgBouncer: false } }),
            /data-platform:tenants\.tenant-01\.clients\.default: given 16; allowed: unset: server default has no PgBouncer/,
        );
    });
});

describe("tenant stacks: a generated prod environment, one platform and ten tenant stacks (100 applications)", function () {
    this.timeout(600_000);
    let env: Environment;
    let runs: { platform: RunResult; tenants: Record<string, RunResult> };
    before(async () => {
        env = generateEnvironment({ apps: 100, tenants: 10 });
        runs = await runEnvironment(env);
    });

    it("plans every stack, each passing the program checks at prod's policy configuration", async () => {
        assert.equal(Object.keys(runs.tenants).length, 10);
        for (const [stack, run] of [["platform", runs.platform], ...Object.entries(runs.tenants)] as const) {
            assert.deepEqual(await runProblems("prod", run), [], stack);
        }
    });

    it("no two objects of one kind, namespace and name, and no two Key Vault secrets of one name, across all stacks", () => {
        // URNs are per stack; what shares a cluster and a vault are the objects and the secrets.
        const shared = [runs.platform, ...Object.values(runs.tenants)].flatMap((run) =>
            run.resources.map((r) => ({ ...r, urn: `${run.stack}::${r.urn}` })),
        );
        assert.deepEqual(duplicateNames(shared), []);
    });

    it("keeps each tenant stack bounded (<= 100 apps, <= 2,500 resources) and prints its state estimate", () => {
        const rows = Object.entries(runs.tenants).map(([stack, run]) => {
            const apps = env.appsByTenant[stack].length;
            assert.ok(apps <= 100 && run.resources.length <= 2500, `${stack}: ${apps} apps, ${run.resources.length}`);
            return `${stack}: ${apps} apps, ${run.resources.length} resources, state ~${(stateBytes(run) / 1e6).toFixed(2)} MB`;
        });
        console.log(
            [
                `platform: ${runs.platform.resources.length} resources, state ~${(stateBytes(runs.platform) / 1e6).toFixed(2)} MB`,
                ...rows,
            ]
                .map((r) => `      ${r}`)
                .join("\n"),
        );
    });

    it("gives each application the same objects as one stack holding all 100 (Secrets, ExternalSecrets, contract keys)", async () => {
        const one = await runProgram({ stack: env.platform.stack, ...asOneStack(env) });
        for (const [stack, apps] of Object.entries(env.appsByTenant)) {
            for (const app of apps.map((a) => String(a.name))) {
                const inOne = appObjects(one, app);
                const inTenant = appObjects(runs.tenants[stack], app);
                assert.deepEqual([...inTenant.keys()].sort(), [...inOne.keys()].sort(), app);
                assert.ok(inOne.size >= 7, `${app}: ${[...inOne.keys()].join(", ")}`);
                for (const [id, r] of inOne) {
                    const expected = comparable(r);
                    const actual = comparable(inTenant.get(id) as RecordedResource);
                    if (typeof expected.properties?.value === "object") {
                        // The bundle: without the Sentinels' client password, which the Secret reads from the platform.
                        assert.equal(expected.properties.value.REDIS_SENTINEL_PASSWORD, "(password)");
                        delete expected.properties.value.REDIS_SENTINEL_PASSWORD;
                    }
                    if (r.inputs.kind === "ExternalSecret") {
                        // The one difference: the Sentinels' client password is the platform's own secret, read by
                        // the application's store instead of copied into its bundle by a stack that cannot know it.
                        const entry = (e: any) => e.secretKey === "REDIS_SENTINEL_PASSWORD";
                        assert.deepEqual(actual.spec.data.find(entry).remoteRef, { key: "redis-sentinel-auth" });
                        assert.deepEqual(expected.spec.data.find(entry).remoteRef, {
                            key: bundleSecretName(app),
                            property: "REDIS_SENTINEL_PASSWORD",
                        });
                        actual.spec.data = actual.spec.data.filter((e: any) => !entry(e));
                        expected.spec.data = expected.spec.data.filter((e: any) => !entry(e));
                    }
                    assert.deepEqual(actual, expected, `${app}: ${id}`);
                }
            }
        }
    });
});

describe("tenant stacks: moving an application from one tenant stack to another keeps its data", () => {
    const env = generateEnvironment({ apps: 4, tenants: 2 });
    const [from, to] = [tenantStackName(0), tenantStackName(1)];
    const apps = (stack: string) => JSON.parse(env.tenants[stack].config["data-platform:apps"]);
    const moved = apps(from)[0];
    /** The moved application's retained things (its namespace, database and Key Vault secrets), by resource name. */
    const retainedOf = (run: RunResult) =>
        retainedResources(run).filter(
            (r) =>
                r.inputs.metadata?.name === moved.namespace ||
                r.inputs.databaseName === moved.name.replace(/-/g, "_") ||
                String(r.inputs.secretName ?? "").includes(moved.name),
        );
    let platform: RunResult;
    let original: RunResult;
    before(async () => {
        // The receiving tenant's quota grows by what the application costs (the platform's change, first): its clients,
        // and through prod's PgBouncer (Azure's defaults) its server connections.
        const quotas = JSON.parse(env.platform.config.config["data-platform:tenants"]);
        const clients = moved.poolSize * moved.replicas;
        const line = { name: moved.name, clients, pooled: true, direct: DIRECT_CONNECTIONS_PER_APP };
        quotas[to].clients.default += clients;
        quotas[to].connections.default += serverSideOf(line, POOLER_DEFAULTS.azure);
        platform = await runProgram({
            stack: env.platform.stack,
            // Imports of Azure resources name the subscription: the platform's, which its tenants read too.
            ...mergeConfig(env.platform.config, {
                "data-platform:tenants": quotas,
                "azure-native:subscriptionId": SUBSCRIPTION,
            }),
        });
        original = await runTenant(from, env.tenants[from], platform);
    });

    it("step 1, retired in the old stack: its namespace and database stay registered, unprotected, retained", async () => {
        const retired = await runTenant(
            from,
            mergeConfig(env.tenants[from], {
                "data-platform:apps": [{ ...moved, retired: true }, ...apps(from).slice(1)],
            }),
            platform,
        );
        const kept = retainedOf(retired);
        assert.deepEqual(kept.map((r) => r.type).sort(), [
            "azure-native:dbforpostgresql:Database",
            "kubernetes:core/v1:Namespace",
        ]);
        for (const r of kept) {
            assert.equal(r.options.protect, false, r.name);
        }
        // What step 2 (the entry dropped) leaves in Azure and the cluster: every retained thing, none deleted.
        for (const r of retainedOf(original)) {
            assert.equal(r.options.retainOnDelete, true, r.name);
        }
    });

    it("step 3, added to the new stack with import: [namespace, database, secrets]: it takes over exactly those", async () => {
        const after = await runTenant(
            to,
            mergeConfig(env.tenants[to], {
                "data-platform:apps": [...apps(to), { ...moved, import: ["namespace", "database", "secrets"] }],
            }),
            platform,
        );
        const left = importIds({ ...original, resources: retainedOf(original) }, SUBSCRIPTION);
        assert.ok(Object.keys(left).length >= 5, Object.keys(left).join(", "));
        // The mock engine's vault id names its own subscription, not the stack's: compared without it.
        const bare = (ids: Record<string, unknown>) =>
            Object.fromEntries(
                Object.entries(ids).map(([name, id]) => [name, String(id).replace(/^\/subscriptions\/[^/]+/, "")]),
            );
        const taken = bare(Object.fromEntries(retainedOf(after).map((r) => [r.name, r.options.importId])));
        assert.deepEqual(taken, bare(left));
    });
});
