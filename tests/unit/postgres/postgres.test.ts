/**
 * PostgreSQL: the contract rendering, config checks, and the real program's registrations in both modes and
 * both stacks (StackGres objects validated against the upstream CRDs; Azure inputs and options).
 */
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as keyvault from "@pulumi/azure-native/keyvault";
import { parse as parseConnectionString } from "pg-connection-string";
// knex parses DATABASE_URL with its own, older copy (knex-builder/internal/parse-connection.js).
import { parse as parseKnexConnectionString } from "knex/node_modules/pg-connection-string";
import { SAFE_SPECIAL_CHARACTERS } from "../../../components/config/keyVault";
import { databaseUrl, percentEncode, postgresEnv } from "../../../components/postgres/env";
import { PG_ADMIN_CREDENTIAL, postgresCredentialIds } from "../../../components/postgres/credentials";
import { appLogins, keyedDigest, renderLoginEntrypoint, renderLoginSql } from "../../../components/postgres/sql";
import { loginVerifier, scramVerifier } from "../../../components/postgres/scram";
import type { AppConfig } from "../../../components/config/platform";
import { STACKGRES_DIRECT_PORT, stackGresManifests } from "../../../components/postgres/stackgresSpec";
import { AZURE_POSTGRES_PORT, azureRootCertificates, serverParameters } from "../../../components/postgres/azureSpec";
import { loadStackConfig, mergeConfig } from "../../../offline/stackConfig";
import { RecordedResource, RunResult, runProgram } from "../../../offline/mockEngine";
import type { CredentialSource, SecretSyncer, VaultWriter } from "../../../components/interfaces";
import { createPostgres } from "../../../components/postgres";
import { STORE_NAME } from "../../../components/secretSync/spec";
import { podTemplateOf, secretsOf } from "../../../policy/lib/k8s";
import { SECRET_REVEALING, grantsIn } from "../../../policy/lib/rbac";
import type { GraphResource } from "../../../policy/lib/secretReach";
import { configError, parseServer, parseStack, problemLines, sectionOverride } from "../../support/config";
import { validateAgainstCrd } from "../../support/crdSchemas";
import { passwordForms } from "../../support/passwordLeaks";
import { postgresNames } from "../../../components/postgres/servers";

/** The stack's own server's names. */
const DEFAULT_NAMES = postgresNames({});
import { Overrides, byName, byType, runStack } from "../../support/program";

const EVERY_CHAR = `${SAFE_SPECIAL_CHARACTERS}AZaz09`;

const DEV_AZURE: Overrides = {
    "data-platform:postgres": {
        mode: "azure",
        // Standard_B1ms (the development SKU) starts with 50; max_connections is static on Azure.
        maxConnections: 50,
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
            "DATABASE_DIRECT_URL",
            "DATABASE_URL",
            "DB_DIRECT_PORT",
            "DB_HOST",
            "DB_NAME",
            "DB_PASSWORD",
            "DB_POOL_CONNECTION_TIMEOUT",
            "DB_POOL_IDLE_TIMEOUT",
            "DB_POOL_MAX",
            "DB_PORT",
            "DB_SSL_MODE",
            "DB_USER",
            "PGDATABASE",
            "PGHOST",
            "PGPASSWORD",
            "PGPORT",
            "PGSSLMODE",
            "PGUSER",
        ]);
        assert.equal(env.DB_PORT, "6432");
        assert.equal(env.DB_DIRECT_PORT, "5432");
        // libpq's own tools (psql, pg_dump) keep session state: PostgreSQL itself, past the pooler.
        assert.deepEqual(
            [env.PGHOST, env.PGPORT, env.PGDATABASE, env.PGUSER, env.PGPASSWORD, env.PGSSLMODE],
            [env.DB_HOST, env.DB_DIRECT_PORT, env.DB_NAME, env.DB_USER, env.DB_PASSWORD, env.DB_SSL_MODE],
        );
        assert.equal(env.DATABASE_DIRECT_URL, env.DATABASE_URL.replace(":6432/", ":5432/"));
        assert.equal(
            postgresEnv({ ...endpoint, caCert: "PEM" }, { database: "b", user: "b", password: "p" }, 1).DB_CA_CERT,
            "PEM",
        );
        assert.equal(env.DB_POOL_MAX, "7");
        assert.equal(env.DB_PASSWORD, "x@y");
        assert.equal(env.DB_SSL_MODE, "require");
        assert.equal(
            postgresEnv({ ...endpoint, poolerPort: undefined }, { database: "b", user: "b", password: "p" }, 1).DB_PORT,
            "5432",
        );
    });
});

