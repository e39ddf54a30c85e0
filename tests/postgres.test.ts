/**
 * PostgreSQL: the contract rendering, config checks, and the real program's registrations in both modes and
 * both stacks (StackGres objects validated against the upstream CRDs; Azure inputs and options).
 */
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as keyvault from "@pulumi/azure-native/keyvault";
import { parse as parseConnectionString } from "pg-connection-string";
import { SAFE_SPECIAL_CHARACTERS } from "../components/config/keyVault";
import { databaseUrl, percentEncode, postgresEnv } from "../components/postgres/env";
import { postgresCredentialIds } from "../components/postgres/credentials";
import { appLogins, scriptIdBase, stackGresScriptEntries } from "../components/postgres/sql";
import { stackGresManifests } from "../components/postgres/stackgresSpec";
import { loadStackConfig, mergeConfig } from "../engine/stackConfig";
import { RecordedResource, RunResult, runProgram } from "../engine/mockEngine";
import type { CredentialSource, SecretSyncer, VaultWriter } from "../components/interfaces";
import { createPostgres } from "../components/postgres";
import { configError, parseStack } from "./support/config";
import { validateAgainstCrd } from "./support/crdSchemas";
import { Overrides, byName, byType, runStack } from "./support/program";

const EVERY_CHAR = `${SAFE_SPECIAL_CHARACTERS}AZaz09`;

const DEV_AZURE: Overrides = {
    "data-platform:postgres": {
        mode: "azure",
        maxConnections: 100,
        azure: { firewallRules: [{ name: "aks-egress", startIpAddress: "20.50.1.10", endIpAddress: "20.50.1.11" }] },
    },
};
const PROD_STACKGRES: Overrides = {
    "data-platform:postgres": {
        mode: "stackgres",
        maxConnections: 859,
        stackgres: {
            instances: 3,
            backups: {
                storageAccount: "dpbackupsprod",
                container: "pgbackups/prod",
                accessKeySecretName: "pg-backup-access-key",
            },
        },
    },
};

/** Every generated password of a run (RandomPassword results). */
function passwords(run: RunResult): string[] {
    return byType(run, "random:index/randomPassword:RandomPassword").map((r) => r.outputs.result as string);
}

/** The paths under `value` (not secret-marked) where any of `needles` occurs. */
function leaks(resource: RecordedResource, needles: string[]): string[] {
    const found: string[] = [];
    const walk = (v: unknown, at: string) => {
        if (resource.secretPaths.some((p) => at === p || at.startsWith(`${p}.`) || at.startsWith(`${p}[`))) {
            return;
        }
        if (typeof v === "string") {
            if (needles.some((n) => v.includes(n))) {
                found.push(`${resource.type} ${resource.name} ${at}`);
            }
        } else if (Array.isArray(v)) {
            v.forEach((x, i) => walk(x, `${at}[${i}]`));
        } else if (v && typeof v === "object") {
            for (const [k, x] of Object.entries(v)) {
                walk(x, at ? `${at}.${k}` : k);
            }
        }
    };
    walk(resource.inputs, "");
    return found;
}

describe("postgres contract rendering", () => {
    const endpoint = { host: "db.example.internal", port: 5432, poolerPort: 6432, sslMode: "require" as const };

    it("percent-encodes every character the generator may emit, and parsers decode it back", () => {
        const password = `p${EVERY_CHAR}`;
        const url = databaseUrl(endpoint, { database: "orders", user: "orders", password });
        assert.match(
            url,
            /^postgresql:\/\/orders:[A-Za-z0-9%\-._~]+@db\.example\.internal:6432\/orders\?sslmode=require$/,
        );
        const parsed = parseConnectionString(url);
        assert.equal(parsed.password, password);
        assert.equal(parsed.user, "orders");
        assert.equal(parsed.database, "orders");
        assert.equal(decodeURIComponent(percentEncode(password)), password);
    });

    it("gives every contract key, the pooler's port, and the pool size", () => {
        const env = postgresEnv(endpoint, { database: "billing", user: "billing", password: "x@y" }, 7);
        assert.deepEqual(Object.keys(env).sort(), [
            "DATABASE_URL",
            "DB_HOST",
            "DB_NAME",
            "DB_PASSWORD",
            "DB_POOL_MAX",
            "DB_PORT",
            "DB_SSL_MODE",
            "DB_USER",
        ]);
        assert.equal(env.DB_PORT, "6432");
        assert.equal(env.DB_POOL_MAX, "7");
        assert.equal(env.DB_PASSWORD, "x@y");
        assert.equal(env.DB_SSL_MODE, "require");
        assert.equal(
            postgresEnv({ ...endpoint, poolerPort: undefined }, { database: "b", user: "b", password: "p" }, 1).DB_PORT,
            "5432",
        );
    });
});

