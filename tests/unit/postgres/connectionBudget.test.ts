/**
 * Pooler-aware connection budgets (issue 26 item 4): the arithmetic with figures, the config's pooler settings and
 * errors, what is rendered, and 1,000 applications with 10 x 3 pools over three servers.
 */
import { strict as assert } from "assert";
import * as fc from "fast-check";
import type { PlatformConfig } from "../../../components/config/types";
import type { ConfigIssue } from "../../../components/config/issues";
import { postgresConfigRules } from "../../../components/postgres/configRules";
import { AZURE_PGBOUNCER_PORT, poolerLimits, poolerPort, serverConnections } from "../../../components/postgres/pooler";
import { postgresServerConfig, postgresServers } from "../../../components/postgres/servers";
import { serverParameters } from "../../../components/postgres/azureSpec";
import { stackGresManifests } from "../../../components/postgres/stackgresSpec";
import { appLogins } from "../../../components/postgres/sql";
import {
    AppConnections,
    POOLER_DEFAULTS,
    POOLER_USERS_PER_APP,
    RESERVED_CONNECTIONS,
    connectionBudget,
    poolCap,
    quotaBudget,
} from "../../../policy/lib/postgres";
import { parseServer, parseStack, problemLines, sectionOverride, stackConfig } from "../../support/config";
import { runStack } from "../../support/program";
import { runPolicies } from "../../support/policyHarness";
import { allPolicies } from "../../../policy/policies";

const AZURE = POOLER_DEFAULTS.azure;

describe("connection budget arithmetic", () => {
    it("caps an application's server connections at its two logins' pools, then max_user/max_db_connections", () => {
        assert.equal(poolCap(AZURE), 100, "Azure: 2 logins x default_pool_size 50");
        assert.equal(poolCap(POOLER_DEFAULTS.stackgres), 2000, "StackGres: 2 x 1000");
        const small = { ...AZURE, defaultPoolSize: 5, reservePoolSize: 2 };
        assert.equal(poolCap(small), 14, "2 x (5 + 2 reserve)");
        assert.equal(poolCap({ ...small, maxUserConnections: 6 }), 12, "max_user_connections 6 per login");
        assert.equal(poolCap({ ...small, maxDbConnections: 9 }), 9, "max_db_connections 9 for the database");
    });

    it("counts clients against max_client_conn, and min(clients, cap) + auth_query's pool + direct against max_connections", () => {
        const budget = connectionBudget({
            maxConnections: 200,
            reserved: 15,
            pooler: { ...AZURE, defaultPoolSize: 10, maxClientConnections: 150 },
            apps: [
                { name: "big", clients: 120, pooled: true, direct: 1 },
                { name: "small", clients: 6, pooled: true, direct: 2 },
                { name: "raw", clients: 30, pooled: false, direct: 1 },
            ],
            platform: [{ name: "postgres-logins", connections: 1 }],
        });
        // Clients: 120 + 6 (the unpooled one never reaches PgBouncer).
        assert.deepEqual(budget.client, {
            sum: 126,
            limit: 150,
            apps: [
                { name: "big", connections: 120 },
                { name: "small", connections: 6 },
            ],
            fixed: [],
        });
        // Server: big min(120, 2 x 10) + auth min(120, 10) + 1 = 31; small 6 + 6 + 2 = 14; raw 30 + 1 = 31; logins 1;
        // reserved 15.
        assert.equal(budget.server.sum, 31 + 14 + 31 + 1 + 15);
        assert.deepEqual(
            [...budget.server.apps, ...budget.server.fixed].map((l) => `${l.name} ${l.connections}`),
            ["big 31", "raw 31", "small 14", "postgres-logins 1", "reserved 15"],
        );
        assert.equal(budget.server.limit, 200);
        assert.equal(
            connectionBudget({ maxConnections: 10, reserved: 1, apps: [], platform: [] }).client,
            undefined,
            "no pooler, no client side",
        );
    });

    it("counts each application's two logins: the ones appLogins keeps", () => {
        const [app] = parseStack("dev").apps;
        assert.equal(appLogins([app])[0].logins.length, POOLER_USERS_PER_APP);
    });
});