describe("postgres contract for node-postgres (apps[].postgres.urlFormat)", () => {
    const login = { database: "saas", user: "saas", password: "p" };
    const base = { host: "db.internal", port: 5433, poolerPort: 5432, sslMode: "require" as const };

    it("writes sslmode=no-verify where the CA is a private issuer's (pg reads require as verify-full, and Node's store lacks that CA)", () => {
        const env = postgresEnv({ ...base, caCert: "PEM" }, login, 1, { urlFormat: "node-postgres" });
        assert.equal(env.DATABASE_URL, "postgresql://saas:p@db.internal:5432/saas?sslmode=no-verify");
        assert.equal(env.DATABASE_DIRECT_URL, "postgresql://saas:p@db.internal:5433/saas?sslmode=no-verify");
        for (const parse of [parseConnectionString, parseKnexConnectionString]) {
            assert.deepEqual(parse(env.DATABASE_URL).ssl, { rejectUnauthorized: false });
        }
        // libpq's keys keep libpq's words: `require` is already encrypted and unverified there.
        assert.deepEqual([env.DB_SSL_MODE, env.PGSSLMODE], ["require", "require"]);
    });

    it("writes sslmode=verify-full where the CA is a public root Node holds (Azure)", () => {
        const env = postgresEnv({ ...base, caCert: "PEM", caIsPublic: true }, login, 1, { urlFormat: "node-postgres" });
        assert.equal(env.DATABASE_URL, "postgresql://saas:p@db.internal:5432/saas?sslmode=verify-full");
        for (const parse of [parseConnectionString, parseKnexConnectionString]) {
            // 2.14 gives {} and 2.6 true: TLS with Node's default, rejectUnauthorized.
            const ssl = parse(env.DATABASE_URL).ssl;
            assert.ok(ssl === true || (typeof ssl === "object" && Object.keys(ssl).length === 0), String(ssl));
        }
    });

    it("keeps libpq's URI by default", () => {
        assert.equal(
            postgresEnv(base, login, 1).DATABASE_URL,
            "postgresql://saas:p@db.internal:5432/saas?sslmode=require",
        );
    });
});

describe("postgres login SQL (rendered text)", () => {
    const logins = appLogins([
        { name: "orders", database: "orders" },
        { name: "user-service", database: "user" },
    ] as AppConfig[]);
    const azure = renderLoginSql(logins, { createDatabases: false, superuser: false, extensions: [] });
    const stackgres = renderLoginSql(logins, { createDatabases: true, superuser: true, extensions: [] });

    it("marks each login as its application's, then turns off LOGIN of every marked login no application has", () => {
        for (const sql of [azure, stackgres]) {
            assert.match(sql, /^COMMENT ON ROLE "orders_alt" IS 'data-platform: app orders';$/m);
            assert.match(sql, /^COMMENT ON ROLE "user" IS 'data-platform: app user-service';$/m);
            const last = sql.trimEnd().split("\n").pop() ?? "";
            assert.match(last, /^SELECT format\('ALTER ROLE %I NOLOGIN', r\.rolname\) .* \\gexec$/);
            assert.match(last, /starts_with\(d\.description, 'data-platform: app '\) AND r\.rolcanlogin/);
            assert.match(last, /r\.rolname <> ALL \(ARRAY\['orders', 'orders_alt', 'user', 'user_alt'\]::text\[\]\)/);
        }
        const none = renderLoginSql([], { createDatabases: false, superuser: false, extensions: [] });
        assert.match(none, /<> ALL \(ARRAY\[\]::text\[\]\)/);
    });

    // Before, psql interpolated each clear password into ALTER ROLE ... PASSWORD, and a failing statement is logged
    // with its text.
    it("sets each login's SCRAM verifier from the environment; the entrypoint refuses a file that holds none", () => {
        for (const sql of [azure, stackgres]) {
            assert.match(sql, /^\\getenv verifier_orders_alt LOGIN_VERIFIER_orders_alt$/m);
            assert.match(
                sql,
                /^ALTER ROLE "orders_alt" WITH LOGIN NOCREATEDB NOCREATEROLE INHERIT PASSWORD :'verifier_orders_alt';$/m,
            );
            assert.doesNotMatch(sql, /password_|LOGIN_PASSWORD/);
        }
        const entrypoint = renderLoginEntrypoint(logins);
        assert.match(entrypoint, /^LOGIN_VERIFIER_user_alt="\$\(verifier pg-alt-user-service\)"$/m);
        assert.match(entrypoint, /'SCRAM-SHA-256\$'\*\) printf/);
    });

    // RFC 7677 section 3: user "user", password "pencil"; the server's signature of that exchange is computed from
    // ServerKey, the client's proof checks against StoredKey (RFC 5802 section 3).
    it("computes SCRAM-SHA-256 verifiers as RFC 7677's example exchange checks them", () => {
        const salt = Buffer.from("W22ZaJ0SNY7soEsUEjb6gQ==", "base64");
        const verifier = scramVerifier("pencil", salt);
        const match = /^SCRAM-SHA-256\$4096:([^$]+)\$([^:]+):(.+)$/.exec(verifier);
        assert.ok(match, verifier);
        assert.equal(match[1], "W22ZaJ0SNY7soEsUEjb6gQ==");
        const [storedKey, serverKey] = [match[2], match[3]].map((b) => Buffer.from(b, "base64"));
        const nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        const authMessage = `n=user,r=rOprNGfwEbeRWgbNEkqO,r=${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=${nonce}`;
        const hmac = (key: Buffer) => crypto.createHmac("sha256", key).update(authMessage).digest();
        assert.equal(hmac(serverKey).toString("base64"), "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
        const proof = Buffer.from("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", "base64");
        const clientKey = Buffer.from(proof.map((b, i) => b ^ hmac(storedKey)[i]));
        assert.deepEqual(crypto.createHash("sha256").update(clientKey).digest(), storedKey);
        // The same at every run (plans stay stable), different per login and per admin password (the salt's key).
        assert.equal(loginVerifier("admin", "orders", "pw"), loginVerifier("admin", "orders", "pw"));
        assert.notEqual(loginVerifier("admin", "orders", "pw"), loginVerifier("admin", "orders_alt", "pw"));
        assert.notEqual(loginVerifier("admin", "orders", "pw"), loginVerifier("admin2", "orders", "pw"));
        assert.throws(() => scramVerifier("pässword", salt), /ASCII/);
    });

    it("checks on 16 that the non-superuser admin holds ADMIN OPTION on every existing login before altering one", () => {
        const check = azure.indexOf("DO $check$");
        assert.ok(check >= 0 && check < azure.indexOf("ALTER ROLE"), "the check comes first");
        assert.match(azure, /IF current_setting\('server_version_num'\)::int < 160000 THEN RETURN; END IF;/);
        assert.match(
            azure,
            /WHERE rolname IN \('orders', 'orders_alt', 'user', 'user_alt'\) AND NOT pg_catalog\.pg_has_role\(current_user, oid, 'MEMBER WITH ADMIN OPTION'\)/,
        );
        assert.match(azure, /GRANT %s TO %I WITH ADMIN OPTION/);
        // The StackGres superuser holds it on every role.
        assert.doesNotMatch(stackgres, /\$check\$/);
    });
});

