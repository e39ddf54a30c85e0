/**
 * The connection budget against a real PgBouncer (Debian's) in front of PostgreSQL 15, set up as StackGres' sidecar
 * with the pgbouncer.ini the program renders: more clients than the pools hold run transactions, and what
 * `pg_stat_activity` shows on the server never exceeds the budget's server side (policy/lib/postgres.ts); a client
 * past `max_client_conn` is refused.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { stackGresManifests } from "../../../components/postgres/stackgresSpec";
import { poolerLimits } from "../../../components/postgres/pooler";
import { connectionBudget } from "../../../policy/lib/postgres";
import { LocalServer, TLS_ONLY_HBA, startLocalServer, superuserSql } from "../../../testbed/servers/postgres";
import { AUTH_USER, LocalPooler, startLocalPooler } from "../../../testbed/servers/pgbouncer";
import { LOOPBACK, Supervisor, sleep } from "../../../testbed/servers/processes";
import { parseServer, sectionOverride } from "../../support/config";

/** Two applications, each with its two logins (`<role>`, `<role>_alt`), and how many clients each login opens. */
const APPS = [
    { name: "orders", clients: { orders: 6, orders_alt: 6 } },
    { name: "billing", clients: { billing: 7 } },
] as const;
const PASSWORD = "pooler-test-password";
/** The pooler settings under test: pools far below the clients, and room for exactly the clients. */
const POOLER = { defaultPoolSize: 3, reservePoolSize: 1, maxClientConnections: 19 };