describe("tenant quotas in the budget's terms", () => {
    const app = fc.record({
        name: fc.constantFrom("a", "b", "c", "d"),
        clients: fc.integer({ min: 1, max: 300 }),
        pooled: fc.boolean(),
        direct: fc.integer({ min: 1, max: 2 }),
    });
    const pooler = fc.option(
        fc.record({
            defaultPoolSize: fc.integer({ min: 1, max: 100 }),
            reservePoolSize: fc.integer({ min: 0, max: 5 }),
            maxClientConnections: fc.integer({ min: 1, max: 50000 }),
            maxDbConnections: fc.integer({ min: 0, max: 50 }),
            maxUserConnections: fc.integer({ min: 0, max: 50 }),
        }),
        { nil: undefined },
    );

    it("moving applications into a tenant stack whose quota is what quotaBudget counts leaves the server's budget unchanged (both sides)", () => {
        fc.assert(
            fc.property(
                fc.array(app, { maxLength: 8 }),
                fc.array(app, { minLength: 1, maxLength: 8 }),
                pooler,
                (own, tenant, limits) => {
                    // A pooled application needs the pooler; without one, none is.
                    const fix = (a: AppConnections): AppConnections => ({
                        ...a,
                        pooled: a.pooled && limits !== undefined,
                    });
                    const [ownApps, tenantApps] = [own.map(fix), tenant.map(fix)];
                    const server = { maxConnections: 5000, reserved: 15, pooler: limits, platform: [] };
                    const whole = connectionBudget({ ...server, apps: [...ownApps, ...tenantApps] });
                    const used = quotaBudget(tenantApps, limits, { clients: 0, connections: 0 });
                    const quota = {
                        name: "tenant stack t",
                        clients: used.client?.sum ?? 0,
                        connections: used.server.sum,
                    };
                    const split = connectionBudget({ ...server, apps: ownApps, quotas: [quota] });
                    assert.equal(split.server.sum, whole.server.sum);
                    assert.equal(split.client?.sum, whole.client?.sum);
                    // At that quota the tenant fits; one connection less on either side it does not.
                    const at = quotaBudget(tenantApps, limits, quota);
                    assert.ok(
                        at.server.sum <= at.server.limit &&
                            (at.client === undefined || at.client.sum <= at.client.limit),
                    );
                    assert.ok(
                        quotaBudget(tenantApps, limits, { ...quota, connections: quota.connections - 1 }).server.sum >
                            quota.connections - 1,
                    );
                },
            ),
            { numRuns: 300, seed: 26 },
        );
    });

    it("a tenant of 10 x 3 behind pools of 2 per login costs 7 server connections and 30 clients, each a line of its own", () => {
        const limits = { ...AZURE, defaultPoolSize: 2 };
        const tenant = quotaBudget([{ name: "shop", clients: 30, pooled: true, direct: 1 }], limits, {
            clients: 30,
            connections: 7,
        });
        assert.deepEqual([tenant.client?.sum, tenant.server.sum], [30, 7]);
        const budget = connectionBudget({
            maxConnections: 100,
            reserved: 15,
            pooler: limits,
            apps: [],
            platform: [{ name: "postgres-logins", connections: 1 }],
            quotas: [{ name: "tenant stack shop", clients: 30, connections: 7 }],
        });
        assert.deepEqual(budget.server.apps, [{ name: "tenant stack shop", connections: 7 }]);
        assert.deepEqual([budget.client?.sum, budget.server.sum], [30, 7 + 1 + 15]);
    });
});