describe("postgres config checks", () => {
    it("rejects a connection budget above max_connections (Azure reserves 15; PgBouncer caps each pool)", () => {
        // prod through PgBouncer: orders min(6x20, 2x50) + auth_query's pool min(120, 50) + 1 migration = 151, search
        // 81, billing 61; login Job 1, exporter 2, 15 reserved: 311 (connectionBudget.test.ts: the arithmetic).
        const prod = loadStackConfig("prod").config["data-platform:postgres"];
        const withMax = (max: number) => ({ "data-platform:postgres": { ...JSON.parse(prod), maxConnections: max } });
        assert.match(
            configError("prod", withMax(310)).message,
            /postgres\.maxConnections: given 310; allowed: at least 311: 311 connections reach PostgreSQL: .*orders 151, search 81, billing 61\)/,
        );
        assert.equal(parseStack("prod", withMax(311)).postgres.maxConnections, 311);
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

    it("development defaults are valid in azure mode: max_connections defaults to the SKU's own", () => {
        // Microsoft, "Limits in Azure Database for PostgreSQL flexible server" (concepts-limits.md): Standard_B1ms
        // starts with 50; the development default of 100 was refused as above it.
        const firewallRules = DEV_AZURE["data-platform:postgres"] as { azure: object };
        const azureWith = (azure: object) => ({
            "data-platform:postgres": { mode: "azure", azure: { ...firewallRules.azure, ...azure } },
        });
        assert.equal(parseStack("dev", azureWith({})).postgres.maxConnections, 50);
        assert.equal(parseStack("dev", azureWith({ skuName: "Standard_B2s" })).postgres.maxConnections, 429);
        // No figure for the SKU: the profile's default, which the restart rule then asks to acknowledge.
        assert.match(
            configError("dev", azureWith({ skuName: "Standard_E2ds_v5", skuTier: "MemoryOptimized" })).message,
            /postgres\.maxConnections: given 100; allowed: no default max_connections is known for Standard_E2ds_v5/,
        );
        assert.equal(parseStack("dev").postgres.maxConnections, 100, "StackGres keeps the profile's default");
    });

    it("refuses Azure storage sizes that do not exist, listing those that do", () => {
        // terraform-provider-azurerm `storage_mb` allowed values (Premium SSD): 32 GiB ... 32767 GiB.
        const base = JSON.parse(loadStackConfig("prod").config["data-platform:postgres"]);
        const withSize = (storageSizeGB: number) => ({
            "data-platform:postgres": { ...base, azure: { ...base.azure, storageSizeGB } },
        });
        for (const size of [100, 300, 32768]) {
            assert.match(
                configError("prod", withSize(size)).message,
                new RegExp(
                    `postgres\\.azure\\.storageSizeGB: given ${size}; allowed: one of 32, 64, 128, 256, 512, 1024, 2048, 4095, 4096, 8192, 16384, 32767`,
                ),
            );
        }
        for (const size of [32, 4095, 32767]) {
            assert.equal(parseStack("prod", withSize(size)).postgres.azure.storageSizeGB, size);
        }
    });

    // Raising the static max_connections on Azure without a restart leaves the budget checked against a value the
    // server does not have (the old code accepted 2000 on a Standard_D4ds_v5, provisioned with 1718).
    it("refuses max_connections above the Azure SKU's default unless a restart is acknowledged", () => {
        const base = JSON.parse(loadStackConfig("prod").config["data-platform:postgres"]);
        const at = (max: number, acknowledgeRestart?: boolean) => ({
            "data-platform:postgres": { ...base, maxConnections: max, azure: { ...base.azure, acknowledgeRestart } },
        });
        assert.equal(parseStack("prod", at(1718)).postgres.maxConnections, 1718);
        assert.match(
            configError("prod", at(1719)).message,
            /postgres\.maxConnections: given 1719; allowed: at most 1718, the default of Standard_D4ds_v5: max_connections is static/,
        );
        assert.equal(parseStack("prod", at(2000, true)).postgres.maxConnections, 2000);
    });

    it("refuses, without acknowledgeRestart, an extension whose library Azure does not preload by default", () => {
        const pg = (changes: Record<string, unknown>) => ({
            ...(DEV_AZURE["data-platform:postgres"] as Record<string, unknown>),
            ...changes,
        });
        const lines = problemLines("dev", { "data-platform:postgres": pg({ extensions: ["pgaudit"] }) });
        assert.deepEqual(lines, [
            'data-platform:postgres.extensions: given ["pgaudit"]; allowed: extensions whose libraries Azure preloads by default ' +
                "(pg_cron, pg_stat_statements), or postgres.azure.acknowledgeRestart: true: shared_preload_libraries " +
                "becomes pg_cron,pg_stat_statements,pgaudit, live only after a server restart (az postgres flexible-server restart)",
        ]);
        const azure = { ...(pg({}).azure as object), acknowledgeRestart: true };
        parseStack("dev", { "data-platform:postgres": pg({ extensions: ["pgaudit"], azure }) });
        parseStack("dev", { "data-platform:postgres": pg({ extensions: ["pg_cron", "pg_trgm"] }) });
    });

    it("takes login generations as numbers and refuses a database whose alternate login clashes", () => {
        const kv = JSON.parse(loadStackConfig("prod").config["data-platform:keyVault"]);
        assert.match(
            configError("prod", { "data-platform:keyVault": { ...kv, rotations: { "pg-app-orders": "2026-11" } } })
                .message,
            /keyVault\.rotations\.pg-app-orders: given "2026-11"; allowed: a whole number/,
        );
        assert.match(
            configError("prod", { "data-platform:keyVault": { ...kv, rotations: { "pg-alt-orders": "1" } } }).message,
            /rotations\.pg-alt-orders \(key\).*follows the generation/,
        );
        const apps = JSON.parse(loadStackConfig("prod").config["data-platform:apps"]);
        assert.match(
            configError("prod", {
                "data-platform:apps": [
                    ...apps,
                    { ...apps[2], name: "orders-alt", namespace: "orders-alt", redisDb: 9 },
                ],
            }).message,
            /apps\[0\]\.database: given "orders"; allowed: a name whose alternate login orders_alt is not another/,
        );
    });

    // Before, an application named like a role the operator or the server keeps (StackGres' superuser `authenticator`,
    // Azure's admin) was accepted and the login Job took the role over: new password, and the app became superuser.
    it("refuses an application whose login or database the server, the operator or the admin login holds", () => {
        const apps = JSON.parse(loadStackConfig("prod").config["data-platform:apps"]);
        const withDatabase = (name: string, database?: string, postgres?: object) => ({
            "data-platform:apps": [...apps, { name, namespace: "extra", redisDb: 9, database }],
            ...(postgres ? { "data-platform:postgres": postgres } : {}),
        });
        const cases: Array<[string, RegExp]> = [
            ["authenticator", /StackGres/],
            ["replicator", /StackGres/],
            ["postgres", /StackGres/],
            ["azure_pg_admin", /Azure/],
            ["azuresu", /Azure/],
            ["azure_superuser", /Azure/],
            ["replication", /Azure/],
            ["azure_maintenance", /Azure/],
            ["azure_sys", /Azure/],
            ["template0", /PostgreSQL/],
            ["template1", /PostgreSQL/],
            ["pg_monitor", /PostgreSQL.*pg_/],
            ["pg_orders", /PostgreSQL.*pg_/],
            ["public", /PostgreSQL/],
        ];
        for (const [database, source] of cases) {
            const message = configError("prod", withDatabase("extra", database)).message;
            assert.match(message, new RegExp(`apps\\[3\\]\\.database: given "${database}"; allowed: `), database);
            assert.match(message, source, database);
        }
        // The derived database name (the app's name) and the alternate login are checked too.
        assert.match(configError("prod", withDatabase("postgres")).message, /apps\[3\]\.database: given "postgres"/);
        const prod = JSON.parse(loadStackConfig("prod").config["data-platform:postgres"]);
        const admin = prod.azure.adminLogin ?? parseStack("prod").postgres.azure.adminLogin;
        assert.match(
            configError("prod", withDatabase("extra", admin)).message,
            new RegExp(`apps\\[3\\]\\.database: given "${admin}".*Azure admin login`),
        );
        const altAdmin = { ...prod, azure: { ...prod.azure, adminLogin: "ops_alt" } };
        assert.match(
            configError("prod", withDatabase("ops", undefined, altAdmin)).message,
            /apps\[3\]\.database: given "ops".*ops_alt.*Azure admin login/,
        );
        assert.equal(parseStack("prod", withDatabase("extra", "pgx")).apps[3].database, "pgx");
    });

    it("declares the credentials each mode needs", () => {
        assert.deepEqual(postgresCredentialIds(parseStack("prod")), [
            "pg-admin",
            "pg-monitor",
            "pg-app-orders",
            "pg-alt-orders",
            "pg-app-billing",
            "pg-alt-billing",
            "pg-app-search",
            "pg-alt-search",
        ]);
        assert.deepEqual(postgresCredentialIds(parseStack("dev")), [
            "pg-admin",
            "pg-replication",
            "pg-authenticator",
            "pg-app-orders",
            "pg-alt-orders",
            "pg-app-billing",
            "pg-alt-billing",
        ]);
    });
});

describe("postgres stackgres objects", () => {
    it("validate against the StackGres 1.18 CRDs (unknown fields are errors) in both stacks", () => {
        for (const cfg of [parseServer("dev"), parseServer("prod", PROD_STACKGRES)]) {
            const objects = stackGresManifests(cfg);
            assert.ok(objects.some((o) => o.kind === "SGCluster"));
            for (const o of objects) {
                assert.deepEqual(validateAgainstCrd(o), [], `${o.kind} ${o.metadata.name}`);
            }
        }
    });

    it("deploys postgres.extensions that StackGres does not ship (StackGresUtil.getDefaultClusterExtensions), valid against the CRD", () => {
        const cfg = parseServer(
            "dev",
            sectionOverride("dev", "postgres", { extensions: ["ltree", "plpgsql", "pg_trgm"] }),
        );
        const cluster = stackGresManifests(cfg).find((o) => o.kind === "SGCluster")!;
        assert.deepEqual((cluster.spec.postgres as { extensions?: unknown }).extensions, [
            { name: "ltree" },
            { name: "pg_trgm" },
        ]);
        assert.deepEqual(validateAgainstCrd(cluster), []);
        const plain = stackGresManifests(parseServer("dev")).find((o) => o.kind === "SGCluster")!;
        assert.equal((plain.spec.postgres as { extensions?: unknown }).extensions, undefined);
    });

    it("the validator catches a field the CRD does not have (managedUsers)", () => {
        const cfg = parseServer("dev");
        const cluster = stackGresManifests(cfg).find((o) => o.kind === "SGCluster")!;
        assert.notDeepEqual(validateAgainstCrd({ ...cluster, spec: { ...cluster.spec, managedUsers: [] } }), []);
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
            assert.ok(crs.length >= 4);
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
            assert.match(deps, /SGPoolingConfig::postgres-sgpoolingconfig/);
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

        it("creates logins and databases with the login Job after the cluster, as the superuser straight to PostgreSQL", () => {
            assert.equal(byType(run, "kubernetes:stackgres.io/v1:SGScript").length, 0);
            const job = byName(run, "kubernetes:batch/v1:Job", "postgres-logins");
            assert.ok(job.dependencies.some((d) => d.endsWith("SGCluster::postgres-sgcluster")));
            const env = Object.fromEntries(
                job.inputs.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]),
            );
            assert.equal(env.PGHOST, "postgres.data-platform.svc.cluster.local");
            assert.equal(env.PGPORT, "5433");
            assert.equal(env.PGUSER, "postgres");
            const sql = byName(run, "kubernetes:core/v1:ConfigMap", "postgres-logins-sql").inputs.data["logins.sql"];
            assert.match(sql, /SELECT 'CREATE DATABASE "orders" OWNER "orders"' WHERE NOT EXISTS .* \\gexec/);
            assert.match(sql, /SET log_statement TO 'none';/);
            assert.deepEqual(
                run.resources.flatMap((r) => leaks(r, passwords(run).flatMap(passwordForms))),
                [],
            );
        });

        // TLS is required, not offered: StackGres sets PgBouncer's client_tls_sslmode=prefer and appends pg_hba rules
        // that accept any address without TLS (PgBouncerPooling, PatroniConfigEndpoints at 1.18.6).
        it("writes each application's bundle only after the login Job has completed", () => {
            const bundle = byName(run, "azure-native:keyvault:Secret", "bundle-orders");
            assert.ok(bundle.dependencies.some((d) => d.endsWith("batch/v1:Job::postgres-logins")));
        });

        it("requires TLS from every client: PgBouncer client_tls_sslmode require, pg_hba rejecting non-TLS first", () => {
            const pooling = byName(run, "kubernetes:stackgres.io/v1:SGPoolingConfig", "postgres-sgpoolingconfig");
            const ini = pooling.inputs.spec.pgBouncer["pgbouncer.ini"].pgbouncer;
            assert.equal(ini.client_tls_sslmode, "require");
            assert.equal(ini.max_prepared_statements, "200");
            const cluster = byName(run, "kubernetes:stackgres.io/v1:SGCluster", "postgres-sgcluster");
            const hba: string[] = cluster.inputs.spec.configurations.patroni.dynamicConfig.postgresql.pg_hba;
            assert.ok(hba.includes("hostnossl all all 0.0.0.0/0 reject"), hba.join("\n"));
            assert.ok(hba.includes("hostnossl replication all ::/0 reject"), hba.join("\n"));
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
            assert.equal(byParam.max_connections.inputs.value, stack === "prod" ? "859" : "50");
            assert.equal("pgbouncer.enabled" in byParam, stack === "prod");
            // Azure's default is 0: protocol-level prepared statements broke through its PgBouncer, not StackGres'.
            assert.equal(
                byParam["pgbouncer.max_prepared_statements"]?.inputs.value,
                stack === "prod" ? "200" : undefined,
            );
            const server = byName(run, "azure-native:dbforpostgresql:Server", "postgres-server");
            assert.deepEqual(
                server.inputs.maintenanceWindow,
                stack === "prod"
                    ? { customWindow: "Enabled", dayOfWeek: 0, startHour: 1, startMinute: 0 }
                    : // azure-native fills day, hour and minute with 0 (their ARM defaults).
                      { customWindow: "Disabled", dayOfWeek: 0, startHour: 0, startMinute: 0 },
            );
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

        it("preloads the libraries of extensions that need shared_preload_libraries, keeping pg_stat_statements", () => {
            const pg = {
                ...JSON.parse(loadStackConfig(stack).config["data-platform:postgres"]),
                ...((overrides as Overrides)["data-platform:postgres"] as object),
            };
            const azure = { ...pg.azure, acknowledgeRestart: true };
            const params = (extensions: string[]) =>
                serverParameters(
                    parseServer(stack, { ...overrides, "data-platform:postgres": { ...pg, azure, extensions } }),
                );
            const preload = (extensions: string[]) =>
                params(extensions).find((p) => p.name === "shared_preload_libraries")?.value;
            assert.equal(preload(["pgaudit", "pg_trgm", "pg_cron"]), "pg_cron,pg_stat_statements,pgaudit");
            assert.equal(preload(["pg_trgm"]), undefined);
            // Static on Azure, like max_connections: set before the extensions are allow-listed and created.
            const names = params(["pgaudit"]).map((p) => p.name);
            assert.ok(names.indexOf("shared_preload_libraries") < names.indexOf("azure.extensions"));
        });

        it("allow-lists postgres.extensions on the server and creates them in each application database", async () => {
            const pg = {
                ...JSON.parse(loadStackConfig(stack).config["data-platform:postgres"]),
                ...((overrides as Overrides)["data-platform:postgres"] as object),
            };
            const withExt = await runStack(stack, {
                ...overrides,
                "data-platform:postgres": { ...pg, extensions: ["pg_trgm", "uuid-ossp"] },
            });
            const param = byType(withExt, "azure-native:dbforpostgresql:Configuration").find(
                (p) => p.inputs.configurationName === "azure.extensions",
            );
            assert.equal(param?.inputs.value, "pg_trgm,uuid-ossp");
            const sql = byName(withExt, "kubernetes:core/v1:ConfigMap", "postgres-logins-sql").inputs.data[
                "logins.sql"
            ];
            assert.match(
                sql,
                /\\connect orders\n(?:.*\n)*?CREATE EXTENSION IF NOT EXISTS "pg_trgm";\nCREATE EXTENSION IF NOT EXISTS "uuid-ossp";\n\\connect postgres\n/,
            );
        });

        it("runs the login Job with the admin password and the logins' verifiers from the synced Secret; nothing leaks", () => {
            const job = byName(run, "kubernetes:batch/v1:Job", "postgres-logins");
            const container = job.inputs.spec.template.spec.containers[0];
            assert.equal(container.image, "postgres:16.10-alpine3.22");
            const env = Object.fromEntries(container.env.map((e: any) => [e.name, e.value]));
            assert.match(env.PGHOST, /\.postgres\.database\.azure\.com$/);
            assert.equal(env.PGPORT, "5432");
            assert.match(job.inputs.metadata.name, /^postgres-logins-[0-9a-f]{10}$/);
            const cm = byName(run, "kubernetes:core/v1:ConfigMap", "postgres-logins-sql");
            assert.match(cm.inputs.data["logins.sql"], /PASSWORD :'verifier_orders'/);
            const es = byName(run, "kubernetes:external-secrets.io/v1:ExternalSecret", "postgres-logins-secret");
            assert.equal(es.inputs.metadata.namespace, "data-platform");
            // Each login's verifier, computed by the program (secret), in one Key Vault secret; no login's password.
            const admin = byName(run, "random:index/randomPassword:RandomPassword", "credentials-pg-admin").outputs
                .result as string;
            const stored = byName(run, "azure-native:keyvault:Secret", "postgres-login-verifiers");
            assert.deepEqual(stored.secretPaths, ["properties.value"]);
            const verifiers = JSON.parse(stored.inputs.properties.value);
            const orders = byName(run, "random:index/randomPassword:RandomPassword", "credentials-pg-alt-orders")
                .outputs.result as string;
            assert.equal(verifiers["pg-alt-orders"], loginVerifier(admin, "orders_alt", orders));
            assert.deepEqual(
                es.inputs.spec.data.map((d: any) => [
                    d.secretKey,
                    d.remoteRef.key.endsWith(DEFAULT_NAMES.loginVerifiers),
                    d.remoteRef.property,
                ]),
                [["admin", false, undefined], ...Object.keys(verifiers).map((key) => [key, true, key])],
            );
            assert.deepEqual(
                run.resources.flatMap((r) => leaks(r, passwords(run).flatMap(passwordForms))),
                [],
            );
            // No digest of any password in clear anywhere: neither the plain SHA-256 prefix the Job carried before nor
            // the keyed digests it carries now (those only under a secret path).
            const all = passwords(run);
            const digests = all.flatMap((pw) => [
                crypto.createHash("sha256").update(pw).digest("hex").slice(0, 16),
                keyedDigest(admin, pw),
            ]);
            assert.deepEqual(
                run.resources.flatMap((r) => leaks(r, digests)),
                [],
            );
            // The digests are keyed by the admin password and secret in state; nothing else in the Job is.
            assert.deepEqual(job.secretPaths, ["spec.template.spec.containers[0].env[2].value"]);
            assert.deepEqual(job.inputs.metadata.annotations, { "pulumi.com/replaceUnready": "true" });
        });

        it("re-runs the login Job (new name) when an application password rotates, and only then", async () => {
            const kv = JSON.parse(loadStackConfig(stack).config["data-platform:keyVault"]);
            const rotated = await runStack(stack, {
                ...overrides,
                "data-platform:keyVault": { ...kv, rotations: { "pg-app-billing": "1" } },
            });
            const name = (r: RunResult) => byName(r, "kubernetes:batch/v1:Job", "postgres-logins").inputs.metadata.name;
            assert.notEqual(name(rotated), name(run));
            const same = await runStack(stack, { ...overrides, "data-platform:keyVault": { ...kv } });
            assert.equal(name(same), name(run));
        });

        // Before, a rotation regenerated the one password of the one login the running pods used: they were locked
        // out as soon as the new password reached the server. Now each generation renews only the idle login.
        it("rotates by alternating logins: each generation renews only the login no running consumer uses", async () => {
            const kv = JSON.parse(loadStackConfig(stack).config["data-platform:keyVault"]);
            const at = (generation: string) =>
                runStack(stack, {
                    ...overrides,
                    "data-platform:keyVault": { ...kv, rotations: { "pg-app-orders": generation } },
                });
            const pw = (r: RunResult, id: string) =>
                byName(r, "random:index/randomPassword:RandomPassword", `credentials-${id}`).inputs.keepers;
            const user = (r: RunResult) =>
                JSON.parse(byName(r, "azure-native:keyvault:Secret", "bundle-orders").inputs.properties.value).DB_USER;
            const [gen1, gen2] = [await at("1"), await at("2")];
            assert.deepEqual(
                [pw(run, "pg-app-orders"), pw(run, "pg-alt-orders")],
                [{ rotation: "" }, { rotation: "" }],
            );
            assert.deepEqual(
                [pw(gen1, "pg-app-orders"), pw(gen1, "pg-alt-orders")],
                [{ rotation: "" }, { rotation: "1" }],
            );
            assert.deepEqual(
                [pw(gen2, "pg-app-orders"), pw(gen2, "pg-alt-orders")],
                [{ rotation: "2" }, { rotation: "1" }],
            );
            assert.deepEqual([user(run), user(gen1), user(gen2)], ["orders", "orders_alt", "orders"]);
            assert.deepEqual(pw(gen2, "pg-app-billing"), { rotation: "" });
        });

        // The login Secret follows a rotation at once (source versions); before, the Job polled up to the ExternalSecret's
        // refresh interval + 300 s (75 minutes with 1 h) while `pulumi up` waited for it.
        it("syncs the Job's Secret at once (source versions, after the vault secrets) and waits a fixed bound", () => {
            const es = byName(run, "kubernetes:external-secrets.io/v1:ExternalSecret", "postgres-logins-secret");
            assert.match(es.inputs.metadata.annotations["data-platform.io/source-versions"], /^[0-9a-f]{32}$/);
            for (const secret of ["credentials-pg-admin-kv", "postgres-login-verifiers"]) {
                assert.ok(
                    es.dependencies.some((d) => d.endsWith(`keyvault:Secret::${secret}`)),
                    secret,
                );
            }
            const job = byName(run, "kubernetes:batch/v1:Job", "postgres-logins");
            const env = Object.fromEntries(
                job.inputs.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]),
            );
            assert.equal(env.WAIT_SECONDS, "600");
            assert.equal(job.inputs.spec.activeDeadlineSeconds, 1200);
        });

        // Before, the bundle went to Key Vault before the logins existed: any refresh of the app's ExternalSecret in
        // between handed pods a password the server did not accept yet.
        it("writes each application's bundle only after the login Job has completed", () => {
            for (const app of ["orders", "billing"]) {
                const bundle = byName(run, "azure-native:keyvault:Secret", `bundle-${app}`);
                assert.ok(
                    bundle.dependencies.some((d) => d.endsWith("batch/v1:Job::postgres-logins")),
                    app,
                );
            }
        });

        it("gives applications the server's host with sslmode=require (pooler port when PgBouncer is on)", () => {
            assert.match(run.outputs.postgresHost, /^dp-\w+-pg-[0-9a-f]{6}\.postgres\.database\.azure\.com$/);
        });
    });
}