describe("PgBouncer in front of PostgreSQL: the connection budget holds", function () {
    this.timeout(60_000);
    const supervisor = new Supervisor(fs.mkdtempSync(path.join(os.tmpdir(), "dp-pooler-")));
    let server: LocalServer;
    let pooler: LocalPooler;
    const config = parseServer("dev", sectionOverride("dev", "postgres", { pooler: POOLER }));
    const ini = (stackGresManifests(config).find((m) => m.kind === "SGPoolingConfig")!.spec as any).pgBouncer[
        "pgbouncer.ini"
    ].pgbouncer as Record<string, string>;

    before(async () => {
        // PgBouncer reaches the server over its Unix socket, with the client's SCRAM keys (auth_query's secret).
        server = await startLocalServer({ maxConnections: 100, hba: ["local all all scram-sha-256", ...TLS_ONLY_HBA] });
        // As StackGres: the superuser `authenticator` PgBouncer looks passwords up as, each login owning its database.
        const logins = APPS.flatMap((a) => Object.keys(a.clients));
        await superuserSql(
            server,
            [
                `CREATE ROLE ${AUTH_USER} SUPERUSER LOGIN PASSWORD '${PASSWORD}'`,
                ...logins.map((l) => `CREATE ROLE ${l} LOGIN PASSWORD '${PASSWORD}'`),
            ].join(";"),
        );
        for (const app of APPS) {
            await superuserSql(server, `CREATE DATABASE ${app.name} OWNER ${app.name}`);
            await superuserSql(
                server,
                `GRANT ALL ON DATABASE ${app.name} TO ${app.name}_alt`.replace("billing_alt", "billing"),
            );
        }
        pooler = await startLocalPooler(supervisor, "pgbouncer", server, ini, PASSWORD);
    });
    after(async () => {
        await supervisor.stopAll();
        await server?.stop();
    });

    const connect = async (database: string, user: string) => {
        const client = new Client({
            host: LOOPBACK,
            port: pooler.port,
            database,
            user,
            password: PASSWORD,
            ssl: { ca: fs.readFileSync(server.caFile, "utf8") },
        });
        await client.connect();
        return client;
    };

    it("renders the pool limits it is given into the pgbouncer.ini PgBouncer runs", () => {
        assert.equal(ini.default_pool_size, "3");
        assert.equal(ini.reserve_pool_size, "1");
        assert.equal(ini.max_client_conn, "19");
        assert.equal(ini.pool_mode, "transaction");
    });

    it("holds server connections within the budget's server side while more clients than the pools run transactions", async () => {
        const limits = poolerLimits(config.postgres)!;
        const budget = connectionBudget({
            maxConnections: 100,
            reserved: 0,
            pooler: limits,
            apps: APPS.map((a) => ({
                name: a.name,
                clients: Object.values(a.clients).reduce((x, y) => x + y, 0),
                pooled: true,
                direct: 0,
            })),
            platform: [],
        });
        // orders: 12 clients, min(12, 2 x (3 + 1)) + auth_query's pool min(12, 3 + 1) = 12; billing: 7 + 4 = 11.
        assert.deepEqual(
            budget.server.apps.map((l) => `${l.name} ${l.connections}`),
            ["orders 12", "billing 11"],
        );
        const clients = await Promise.all(
            APPS.flatMap((a) =>
                Object.entries(a.clients).flatMap(([user, n]) =>
                    Array.from({ length: n }, () => connect(a.name, user)),
                ),
            ),
        );
        const observer = new Client({
            host: server.socketDir,
            port: server.port,
            user: "postgres",
            database: "postgres",
        });
        await observer.connect();
        const seen: Array<Record<string, number>> = [];
        let running = true;
        const watch = (async () => {
            while (running) {
                const { rows } = await observer.query(
                    "SELECT datname, usename, count(*)::int AS n FROM pg_stat_activity " +
                        "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() GROUP BY 1, 2",
                );
                seen.push(Object.fromEntries(rows.map((r) => [`${r.datname}/${r.usename}`, r.n])));
                await sleep(20);
            }
        })();
        try {
            // Every client runs transactions that hold their server connection, over and over, for 4 s.
            const until = Date.now() + 4000;
            await Promise.all(
                clients.map(async (client) => {
                    while (Date.now() < until) {
                        await client.query("BEGIN");
                        await client.query("SELECT pg_sleep(0.05)");
                        await client.query("COMMIT");
                    }
                }),
            );
        } finally {
            running = false;
            await watch;
            await Promise.all(clients.map((c) => c.end()));
            await observer.end();
        }
        const total = (s: Record<string, number>) => Object.values(s).reduce((x, y) => x + y, 0);
        const ofDb = (s: Record<string, number>, db: string) =>
            Object.entries(s)
                .filter(([k]) => k.startsWith(`${db}/`))
                .reduce((x, [, n]) => x + n, 0);
        const peak = Math.max(...seen.map(total));
        const peaks = Object.fromEntries(APPS.map((a) => [a.name, Math.max(...seen.map((s) => ofDb(s, a.name)))]));
        console.log(
            `      ${seen.length} samples; peak server connections ${peak} (budget ${budget.server.sum}), per database ${JSON.stringify(peaks)}`,
        );
        assert.ok(seen.length > 20, "sampled while the clients ran");
        assert.ok(peak <= budget.server.sum, `peak ${peak} above the budget's ${budget.server.sum}`);
        for (const line of budget.server.apps) {
            assert.ok(peaks[line.name] <= line.connections, `${line.name}: ${peaks[line.name]} > ${line.connections}`);
        }
        // The pools were full (so the bound is what held them, not idle clients): orders past one login's pool.
        assert.ok(peaks.orders > limits.defaultPoolSize + limits.reservePoolSize, `orders peaked at ${peaks.orders}`);
        // auth_query's own pool in each database: at most one pool, as the budget counts it.
        const auth = Object.fromEntries(
            APPS.map((a) => [a.name, Math.max(...seen.map((s) => s[`${a.name}/${AUTH_USER}`] ?? 0))]),
        );
        console.log(`      auth_query connections per database: ${JSON.stringify(auth)}`);
        for (const app of APPS) {
            assert.ok(
                auth[app.name] <= limits.defaultPoolSize + limits.reservePoolSize,
                `${app.name}: ${auth[app.name]}`,
            );
        }
    });

    it("refuses a client past max_client_conn, the client side's limit", async () => {
        const clients = await Promise.all(
            Array.from({ length: POOLER.maxClientConnections }, () => connect("billing", "billing")),
        );
        try {
            await assert.rejects(connect("billing", "billing"), /no more connections allowed \(max_client_conn\)/);
        } finally {
            await Promise.all(clients.map((c) => c.end()));
        }
    });
});