describe("pooler settings in the config", () => {
    it("defaults to what each mode runs today, and renders nothing it did not render before", () => {
        const dev = parseServer("dev");
        assert.deepEqual(poolerLimits(dev.postgres), POOLER_DEFAULTS.stackgres);
        const prod = parseServer("prod");
        assert.deepEqual(poolerLimits(prod.postgres), POOLER_DEFAULTS.azure);
        assert.equal(poolerPort(prod.postgres), AZURE_PGBOUNCER_PORT);
        assert.ok(!serverParameters(prod).some((p) => /pool_size|max_client_conn/.test(p.name)));
        const ini = (c: typeof dev) =>
            (stackGresManifests(c).find((m) => m.kind === "SGPoolingConfig")!.spec as any).pgBouncer["pgbouncer.ini"]
                .pgbouncer;
        assert.deepEqual(Object.keys(ini(dev)), ["pool_mode", "max_prepared_statements", "client_tls_sslmode"]);
    });

    it("renders set limits into SGPoolingConfig's pgbouncer.ini and Azure's pgbouncer.* parameters", () => {
        const pooler = { defaultPoolSize: 5, reservePoolSize: 1, maxClientConnections: 3000, maxDbConnections: 8 };
        const dev = parseServer("dev", sectionOverride("dev", "postgres", { pooler }));
        const ini = (stackGresManifests(dev).find((m) => m.kind === "SGPoolingConfig")!.spec as any).pgBouncer[
            "pgbouncer.ini"
        ].pgbouncer;
        assert.deepEqual(
            {
                default_pool_size: ini.default_pool_size,
                reserve_pool_size: ini.reserve_pool_size,
                max_client_conn: ini.max_client_conn,
                max_db_connections: ini.max_db_connections,
            },
            { default_pool_size: "5", reserve_pool_size: "1", max_client_conn: "3000", max_db_connections: "8" },
        );
        assert.equal(ini.max_user_connections, undefined, "unset: StackGres' default, not rendered");
        assert.deepEqual(poolerLimits(dev.postgres), { ...POOLER_DEFAULTS.stackgres, ...pooler });
        const prod = parseServer(
            "prod",
            sectionOverride("prod", "postgres", { pooler: { defaultPoolSize: 5, maxClientConnections: 12000 } }),
        );
        const params = serverParameters(prod).filter((p) => /pool_size|max_client_conn/.test(p.name));
        assert.deepEqual(params, [
            { name: "pgbouncer.default_pool_size", value: "5" },
            { name: "pgbouncer.max_client_conn", value: "12000" },
        ]);
    });

    it("refuses pooler limits Azure's PgBouncer lacks, and any without a PgBouncer", () => {
        const lines = problemLines(
            "prod",
            sectionOverride("prod", "postgres", { pooler: { reservePoolSize: 2, maxUserConnections: 4 } }),
        );
        assert.deepEqual(lines, [
            "data-platform:postgres.pooler.reservePoolSize: given 2; allowed: unset: Azure's built-in PgBouncer has no pgbouncer.reserve_pool_size parameter (server-parameters-table-pgbouncer)",
            "data-platform:postgres.pooler.maxUserConnections: given 4; allowed: unset: Azure's built-in PgBouncer has no pgbouncer.max_user_connections parameter (server-parameters-table-pgbouncer)",
        ]);
        const prod = ownPostgres("prod");
        const noBouncer = problemLines("prod", {
            "data-platform:postgres": {
                ...prod,
                azure: { ...prod.azure, pgBouncer: false },
                pooler: { defaultPoolSize: 5 },
            },
        });
        assert.deepEqual(noBouncer, [
            "data-platform:postgres.pooler.defaultPoolSize: given 5; allowed: unset: the server has no PgBouncer (azure.pgBouncer is false)",
        ]);
        assert.match(
            problemLines("prod", sectionOverride("prod", "postgres", { pooler: { maxClientConnections: 50001 } }))[0],
            /^data-platform:postgres\.pooler\.maxClientConnections: given 50001; allowed: an integer from 1 to 50000/,
        );
    });

    it("names the client side's instance, sum, limit and applications, largest first", () => {
        // prod: orders 6 x 20, billing 3 x 10, search 4 x 10 = 190 clients into Azure's PgBouncer.
        const lines = problemLines(
            "prod",
            sectionOverride("prod", "postgres", { pooler: { maxClientConnections: 189 } }),
        );
        assert.deepEqual(lines, [
            "data-platform:postgres.pooler.maxClientConnections: given 189; allowed: at least 190: its applications open 190 client connections to PgBouncer (replicas x poolSize: orders 120, search 40, billing 30); raise pooler.maxClientConnections (Azure allows at most 50000), lower apps[].poolSize or apps[].replicas, or place applications on another server (postgres.servers)",
        ]);
    });

    it("names the server side's instance, sum, limit and what fills it, largest first", () => {
        // prod through PgBouncer: orders min(120, 2 x 50) + auth_query's pool min(120, 50) + 1 direct = 151, search
        // 40 + 40 + 1 = 81, billing 61; the login Job 1, the exporter 2, 15 reserved: 311.
        const prod = ownPostgres("prod");
        const withMax = (max: number) => ({ "data-platform:postgres": { ...prod, maxConnections: max } });
        assert.deepEqual(problemLines("prod", withMax(310)), [
            "data-platform:postgres.maxConnections: given 310; allowed: at least 311: 311 connections reach PostgreSQL: its applications' (through PgBouncer min(replicas x poolSize, its pools' cap) and auth_query's pool, else replicas x poolSize; plus their direct ones: orders 151, search 81, billing 61), the platform's and the reserved ones (postgres-logins 1, postgres-exporter 2, reserved 15); lower pooler.defaultPoolSize, apps[].poolSize or apps[].replicas, raise maxConnections, or place applications on another server (postgres.servers)",
        ]);
        assert.equal(parseStack("prod", withMax(311)).postgres.maxConnections, 311);
    });
});