for (const [stack, overrides] of [
    ["dev", {}],
    ["dev", DEV_AZURE],
    ["prod", {}],
    ["prod", PROD_STACKGRES],
] as const) {
    const cfg = parseStack(stack, overrides);
    const platform = cfg.cluster.platformNamespace;
    describe(`the admin password in the cluster, ${stack} stack, ${cfg.postgres.mode} (mock run)`, () => {
        let run: RunResult;
        before(async () => {
            run = await runStack(stack, overrides);
        });
        const templates = () =>
            run.resources.flatMap((r) => {
                const template = podTemplateOf(r.type, r.inputs);
                return template ? [{ r, secrets: secretsOf(template.spec) }] : [];
            });

        // Before, the Job ran as the namespace's `default` account, which anyone may bind rights to.
        it("runs the login Job as its own service account, with no API token, once the account exists", () => {
            const account = byName(run, "kubernetes:core/v1:ServiceAccount", "postgres-logins-sa");
            assert.deepEqual(
                [account.inputs.metadata.name, account.inputs.metadata.namespace],
                [DEFAULT_NAMES.logins, platform],
            );
            assert.equal(account.inputs.automountServiceAccountToken, false);
            const job = byName(run, "kubernetes:batch/v1:Job", "postgres-logins");
            const pod = job.inputs.spec.template.spec;
            assert.deepEqual([pod.serviceAccountName, pod.automountServiceAccountToken], [DEFAULT_NAMES.logins, false]);
            assert.ok(job.dependsOn.includes(account.urn));
            assert.deepEqual(
                templates()
                    .filter(({ r }) => r.inputs.spec?.template?.spec?.serviceAccountName === DEFAULT_NAMES.logins)
                    .map(({ r }) => r.urn),
                [job.urn],
            );
        });

        it("keeps the admin's password in platform Secrets from the platform's store; only the login Job's pod reads one", () => {
            const adminKey = byName(run, "azure-native:keyvault:Secret", `credentials-${PG_ADMIN_CREDENTIAL}-kv`).inputs
                .secretName;
            const holders = byType(run, "kubernetes:external-secrets.io/v1:ExternalSecret").filter((es) =>
                es.inputs.spec.data.some((d: any) => d.remoteRef.key === adminKey),
            );
            const store = byName(run, "kubernetes:external-secrets.io/v1:ClusterSecretStore", "secret-sync-store");
            assert.deepEqual(store.inputs.spec.conditions, [{ namespaces: [platform] }]);
            for (const es of holders) {
                assert.equal(es.inputs.metadata.namespace, platform, es.name);
                assert.deepEqual(es.inputs.spec.secretStoreRef, { kind: "ClusterSecretStore", name: STORE_NAME });
            }
            const sgCluster = run.resources.find((r) => r.type === "kubernetes:stackgres.io/v1:SGCluster");
            const superuserSecret = sgCluster?.inputs.spec.configurations.credentials.users.superuser.password.name;
            assert.deepEqual(
                holders.map((es) => es.inputs.spec.target.name).sort(),
                [DEFAULT_NAMES.logins, ...(superuserSecret ? [superuserSecret] : [])].sort(),
            );
            // The StackGres superuser's Secret goes to the operator through the SGCluster, to no pod template here.
            const job = byName(run, "kubernetes:batch/v1:Job", "postgres-logins");
            for (const es of holders) {
                const readers = templates().filter(({ secrets }) => secrets.has(es.inputs.spec.target.name));
                assert.deepEqual(
                    readers.map(({ r }) => r.urn),
                    es.inputs.spec.target.name === DEFAULT_NAMES.logins ? [job.urn] : [],
                );
            }
        });

        it("lets no one read Secrets or run pods in the platform namespace; each app namespace only its reader", () => {
            assert.deepEqual(grantsIn(toGraph(run), platform, SECRET_REVEALING), []);
            // Not vacuous: the same reading finds each application's own reader binding in its namespace.
            for (const app of cfg.apps) {
                assert.deepEqual(grantsIn(toGraph(run), app.namespace, SECRET_REVEALING), [
                    {
                        binding: `RoleBinding ${app.namespace}/${app.secretName}-reader`,
                        role: `Role ${app.secretName}-reader`,
                        subjects: app.serviceAccounts.map((sa) => `ServiceAccount ${app.namespace}/${sa}`),
                        granted: ["get/watch core/secrets"],
                    },
                ]);
            }
        });
    });
}

