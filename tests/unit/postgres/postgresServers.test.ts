/**
 * Named PostgreSQL servers (`postgres.servers`, `apps[].postgres.server`): each server its own Flexible Server or
 * SGCluster, login Job, credentials and Key Vault secrets under its prefix, and its own connection budget; the stack's
 * own server keeps every name and URN; the config refuses names that would collide, applications of a server that does
 * not exist, and a second application on a dedicated server.
 */
import { strict as assert } from "assert";
import { RESERVED_SERVER_NAMES } from "../../../components/postgres/configRules";
import { isManifest } from "../../../offline/plan";
import { parseStack, problemLines } from "../../support/config";
import { runStack } from "../../support/program";
import { assertKeepsCustomResources, duplicateNames, mandatoryViolations } from "../../support/programChecks";

/** prod's own section, as written. */
function section(stack: string): Record<string, unknown> {
    const { servers: _none, ...own } = parseStack(stack).postgres;
    return own;
}

const PROD_SERVERS = {
    analytics: {
        mode: "azure",
        dedicated: true,
        azure: { ...(section("prod").azure as object), skuName: "Standard_D2ds_v5" },
    },
    shared2: { mode: "azure", azure: section("prod").azure },
};

const withServers = {
    "data-platform:postgres": { ...section("prod"), servers: PROD_SERVERS },
    "data-platform:apps": [
        ...parseStack("prod").apps.map(({ name, namespace, redisDb, poolSize, replicas }) => ({
            name,
            namespace,
            redisDb,
            poolSize,
            replicas,
        })),
        { name: "reports", namespace: "reports", redisDb: 4, postgres: { server: "analytics" } },
        { name: "wiki", namespace: "wiki", redisDb: 5, postgres: { server: "shared2" } },
        { name: "chat", namespace: "chat", redisDb: 6, postgres: { server: "shared2" } },
    ],
};