/** The stack file's own `postgres` block. */
function ownPostgres(stack: string) {
    return JSON.parse(stackConfig(stack).config["data-platform:postgres"]);
}

describe("1,000 applications with 10 x 3 pools over three servers", () => {
    /** prod with servers b and c beside the default, each a Standard_D16ds_v5 (max_connections 5000) with PgBouncer. */
    function thousandApps(pooler: Record<string, number>): PlatformConfig {
        const own = ownPostgres("prod");
        // maxConnections unset: the SKU's own.
        const server = {
            ...own,
            maxConnections: undefined,
            azure: { ...own.azure, skuName: "Standard_D16ds_v5" },
            pooler,
        };
        const base = parseStack("prod", {
            "data-platform:postgres": { ...server, servers: { b: server, c: server } },
        });
        const template = base.apps[0];
        const names = ["default", "b", "c"];
        const apps = Array.from({ length: 1000 }, (_, i) => {
            const name = `app${String(i).padStart(4, "0")}`;
            const on = names[i % 3];
            return {
                ...template,
                name,
                namespace: name,
                database: name,
                secretName: `${name}-data`,
                replicas: 10,
                poolSize: 3,
                backup: undefined,
                postgres: on === "default" ? undefined : { server: on },
            };
        });
        return { ...base, apps };
    }

    function rulesOn(config: PlatformConfig): ConfigIssue[] {
        const ctx = { issues: [] as ConfigIssue[] };
        postgresConfigRules(config, ctx);
        return ctx.issues;
    }

    it("fit with PgBouncer's pools: per server 10,020 clients of 12,000 and 4,360 server connections of 5,000", () => {
        const config = thousandApps({ defaultPoolSize: 4, maxClientConnections: 12000 });
        assert.deepEqual(rulesOn(config), []);
        const figures = postgresServers(config.postgres).map((server) => {
            const { client, server: s } = connectionBudget(serverConnections(postgresServerConfig(config, server)));
            return `${server}: clients ${client!.sum}/${client!.limit}, server ${s.sum}/${s.limit}`;
        });
        // 334 (333) apps: clients 30 each; server min(30, 2 x 4) + auth_query's pool min(30, 4) + 1 migration = 13
        // each, + login Job 1, exporter 2, 15 reserved.
        assert.deepEqual(figures, [
            "default: clients 10020/12000, server 4360/5000",
            "b: clients 9990/12000, server 4347/5000",
            "c: clients 9990/12000, server 4347/5000",
        ]);
        assert.equal(334 * 13 + 1 + 2 + RESERVED_CONNECTIONS.azure, 4360);
    });

    it("are refused on every server with Azure's default pools, client and server side apart", () => {
        const issues = rulesOn(thousandApps({}));
        assert.deepEqual(
            issues.map((i) => `${i.path}: ${i.given} < ${/^at least (\d+)/.exec(i.allowed)![1]}`),
            [
                "data-platform:postgres.pooler.maxClientConnections: 5000 < 10020",
                "data-platform:postgres.maxConnections: 5000 < 20392",
                "data-platform:postgres.servers.b.pooler.maxClientConnections: 5000 < 9990",
                "data-platform:postgres.servers.b.maxConnections: 5000 < 20331",
                "data-platform:postgres.servers.c.pooler.maxClientConnections: 5000 < 9990",
                "data-platform:postgres.servers.c.maxConnections: 5000 < 20331",
            ],
        );
        assert.match(
            issues[0].allowed,
            /\(replicas x poolSize: app0000 30, app0003 30, app0006 30, app0009 30, app0012 30 and 329 more\)/,
        );
    });
});