describe("postgres config checks", () => {
    it("rejects a connection budget above max_connections minus the reserved ones (Azure reserves 15)", () => {
        // prod demand: 6x20 + 3x10 + 4x10 = 190; 204 - 15 = 189 is one short, 205 - 15 = 190 fits.
        const prod = loadStackConfig("prod").config["data-platform:postgres"];
        const withMax = (max: number) => ({ "data-platform:postgres": { ...JSON.parse(prod), maxConnections: max } });
        assert.match(
            configError("prod", withMax(204)).message,
            /postgres\.maxConnections: given 204; allowed: at least 205: applications need 190/,
        );
        assert.equal(parseStack("prod", withMax(205)).postgres.maxConnections, 205);
    });

    it("rejects Azure's reserved admin names and a public server without firewall rules", () => {
        const base = JSON.parse(loadStackConfig("prod").config["data-platform:postgres"]);
        for (const login of ["azure_pg_admin", "pg_monitor"]) {
            assert.match(
                configError("prod", {
                    "data-platform:postgres": { ...base, azure: { ...base.azure, adminLogin: login } },
                }).message,
                /azure\.adminLogin/,
            );
        }
        assert.match(
            configError("dev", { "data-platform:postgres": { mode: "azure", maxConnections: 100 } }).message,
            /azure\.firewallRules: given \[\]; allowed: at least one rule/,
        );
        assert.match(
            configError("dev", {
                "data-platform:postgres": {
                    mode: "azure",
                    maxConnections: 100,
                    azure: {
                        firewallRules: [{ name: "all", startIpAddress: "0.0.0.0", endIpAddress: "255.255.255.255" }],
                    },
                },
            }).message,
            /narrower than allow-all/,
        );
    });

    it("declares the credentials each mode needs", () => {
        assert.deepEqual(postgresCredentialIds(parseStack("prod")), [
            "pg-admin",
            "pg-app-orders",
            "pg-app-billing",
            "pg-app-search",
        ]);
        assert.deepEqual(postgresCredentialIds(parseStack("dev")), [
            "pg-admin",
            "pg-replication",
            "pg-authenticator",
            "pg-app-orders",
            "pg-app-billing",
        ]);
    });
});

describe("postgres stackgres objects", () => {
    it("validate against the StackGres 1.18 CRDs (unknown fields are errors) in both stacks", () => {
        for (const cfg of [parseStack("dev"), parseStack("prod", PROD_STACKGRES)]) {
            const objects = stackGresManifests(cfg, appLogins(cfg.apps));
            assert.ok(objects.some((o) => o.kind === "SGCluster"));
            for (const o of objects) {
                assert.deepEqual(validateAgainstCrd(o), [], `${o.kind} ${o.metadata.name}`);
            }
        }
    });

    it("the validator catches a field the CRD does not have (managedUsers)", () => {
        const cfg = parseStack("dev");
        const cluster = stackGresManifests(cfg, appLogins(cfg.apps)).find((o) => o.kind === "SGCluster")!;
        assert.notDeepEqual(validateAgainstCrd({ ...cluster, spec: { ...cluster.spec, managedUsers: [] } }), []);
    });

    it("keeps each application's script ids when applications are added or reordered", () => {
        const cfg = parseStack("prod");
        const ids = (apps: typeof cfg.apps) =>
            Object.fromEntries(stackGresScriptEntries(appLogins(apps), "s").map((e) => [e.name, e.id]));
        const before = ids(cfg.apps);
        const after = ids([...cfg.apps].reverse().slice(0, 2));
        for (const [name, id] of Object.entries(after)) {
            assert.equal(before[name], id, name);
        }
        assert.ok(new Set(Object.values(before)).size === Object.keys(before).length);
    });

    // StackGres binds `StackGresScriptEntry.id` as java.lang.Integer: an id above 2^31-1 makes its admission webhooks
    // (failurePolicy: Fail) refuse the SGScript. The CRD says only `type: integer`, so schema validation cannot see it.
    it("gives every application script ids that fit a Java int, keeping the ids of names that always fit", () => {
        const INT32_MAX = 2 ** 31 - 1;
        const names = ["payments", "site", "saas-platform", "orders", "billing", "search"];
        for (let i = 0; i < 5000; i++) {
            names.push(`app-${i.toString(36)}`);
        }
        const app = parseStack("prod").apps[0];
        for (const name of names) {
            const logins = appLogins([{ ...app, name, database: name.replace(/-/g, "_") }]);
            const ids = stackGresScriptEntries(logins, "s").map((e) => e.id);
            for (const id of ids) {
                assert.ok(Number.isInteger(id) && id > 0 && id <= INT32_MAX, `${name}: id ${id}`);
            }
        }
        // Deployed stacks keep their ids: orders' id always fitted (it was 294524620 before the fix) and must not move.
        assert.equal(scriptIdBase("orders"), 294524620);
    });
});

