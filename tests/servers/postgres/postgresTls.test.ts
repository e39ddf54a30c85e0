/**
 * StackGres requires TLS: the rendered pg_hba rules, placed before the ones StackGres appends (as it does), refuse a
 * non-TLS connection from another address on real PostgreSQL 15 and 16, and accept it over TLS.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { Client } from "pg";
import { stackGresPgHba } from "../../../components/postgres/stackgresSpec";
import { parseStack } from "../../support/config";
import {
    LocalServer,
    connectFrom,
    serversByMajor,
    startLocalServer,
    superuserSql,
} from "../../../testbed/servers/postgres";

/**
 * The rules StackGres 1.18.6 appends after the user's (PatroniConfigEndpoints.getPatroniConfig), `replicator` being
 * its replication user: on their own they accept any address with or without TLS.
 */
const STACKGRES_APPENDED_HBA = [
    "local all all trust",
    "host all all 127.0.0.1/32 md5",
    "host all all ::1/128 md5",
    "local replication all trust",
    "host all all 0.0.0.0/0 md5",
    "host all all ::/0 md5",
    "host replication replicator 0.0.0.0/0 md5",
    "host replication replicator ::/0 md5",
];

/** A pod on another node, as pg_hba sees it: any address outside the server's loopback 127.0.0.1/32. */
const OTHER_POD = "127.0.0.2";

/** The rules rendered for dev's applications, and `legacy`, whose clients connect without TLS. */
const WITH_PLAIN_APP = stackGresPgHba([
    ...parseStack("dev").apps,
    { ...parseStack("dev").apps[0], name: "legacy", database: "legacy", postgres: { tls: false } },
]);

async function connect(
    server: LocalServer,
    from: string,
    tls: boolean,
    login = { user: "orders", database: "postgres" },
): Promise<string> {
    const client = new Client({
        host: "127.0.0.1",
        port: server.port,
        user: login.user,
        password: `${login.user}-password`,
        database: login.database,
        ssl: tls ? { ca: fs.readFileSync(server.caFile, "utf8") } : false,
        stream: () => connectFrom(from),
    });
    await client.connect();
    try {
        const { rows } = await client.query(
            "SELECT inet_client_addr()::text AS addr, (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS ssl",
        );
        return `${rows[0].addr} ssl=${rows[0].ssl}`;
    } finally {
        await client.end();
    }
}

for (const [version, bin] of serversByMajor()) {
    describe(`stackgres pg_hba against PostgreSQL ${version}`, function () {
        this.timeout(60000);
        const servers: LocalServer[] = [];
        const start = async (hba: readonly string[]) => {
            const server = await startLocalServer({ bin, hba: [...hba, ...STACKGRES_APPENDED_HBA] });
            servers.push(server);
            await superuserSql(server, "CREATE ROLE orders LOGIN PASSWORD 'orders-password'");
            return server;
        };
        after(async () => {
            for (const s of servers) {
                await s.stop();
            }
        });

        it("refuses a non-TLS connection from another address and accepts it over TLS", async () => {
            const server = await start(stackGresPgHba(parseStack("dev").apps));
            await assert.rejects(connect(server, OTHER_POD, false), /pg_hba\.conf rejects connection .*no encryption/);
            assert.equal(await connect(server, OTHER_POD, true), `${OTHER_POD}/32 ssl=true`);
            // The pod's own loopback (StackGres' sidecars) is not a network path and stays open.
            assert.equal(await connect(server, "127.0.0.1", false), "127.0.0.1/32 ssl=false");
        });

        it("admits an application without TLS (apps[].postgres.tls: false): its own logins, its own database, SCRAM; nobody else", async () => {
            const server = await start(WITH_PLAIN_APP);
            await superuserSql(
                server,
                "SET password_encryption = 'scram-sha-256'; CREATE ROLE legacy LOGIN PASSWORD 'legacy-password'; " +
                    "CREATE ROLE legacy_alt LOGIN PASSWORD 'legacy_alt-password';",
            );
            await superuserSql(server, "CREATE DATABASE legacy OWNER legacy");
            for (const user of ["legacy", "legacy_alt"]) {
                assert.equal(
                    await connect(server, OTHER_POD, false, { user, database: "legacy" }),
                    `${OTHER_POD}/32 ssl=false`,
                );
            }
            // Another database, another login: refused as before.
            await assert.rejects(
                connect(server, OTHER_POD, false, { user: "legacy", database: "postgres" }),
                /pg_hba\.conf rejects connection .*no encryption/,
            );
            await assert.rejects(
                connect(server, OTHER_POD, false, { user: "orders", database: "legacy" }),
                /pg_hba\.conf rejects connection .*no encryption/,
            );
        });

        it("takes the rules on a running server (Patroni reloads pg_hba): a TLS session stays, the plain login gets in", async () => {
            const before = stackGresPgHba(parseStack("dev").apps);
            const server = await start(before);
            await superuserSql(server, "CREATE ROLE legacy LOGIN PASSWORD 'legacy-password'");
            await superuserSql(server, "CREATE DATABASE legacy OWNER legacy");
            const session = new Client({
                host: "127.0.0.1",
                port: server.port,
                user: "orders",
                password: "orders-password",
                database: "postgres",
                ssl: { ca: fs.readFileSync(server.caFile, "utf8") },
                stream: () => connectFrom(OTHER_POD),
            });
            await session.connect();
            const legacy = { user: "legacy", database: "legacy" };
            await assert.rejects(connect(server, OTHER_POD, false, legacy), /no encryption/);
            // The file Patroni writes, then its reload (pg_ctl reload: SIGHUP).
            const hba = ["local all postgres trust", ...WITH_PLAIN_APP, ...STACKGRES_APPENDED_HBA, ""].join("\n");
            fs.writeFileSync(path.join(server.dir, "data", "pg_hba.conf"), hba);
            await superuserSql(server, "SELECT pg_reload_conf()");
            assert.equal(await connect(server, OTHER_POD, false, legacy), `${OTHER_POD}/32 ssl=false`);
            assert.equal((await session.query("SELECT 1 AS one")).rows[0].one, 1);
            await session.end();
        });

        // What StackGres does without our rules (the old rendering): the non-TLS connection is accepted.
        it("accepts that non-TLS connection with StackGres' rules alone", async () => {
            const server = await start([]);
            assert.equal(await connect(server, OTHER_POD, false), `${OTHER_POD}/32 ssl=false`);
        });
    });
}