describe("PgBouncer's TLS requirement as rendered (apps[].postgres.tls)", function () {
    this.timeout(60_000);
    const supervisor = new Supervisor(fs.mkdtempSync(path.join(os.tmpdir(), "dp-pooler-tls-")));
    let server: LocalServer;
    const iniOf = (config: ReturnType<typeof parseServer>) =>
        (stackGresManifests(config).find((m) => m.kind === "SGPoolingConfig")!.spec as any).pgBouncer["pgbouncer.ini"]
            .pgbouncer as Record<string, string>;
    const apps = parseServer("dev").apps.map(({ name, namespace, redisDb }) => ({ name, namespace, redisDb }));
    const withPlainApp = parseServer("dev", {
        "data-platform:apps": [
            ...apps,
            { name: "legacy", namespace: "legacy", redisDb: 7, poolSize: 2, replicas: 1, postgres: { tls: false } },
        ],
    });

    before(async () => {
        server = await startLocalServer({ hba: ["local all all scram-sha-256", ...TLS_ONLY_HBA] });
        await superuserSql(server, `CREATE ROLE ${AUTH_USER} SUPERUSER LOGIN PASSWORD '${PASSWORD}'`);
        await superuserSql(server, `CREATE ROLE legacy LOGIN PASSWORD '${PASSWORD}'`);
        await superuserSql(server, "CREATE DATABASE legacy OWNER legacy");
    });
    after(async () => {
        await supervisor.stopAll();
        await server?.stop();
    });

    /** `legacy`'s client of `pooler`, over TLS (verifying the server) or plain. */
    const legacyClient = (pooler: LocalPooler, tls: boolean) =>
        new Client({
            host: LOOPBACK,
            port: pooler.port,
            database: "legacy",
            user: "legacy",
            password: PASSWORD,
            ssl: tls ? { ca: fs.readFileSync(server.caFile, "utf8") } : false,
        });
    const plainClient = (pooler: LocalPooler) => legacyClient(pooler, false);

    it("refuses a plain client while no application asks, and takes it once one does (TLS clients as before)", async () => {
        const strict = await startLocalPooler(supervisor, "strict", server, iniOf(parseServer("dev")), PASSWORD);
        // PgBouncer client_tls_sslmode=require: "SSL required" (its own refusal).
        await assert.rejects(plainClient(strict).connect(), /SSL required/);
        const open = await startLocalPooler(supervisor, "open", server, iniOf(withPlainApp), PASSWORD);
        const client = plainClient(open);
        await client.connect();
        assert.equal((await client.query("select current_user as u")).rows[0].u, "legacy");
        await client.end();
        const tls = legacyClient(open, true);
        await tls.connect();
        await tls.end();
    });

    it("takes the change on a running PgBouncer (reload): a TLS client's connection stays, and a plain one is let in", async () => {
        const pooler = await startLocalPooler(supervisor, "changing", server, iniOf(parseServer("dev")), PASSWORD);
        const tls = legacyClient(pooler, true);
        await tls.connect();
        await assert.rejects(plainClient(pooler).connect(), /SSL required/);
        await pooler.reload(iniOf(withPlainApp));
        const plain = plainClient(pooler);
        await plain.connect();
        assert.equal((await plain.query("select 1 as one")).rows[0].one, 1);
        await plain.end();
        // The connection made before the reload, over TLS, is the same one and still serves.
        assert.equal((await tls.query("select 2 as two")).rows[0].two, 2);
        await tls.end();
    });
});