/** The recorded resources as the policy pack's graph helpers read them (their inputs). */
function toGraph(run: RunResult): GraphResource[] {
    return run.resources.map((r) => ({ type: r.type, name: r.name, props: r.inputs }));
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
        storedSecret: (secretName) => ({ vaultName: secretName }),
    },
    credentials: {
        password: (id) => pulumi.secret(testPassword(id)),
        secretName: (id) => id,
        previousPassword: (id) => pulumi.secret(testPassword(id)),
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
        const cfg = parseServer(stack, overrides);
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
                const azure = cfg.postgres.mode === "azure";
                const expected = postgresEnv(
                    {
                        host: env.DB_HOST,
                        port: azure ? AZURE_POSTGRES_PORT : STACKGRES_DIRECT_PORT,
                        poolerPort: Number(port),
                        sslMode: "require",
                        caCert: azure ? azureRootCertificates() : cfg.postgres.stackgres.tls?.caCert,
                    },
                    { database: app.database, user: app.database, password: testPassword(`pg-app-${app.name}`) },
                    app.poolSize,
                );
                assert.deepEqual(env, expected);
                const secret = run.outputSecretPaths
                    .filter((p) => p.startsWith(`env.${app.name}.`))
                    .map((p) => p.split(".").pop())
                    .sort();
                assert.deepEqual(secret, ["DATABASE_DIRECT_URL", "DATABASE_URL", "DB_PASSWORD", "PGPASSWORD"]);
            }
        });
    });
}