for (const [stack, overrides] of [
    ["dev", {}],
    ["prod", PROD_STACKGRES],
] as const) {
    describe(`postgres stackgres mode in the ${stack} stack (mock run)`, () => {
        let run: RunResult;
        before(async () => {
            run = await runStack(stack, overrides);
        });

        it("registers valid StackGres objects, the cluster protected and retained, after the operator and Secrets", () => {
            const crs = run.resources.filter((r) => r.type.startsWith("kubernetes:stackgres.io/"));
            assert.ok(crs.length >= 5);
            for (const r of crs) {
                assert.deepEqual(
                    validateAgainstCrd({
                        apiVersion: r.inputs.apiVersion,
                        kind: r.inputs.kind,
                        metadata: r.inputs.metadata,
                        spec: r.inputs.spec,
                    }),
                    [],
                    r.name,
                );
                assert.equal(r.inputs.metadata.namespace, "data-platform");
            }
            const cluster = byName(run, "kubernetes:stackgres.io/v1:SGCluster", "postgres-sgcluster");
            assert.equal(cluster.options.protect, stack === "prod");
            assert.equal(cluster.options.retainOnDelete, true);
            const deps = cluster.dependencies.join(" ");
            assert.match(deps, /ExternalSecret::postgres-credentials/);
            assert.match(deps, /ExternalSecret::postgres-login-sql/);
            assert.match(deps, /SGScript::postgres-sgscript/);
            if (stack === "dev") {
                assert.match(deps, /Release::postgres-operator/);
                assert.equal(
                    byName(run, "kubernetes:helm.sh/v3:Release", "postgres-operator").inputs.version,
                    "1.18.6",
                );
            } else {
                assert.equal(cluster.inputs.spec.configurations.backups[0].sgObjectStorage, "postgres-backups");
                assert.equal(
                    byName(run, "kubernetes:stackgres.io/v1beta1:SGObjectStorage", "postgres-sgobjectstorage").inputs
                        .spec.type,
                    "azureBlob",
                );
            }
        });

        it("admits applications' namespaces to the cluster's pods on the Service ports only", () => {
            const np = byName(run, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "postgres-ingress");
            assert.equal(np.inputs.spec.podSelector.matchLabels["stackgres.io/cluster-name"], "postgres");
            const fromApps = np.inputs.spec.ingress[0];
            assert.deepEqual(fromApps.from, [
                { namespaceSelector: { matchLabels: { "data-platform.io/consumer": "true" } } },
            ]);
            // The Service's 5432 targets PgBouncer's container port and 5433 PostgreSQL's, by the container port names
            // `pgport` and `pgreplication` (StackGres PatroniServices: targetPort = EnvoyUtil.POSTGRES_PORT_NAME /
            // POSTGRES_REPLICATION_PORT_NAME). A NetworkPolicy matches pod ports, so it must name those, not 5432/5433.
            assert.deepEqual(
                fromApps.ports.map((p: any) => p.port),
                ["pgport", "pgreplication"],
            );
        });

        it("keeps the role SQL secret: in Key Vault as a secret value, referenced from the SGScript by Secret", () => {
            const sql = byType(run, "azure-native:keyvault:Secret").filter((r) =>
                r.name.startsWith("postgres-login-sql-"),
            );
            assert.equal(sql.length, run.outputs.appNamespaces ? Object.keys(run.outputs.appNamespaces).length : 0);
            for (const s of sql) {
                assert.ok(s.secretPaths.includes("properties.value"), s.name);
                assert.match(s.inputs.properties.value, /ALTER ROLE "\w+" WITH LOGIN .* PASSWORD '/);
            }
            const script = byName(run, "kubernetes:stackgres.io/v1:SGScript", "postgres-sgscript");
            assert.ok(
                script.inputs.spec.scripts.some((e: any) => e.scriptFrom?.secretKeyRef?.name === "postgres-login-sql"),
            );
            assert.deepEqual(
                run.resources.flatMap((r) => leaks(r, passwords(run))),
                [],
            );
        });
    });
}

for (const [stack, overrides] of [
    ["prod", {}],
    ["dev", DEV_AZURE],
] as const) {
    describe(`postgres azure mode in the ${stack} stack (mock run)`, () => {
        let run: RunResult;
        before(async () => {
            run = await runStack(stack, overrides);
        });

        it("creates the server safely: protected, retained, zones ignored, password secret", () => {
            const server = byName(run, "azure-native:dbforpostgresql:Server", "postgres-server");
            assert.equal(server.options.protect, stack === "prod");
            assert.equal(server.options.retainOnDelete, true);
            // autoGrow is on in both stacks: Azure grows the disk, a refresh records the larger size, and without
            // ignoring it the next `up` would ask Azure to shrink the disk, which it refuses.
            assert.equal(server.inputs.storage.autoGrow, "Enabled");
            assert.deepEqual(server.options.ignoreChanges, [
                "availabilityZone",
                "highAvailability.standbyAvailabilityZone",
                "storage.storageSizeGB",
            ]);
            assert.ok(server.secretPaths.includes("administratorLoginPassword"));
            assert.equal(server.inputs.administratorLogin, "pgadmin");
            if (stack === "prod") {
                assert.equal(server.inputs.highAvailability.mode, "ZoneRedundant");
                assert.equal(server.inputs.backup.geoRedundantBackup, "Enabled");
                assert.equal(server.inputs.network.publicNetworkAccess, "Disabled");
                assert.match(server.inputs.network.delegatedSubnetResourceId, /subnets\/snet-postgres$/);
                assert.equal(byType(run, "azure-native:dbforpostgresql:FirewallRule").length, 0);
            } else {
                assert.equal(server.inputs.network.publicNetworkAccess, "Enabled");
                assert.equal(
                    byName(run, "azure-native:dbforpostgresql:FirewallRule", "postgres-fw-aks-egress").inputs
                        .endIpAddress,
                    "20.50.1.11",
                );
            }
            for (const db of byType(run, "azure-native:dbforpostgresql:Database")) {
                assert.equal(db.options.retainOnDelete, true);
                assert.equal(db.options.protect, stack === "prod");
            }
        });

        it("applies server parameters one after another (each waits for the previous)", () => {
            const params = byType(run, "azure-native:dbforpostgresql:Configuration");
            const byParam = Object.fromEntries(params.map((p) => [p.inputs.configurationName, p]));
            assert.equal(byParam.require_secure_transport.inputs.value, "on");
            assert.equal(byParam.ssl_min_protocol_version.inputs.value, "TLSv1.2");
            assert.equal(byParam.max_connections.inputs.value, stack === "prod" ? "859" : "100");
            assert.equal("pgbouncer.enabled" in byParam, stack === "prod");
            const writes = [
                ...byType(run, "azure-native:dbforpostgresql:FirewallRule"),
                ...params,
                ...byType(run, "azure-native:dbforpostgresql:Database"),
            ];
            // A chain: exactly one write waits on the server only, every other on exactly one other write.
            const urns = new Set(writes.map((w) => w.urn));
            const onWrites = writes.map((w) => w.dependsOn.filter((d) => urns.has(d)));
            assert.equal(onWrites.filter((d) => d.length === 0).length, 1);
            assert.ok(onWrites.every((d) => d.length <= 1));
            assert.equal(new Set(onWrites.flat()).size, writes.length - 1);
        });

        it("runs the login Job with passwords only from the synced Secret; nothing leaks into k8s objects", () => {
            const job = byName(run, "kubernetes:batch/v1:Job", "postgres-logins");
            const container = job.inputs.spec.template.spec.containers[0];
            assert.equal(container.image, "postgres:16.10-alpine3.22");
            const env = Object.fromEntries(container.env.map((e: any) => [e.name, e.value]));
            assert.match(env.PGHOST, /\.postgres\.database\.azure\.com$/);
            assert.equal(env.PGPORT, "5432");
            assert.match(job.inputs.metadata.name, /^postgres-logins-[0-9a-f]{10}$/);
            const cm = byName(run, "kubernetes:core/v1:ConfigMap", "postgres-logins-sql");
            assert.match(cm.inputs.data["logins.sql"], /PASSWORD :'password_orders'/);
            const es = byName(run, "kubernetes:external-secrets.io/v1:ExternalSecret", "postgres-logins-secret");
            assert.equal(es.inputs.metadata.namespace, "data-platform");
            assert.deepEqual(
                run.resources.flatMap((r) => leaks(r, passwords(run))),
                [],
            );
            assert.deepEqual(job.secretPaths, []);
        });

        it("re-runs the login Job (new name) when an application password rotates, and only then", async () => {
            const kv = JSON.parse(loadStackConfig(stack).config["data-platform:keyVault"]);
            const rotated = await runStack(stack, {
                ...overrides,
                "data-platform:keyVault": { ...kv, rotations: { "pg-app-billing": "2026-11" } },
            });
            const name = (r: RunResult) => byName(r, "kubernetes:batch/v1:Job", "postgres-logins").inputs.metadata.name;
            assert.notEqual(name(rotated), name(run));
            const same = await runStack(stack, { ...overrides, "data-platform:keyVault": { ...kv } });
            assert.equal(name(same), name(run));
        });

        it("gives applications the server's host with sslmode=require (pooler port when PgBouncer is on)", () => {
            assert.match(run.outputs.postgresHost, /^dp-\w+-pg-[0-9a-f]{6}\.postgres\.database\.azure\.com$/);
        });
    });
}

/** Simple test doubles of the interfaces the component codes against. */
const testPassword = (id: string) => `${id}:${EVERY_CHAR}`;
const doubles = (): { vault: VaultWriter; credentials: CredentialSource; secretSync: SecretSyncer } => ({
    vault: {
        vaultUri: pulumi.output("https://test-vault.vault.azure.net/"),
        writeSecret: (name, args, opts) =>
            new keyvault.Secret(
                name,
                {
                    resourceGroupName: "rg-test",
                    vaultName: "test-vault",
                    secretName: args.secretName,
                    properties: { value: pulumi.secret(args.value), contentType: args.contentType },
                },
                opts,
            ),
    },
    credentials: {
        password: (id) => pulumi.secret(testPassword(id)),
        secretName: (id) => id,
        previousPassword: (id) => pulumi.secret(testPassword(id)),
        previousSecretName: (id) => id,
    },
    secretSync: {
        syncSecret: (name, args, opts) =>
            new k8s.apiextensions.CustomResource(
                name,
                {
                    apiVersion: "external-secrets.io/v1",
                    kind: "ExternalSecret",
                    metadata: { name: args.secretName, namespace: args.namespace },
                    spec: { data: args.data.map((d) => ({ secretKey: d.secretKey, remoteRef: { key: d.remoteKey } })) },
                },
                opts,
            ),
    },
});

for (const [stack, overrides, host, port] of [
    ["dev", {}, "postgres.data-platform.svc.cluster.local", "5432"],
    ["prod", {}, /^dp-prod-pg-[0-9a-f]{6}\.postgres\.database\.azure\.com$/, "6432"],
    ["dev", DEV_AZURE, /^dp-dev-pg-[0-9a-f]{6}\.postgres\.database\.azure\.com$/, "5432"],
] as const) {
    describe(`postgres DataService.env in ${stack} (${JSON.stringify(overrides).includes("azure") ? "azure override" : "stack mode"}), with test doubles`, () => {
        let run: RunResult;
        const cfg = parseStack(stack, overrides);
        before(async () => {
            const { config: raw, secretKeys } = mergeConfig(loadStackConfig(stack), overrides);
            run = await runProgram({
                stack,
                config: raw,
                secretKeys,
                program: () => {
                    const pg = createPostgres("postgres", { config: cfg, ...doubles(), namespace: "data-platform" });
                    return { env: Object.fromEntries(cfg.apps.map((a) => [a.name, pg.env(a)])) };
                },
            });
        });

        it("renders each application's contract with the pure renderer; password-bearing keys are secret, others are not", () => {
            for (const app of cfg.apps) {
                const env = run.outputs.env[app.name];
                assert.ok(typeof host === "string" ? env.DB_HOST === host : host.test(env.DB_HOST), env.DB_HOST);
                assert.equal(env.DB_PORT, port);
                const expected = postgresEnv(
                    { host: env.DB_HOST, port: Number(port), sslMode: "require" },
                    { database: app.database, user: app.database, password: testPassword(`pg-app-${app.name}`) },
                    app.poolSize,
                );
                assert.deepEqual(env, expected);
                const secret = run.outputSecretPaths
                    .filter((p) => p.startsWith(`env.${app.name}.`))
                    .map((p) => p.split(".").pop())
                    .sort();
                assert.deepEqual(secret, ["DATABASE_URL", "DB_PASSWORD"]);
            }
        });
    });
}
