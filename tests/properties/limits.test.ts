/**
 * Every object that grows with the number of applications, at the most long-named applications the config accepts
 * (prod; 500 such are refused, see the last test), against its documented limit: a Key Vault secret value at most 25 KB ("25k bytes",
 * MicrosoftDocs/azure-security-docs key-vault/secrets/about-secrets.md), a Kubernetes object at most 1 MiB (the API
 * server's and etcd's request limit; ConfigMaps and Secrets are documented at 1 MiB), role assignments against
 * Azure's 4,000 per subscription, and at most 20 federated credentials on one identity. Its own tier: one run of
 * 380 applications is ~8,000 registrations.
 */
import { strict as assert } from "assert";
import { RunResult, runProgram } from "../../offline/mockEngine";
import { generatedStack } from "../../offline/generatedStack";
import { headroomLine, headroomRows } from "../../offline/headroom";
import { LIMITS } from "../../components/limits";
import { problemLines, sectionOverride, stackConfig } from "../support/config";
import { runStack } from "../support/program";

const KEY_VAULT_VALUE_MAX = 25_000;
const KUBERNETES_OBJECT_MAX = 1024 * 1024;
const ROLE_ASSIGNMENTS_MAX = 4_000;
const FEDERATED_CREDENTIALS_PER_IDENTITY_MAX = 20;

const PROD_POSTGRES = JSON.parse(stackConfig("prod").config["data-platform:postgres"]);

const BACKUPS = {
    storageAccountId:
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-backups/providers/Microsoft.Storage/storageAccounts/dpbackups",
    container: "exports",
};

/** `count` applications with 30-character names, each with its own Redis database and a scheduled export. */
function longNamed(count: number) {
    return {
        "data-platform:apps": Array.from({ length: count }, (_, i) => {
            const name = `application-number-${String(i).padStart(3, "0")}`;
            // Each with a scheduled export: its own writer identity, federated credential and role assignment.
            return {
                name,
                namespace: name,
                redisDb: 1 + i,
                poolSize: 1,
                replicas: 1,
                backup: { schedule: "0 3 * * *" },
            };
        }),
        "data-platform:backups": BACKUPS,
        ...sectionOverride("prod", "redis", { databases: 1023 }),
        // Each costs 4 connections through PgBouncer (its pool, auth_query's, a migration, its export): 500 need
        // 2,018, within a Standard_D8ds_v5's 3,437, so the login Job's ConfigMap is what refuses them.
        "data-platform:postgres": {
            ...PROD_POSTGRES,
            azure: { ...PROD_POSTGRES.azure, skuName: "Standard_D8ds_v5" },
            maxConnections: 3437,
        },
    };
}

describe("per-application objects at 380 long-named applications, against their limits", function () {
    this.timeout(300_000);
    let run: RunResult;
    before(async () => {
        run = await runStack("prod", longNamed(380));
    });
    const largest = (rows: Array<{ name: string; bytes: number }>) => rows.sort((a, b) => b.bytes - a.bytes)[0];

    it("every Key Vault secret value under 25 KB", () => {
        const top = largest(
            run.resources
                .filter((r) => r.type === "azure-native:keyvault:Secret")
                .map((r) => ({ name: r.name, bytes: Buffer.byteLength(String(r.inputs.properties?.value ?? "")) })),
        );
        console.log(`      largest Key Vault secret: ${top.name}, ${top.bytes} B (limit ${KEY_VAULT_VALUE_MAX})`);
        assert.ok(top.bytes < KEY_VAULT_VALUE_MAX, `${top.name}: ${top.bytes} bytes`);
    });

    it("every Kubernetes object under 1 MiB", () => {
        const top = largest(
            run.resources
                .filter((r) => r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:helm"))
                .map((r) => ({ name: r.name, bytes: Buffer.byteLength(JSON.stringify(r.inputs)) })),
        );
        console.log(`      largest Kubernetes object: ${top.name}, ${top.bytes} B (limit ${KUBERNETES_OBJECT_MAX})`);
        assert.ok(top.bytes < KUBERNETES_OBJECT_MAX, `${top.name}: ${top.bytes} bytes`);
    });

    it("role assignments well under Azure's 4,000 per subscription, at most 20 federated credentials per identity", () => {
        const assignments = run.resources.filter((r) => r.type === "azure-native:authorization:RoleAssignment").length;
        const federated = new Map<string, number>();
        for (const r of run.resources.filter(
            (x) => x.type === "azure-native:managedidentity:FederatedIdentityCredential",
        )) {
            const identity = String(r.inputs.resourceName);
            federated.set(identity, (federated.get(identity) ?? 0) + 1);
        }
        const most = Math.max(...federated.values());
        console.log(
            `      role assignments: ${assignments} (limit ${ROLE_ASSIGNMENTS_MAX}); federated credentials per identity: at most ${most}`,
        );
        assert.ok(assignments < ROLE_ASSIGNMENTS_MAX / 2, `${assignments} role assignments`);
        assert.ok(most <= FEDERATED_CREDENTIALS_PER_IDENTITY_MAX, `${most} federated credentials on one identity`);
    });

    it("the config refuses, naming the limit, a stack whose login Job ConfigMap would pass 1 MiB (500 such apps)", () => {
        const lines = problemLines("prod", longNamed(500));
        assert.equal(lines.length, 1, lines.join("\n"));
        assert.match(
            lines[0],
            /^data-platform:apps: given "500 applications \(a login Job ConfigMap of \d+ bytes\)"; allowed: .*900000 bytes.*ConfigMap postgres-logins.*1 MiB/,
        );
    });
});

describe("a generated prod stack of 1,000 applications over servers and groups, against every limit", function () {
    // Measured here under the mock engine: ~35 CPU s and 1.7 GB peak on the 2-CPU CI machine (20,508 resources).
    this.timeout(600_000);
    let run: RunResult;
    let seconds: number;
    before(async () => {
        const { config, secretKeys } = generatedStack(1000);
        const started = Date.now();
        run = await runProgram({ stack: "prod", config, secretKeys });
        seconds = (Date.now() - started) / 1000;
    });

    it("is placed over at least 3 PostgreSQL servers and 3 Redis groups, one dedicated", () => {
        const servers = run.resources.filter((r) => r.type === "azure-native:dbforpostgresql:Server");
        const sentinels = run.resources.filter(
            (r) => r.type === "kubernetes:apps/v1:StatefulSet" && /sentinel$/.test(r.name),
        );
        console.log(
            `      ${run.resources.length} resources in ${seconds.toFixed(0)} s; ${servers.length} servers, ${sentinels.length} Redis groups`,
        );
        assert.ok(servers.length >= 3, `${servers.length} servers`);
        assert.ok(sentinels.length >= 4, `${sentinels.length} Redis groups`);
    });

    it("stays under every limit, each row printed with its headroom", () => {
        const rows = headroomRows(run.resources);
        rows.forEach((row) => console.log(`      ${headroomLine("apps1000", row)}`));
        assert.deepEqual(
            rows.map((row) => row.limit),
            Object.keys(LIMITS),
        );
        for (const row of rows) {
            assert.ok(row.used <= row.max, `${row.limit}: ${row.used} of ${row.max} (${row.largest})`);
        }
        // The config checks this ConfigMap (LOGIN_JOB_FILES_MAX_BYTES); the server's other per-login objects (its
        // login Job, ExternalSecret and the Secret External Secrets renders from the verifiers' parts) stay below it.
        const objects = rows.find((row) => row.limit === "kubernetesObjectBytes")!;
        assert.match(objects.largest, /^ConfigMap postgres-\S*logins-sql$/);
    });
});