describe("the budget policy computes what the config rule computes, from the recorded graph", function () {
    this.timeout(120_000);
    const own = ownPostgres("prod");
    const SERVER_LABEL = "data-platform.io/postgres-server";
    /** prod's own server with its pools set, an Azure server b with Azure's defaults, a StackGres server c. */
    const overrides = {
        "data-platform:postgres": {
            ...own,
            pooler: { defaultPoolSize: 10, maxClientConnections: 400 },
            servers: {
                b: { ...own, maxConnections: undefined },
                c: {
                    mode: "stackgres",
                    maxConnections: 300,
                    pooler: { defaultPoolSize: 8, reservePoolSize: 2, maxClientConnections: 250 },
                },
            },
        },
        "data-platform:apps": [
            ...JSON.parse(stackConfig("prod").config["data-platform:apps"]),
            ...["b", "c"].flatMap((server, s) =>
                [0, 1, 2].map((i) => ({
                    name: `${server}app${i}`,
                    namespace: `${server}app${i}`,
                    redisDb: 4 + s * 3 + i,
                    poolSize: 5 + i,
                    replicas: 4 + i,
                    postgres: { server },
                })),
            ),
        ],
    };
    const config = parseStack("prod", overrides);
    const budgets = postgresServers(config.postgres).map((server) => ({
        name: server,
        ...connectionBudget(serverConnections(postgresServerConfig(config, server))),
    }));
    const policy = allPolicies.filter((p) => p.name === "postgres-connection-budget");
    /** The policy's messages on the recorded plan with `change` applied to each resource's inputs and outputs. */
    const messages = async (change: (props: Record<string, any>, type: string) => void): Promise<string[]> => {
        const recorded = structuredClone(await runStack("prod", overrides));
        for (const r of recorded.resources) {
            change(r.inputs as Record<string, any>, r.type);
            change(r.outputs as Record<string, any>, r.type);
        }
        return (await runPolicies(policy, recorded)).violations.map((v) => v.message);
    };
    /** Whether a recorded resource is server `name`'s (its label, or its Azure server's name). */
    const isOn = (props: Record<string, any>, name: string) => {
        const label = props.metadata?.labels?.[SERVER_LABEL] ?? props.tags?.["data-platform-postgres-server"];
        const azureNamed = /-pg-([a-z0-9]+)-[0-9a-f]+$/.exec(props.serverName ?? "")?.[1];
        const named = label?.replace(/^postgres-/, "") ?? azureNamed;
        return (named ?? "default") === name;
    };

    it("passes the stack as planned: every server within both sides", async () => {
        // default (Azure, pools of 10): orders, search, billing min(clients, 20) + min(clients, 10) + 1 = 31 each, login
        // Job 1, exporter 2, 15 reserved = 111. b (Azure's pools of 50): 20 + 20 + 1, 30 + 30 + 1, 42 + 42 + 1, + 18 = 205.
        // c (StackGres, pools of 8 + 2): 20 + 10 + 1 each, login Job, 10 reserved = 104.
        assert.deepEqual(
            budgets.map((b) => `${b.name} ${b.client!.sum}/${b.client!.limit} ${b.server.sum}/${b.server.limit}`),
            ["default 190/400 111/859", "b 92/5000 205/1718", "c 92/250 104/300"],
        );
        assert.deepEqual(await messages(() => undefined), []);
    });

    it("reports each server's sides at the config rule's sums when its limits are one short", async () => {
        for (const budget of budgets) {
            const serverShort = String(budget.server.sum - 1);
            const clientShort = String(budget.client!.sum - 1);
            const found = await messages((p, type) => {
                if (!isOn(p, budget.name)) {
                    return;
                }
                if (type === "azure-native:dbforpostgresql:Configuration") {
                    if (p.configurationName === "max_connections") {
                        p.value = serverShort;
                    }
                    if (p.configurationName === "pgbouncer.max_client_conn") {
                        p.value = clientShort;
                    }
                }
                if (type === "kubernetes:stackgres.io/v1:SGPostgresConfig") {
                    p.spec["postgresql.conf"].max_connections = serverShort;
                }
                if (type === "kubernetes:stackgres.io/v1:SGPoolingConfig") {
                    p.spec.pgBouncer["pgbouncer.ini"].pgbouncer.max_client_conn = clientShort;
                }
            });
            const expected = [new RegExp(`^${budget.server.sum} connections reach .* but it allows ${serverShort} `)];
            // b runs Azure's default max_client_conn (nothing rendered to shorten).
            if (budget.name !== "b") {
                expected.unshift(
                    new RegExp(
                        `^Applications open ${budget.client!.sum} client connections .* max_client_conn is ${clientShort};`,
                    ),
                );
            }
            assert.equal(found.length, expected.length, `${budget.name}: ${found.join("\n")}`);
            expected.forEach((re, i) => assert.match(found[i], re));
        }
    });
});