describe("named PostgreSQL servers", function () {
    this.timeout(60_000);

    it("gives each server its own Flexible Server, login Job, credentials and Key Vault secrets: no name taken twice", async () => {
        const run = await runStack("prod", withServers);
        assert.deepEqual(duplicateNames(run.resources), []);
        const servers = run.resources
            .filter((r) => r.type === "azure-native:dbforpostgresql:Server")
            .map((r) => String(r.inputs.serverName));
        assert.equal(new Set(servers).size, 3, servers.join(", "));
        assert.ok(servers.some((s) => s.includes("-pg-analytics-")));
        const k8sNames = run.resources.filter(isManifest).map((r) => String(r.inputs.metadata?.name));
        for (const name of ["postgres-analytics-logins", "postgres-shared2-logins", "postgres-analytics-exporter"]) {
            assert.ok(k8sNames.includes(name), `${name} in ${k8sNames.join(", ")}`);
        }
        const secrets = run.resources
            .filter((r) => r.type === "azure-native:keyvault:Secret")
            .map((r) => String(r.inputs.secretName));
        for (const id of ["pg-analytics-admin", "pg-shared2-monitor", "postgres-shared2-login-verifiers"]) {
            assert.ok(
                secrets.some((s) => s.endsWith(id)),
                `${id} in ${secrets.join(", ")}`,
            );
        }
        // Each application's database on its own server only.
        const databases = run.resources
            .filter((r) => r.type === "azure-native:dbforpostgresql:Database")
            .map((r) => `${r.name}`);
        assert.ok(databases.includes("postgres-analytics-db-reports"), databases.join(", "));
        assert.ok(!databases.includes("postgres-db-reports"), databases.join(", "));
    });

    it("passes the policy pack (no mandatory violation): each server's budget holds its own applications", async () => {
        const run = await runStack("prod", withServers);
        assert.deepEqual(await mandatoryViolations("prod", run), []);
    });

    it("keeps every cloud and cluster resource of a stack without servers as it was (URN and inputs) when servers are added", async () => {
        const before = await runStack("prod");
        const after = await runStack("prod", {
            "data-platform:postgres": { ...section("prod"), servers: PROD_SERVERS },
        });
        assertKeepsCustomResources(before, after);
    });

    it("reserves every word the default server's own names use after postgres- and pg-", async () => {
        const names = (await Promise.all([runStack("prod"), runStack("dev"), runStack("prod", withServers)])).flatMap(
            (run) =>
                run.resources.flatMap((r) => [
                    r.name,
                    ...(isManifest(r) ? [String(r.inputs.metadata?.name)] : []),
                    ...(r.type === "azure-native:keyvault:Secret" ? [String(r.inputs.secretName)] : []),
                ]),
        );
        const words = new Set(
            names.flatMap((n) => {
                const word = /(?:^|-)(?:postgres|pg)-([a-z0-9]+)/.exec(n)?.[1];
                return word === undefined || ["analytics", "shared2"].includes(word) ? [] : [word];
            }),
        );
        assert.ok(words.size > 5);
        const missing = [...words].filter((word) => !RESERVED_SERVER_NAMES.includes(word));
        assert.deepEqual(missing, []);
    });

    it("refuses reserved server names, unknown servers, a second application on a dedicated server, and a second operator", () => {
        const lines = problemLines("dev", {
            "data-platform:postgres": {
                ...section("dev"),
                servers: {
                    logins: { mode: "stackgres" },
                    solo: { mode: "stackgres", dedicated: true, stackgres: { installOperator: true } },
                },
            },
            "data-platform:apps": [
                { name: "orders", namespace: "orders", redisDb: 1, postgres: { server: "nope" } },
                { name: "worker", namespace: "worker", redisDb: 2, postgres: { server: "solo" } },
                { name: "beat", namespace: "beat", redisDb: 3, postgres: { server: "solo" } },
            ],
        });
        assert.deepEqual(lines, [
            `data-platform:postgres.servers: given "logins"; allowed: a server name other than ${RESERVED_SERVER_NAMES.join(", ")} (words of the default server's own names)`,
            'data-platform:apps[0].postgres.server: given "nope"; allowed: one of default, logins, solo (postgres.servers)',
            'data-platform:apps[2].postgres.server: given "solo"; allowed: a server not dedicated to another application (postgres.servers.solo.dedicated: apps[1] has it)',
            "data-platform:postgres.servers.solo.stackgres.installOperator: given true; allowed: false: the operator is installed once per cluster, with postgres.stackgres.installOperator",
        ]);
    });

    it("checks each server's connection budget with its own applications, naming them", () => {
        const apps = (server?: string) =>
            ["a", "b", "c"].map((name, i) => ({
                name: `${name}${server ?? ""}`,
                namespace: `${name}${server ?? ""}`,
                redisDb: (server ? 4 : 1) + i,
                poolSize: 10,
                replicas: 3,
                ...(server ? { postgres: { server } } : {}),
            }));
        const servers = { more: { mode: "stackgres", maxConnections: 200 } };
        // Through PgBouncer 30 + auth_query's pool 30 + 1 migration per application, the login Job 1 and 10 reserved:
        // six applications' 377 fit no single server of 200, but three's 194 each do.
        const split = { ...section("dev"), maxConnections: 200, servers };
        assert.equal(
            parseStack("dev", { "data-platform:postgres": split, "data-platform:apps": [...apps(), ...apps("more")] })
                .apps.length,
            6,
        );
        const lines = problemLines("dev", {
            "data-platform:postgres": { ...split, servers: { more: { mode: "stackgres", maxConnections: 50 } } },
            "data-platform:apps": [...apps(), ...apps("more")],
        });
        assert.equal(lines.length, 1, lines.join("\n"));
        assert.match(
            lines[0],
            /^data-platform:postgres\.servers\.more\.maxConnections: given 50; allowed: at least 194: 194 connections reach PostgreSQL: .*: amore 61, bmore 61, cmore 61\)/,
        );
    });

    it("lets only its application's namespace reach a dedicated StackGres server's ports; a shared one every consumer namespace", async () => {
        const run = await runStack("dev", {
            "data-platform:postgres": { ...section("dev"), servers: { solo: { mode: "stackgres", dedicated: true } } },
            "data-platform:apps": [
                ...parseStack("dev").apps.map(({ name, namespace, redisDb }) => ({ name, namespace, redisDb })),
                { name: "legacy", namespace: "legacy", redisDb: 7, poolSize: 2, postgres: { server: "solo" } },
            ],
        });
        const clients = (name: string) => {
            const policy = run.resources.find(
                (r) => r.type === "kubernetes:networking.k8s.io/v1:NetworkPolicy" && r.inputs.metadata?.name === name,
            );
            assert.ok(policy, name);
            return policy.inputs.spec.ingress[0].from;
        };
        assert.deepEqual(clients("postgres-solo-ingress"), [
            { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "legacy" } } },
        ]);
        assert.deepEqual(clients("postgres-ingress"), [
            { namespaceSelector: { matchLabels: { "data-platform.io/consumer": "true" } } },
        ]);
    });
});
