/**
 * The master endpoint on real servers: Debian's haproxy running the rendered haproxy.cfg (loopback addresses) in front
 * of the rendered prod Sentinel group, with the stack's own timers (down-after 5 s).
 */
import { strict as assert } from "assert";
import Redis from "ioredis";
import { ENDPOINT_CHECK_COMMANDS, ENDPOINT_PASSWORD_ENV } from "../../../components/redis/endpointConfig";
import { PRESTOP_WAIT_SECONDS, promisedFailoverSeconds } from "../../../components/redis/files";
import { waitFor } from "../../../testbed/servers/processes";
import { LOOPBACK, LocalRedisGroup } from "../../../testbed/servers/redis";
import { appClient, endpointClient, sentinelMaster } from "../../../testbed/servers/redisClients";
import { killMasterUnderWrites, rollingRestartUnderWrites } from "../../../testbed/servers/redisDrills";
import { waitHealthy } from "../../../testbed/servers/redisStack";
import { parseStack } from "../../support/config";
import { expectError, localGroup, withDiagnostics } from "../../support/redis";

const prod = parseStack("prod").redis;
const promise = promisedFailoverSeconds(prod);
/** The goal for a client of the endpoint: Sentinel's detection, and a second for the election and the endpoint's check. */
const GOAL_SECONDS = prod.downAfterMilliseconds / 1000 + 1;

/** `CLIENT INFO` as fields: who the server thinks the connection is. */
async function clientInfo(client: Redis): Promise<Record<string, string>> {
    const line = String(await client.call("CLIENT", "INFO")).trim();
    return Object.fromEntries(line.split(" ").map((field) => field.split("=", 2) as [string, string]));
}

/** With the endpoint's log and the group's, when `test` fails. */
function withEndpointLog(g: LocalRedisGroup, test: () => Promise<void>): Promise<void> {
    return withDiagnostics(g, test).catch((e: Error) => {
        throw new Error(`${e.message}\nmaster endpoint:\n${g.endpointLog().split("\n").slice(-30).join("\n")}`);
    });
}

describe("Redis master endpoint on real servers (rendered prod config, haproxy)", function () {
    this.timeout(240_000);

    it("sends in its health check only what the monitor user may run", async () => {
        const g = await localGroup("prod", { tls: false });
        try {
            g.startAll();
            await waitHealthy(g, 30_000);
            const password = g.options.passwords.monitor;
            for (const { send } of ENDPOINT_CHECK_COMMANDS) {
                const args = send.replace(`\${${ENDPOINT_PASSWORD_ENV}}`, password).split(" ");
                assert.equal(await g.command("data", 0, "ACL", "DRYRUN", "monitor", ...args), "OK", send);
            }
            // The same question refuses what the monitor user may not run (the check would fail with NOPERM).
            assert.match(
                String(await g.command("data", 0, "ACL", "DRYRUN", "monitor", "CONFIG", "GET", "x")),
                /no perm/,
            );
        } finally {
            await g.stop();
        }
    });

    for (const tls of [false, true]) {
        describe(`TLS ${tls ? "on" : "off"}`, () => {
            let g: LocalRedisGroup;
            before(async () => {
                g = await localGroup("prod", { tls });
                g.startAll();
            });
            after(() => g?.stop());

            it("reaches only the master; an application through it is the same ACL user, database and refusals as directly", () =>
                withEndpointLog(g, async () => {
                    const master = await waitHealthy(g, 30_000);
                    const env = g.env().billing;
                    assert.equal(env.REDIS_HOST, LOOPBACK);
                    assert.equal(Number(env.REDIS_PORT), g.layout.masterEndpoint?.port);
                    assert.equal(new URL(env.REDIS_URL).protocol, tls ? "rediss:" : "redis:");
                    const viaUrl = endpointClient(g, "billing");
                    // REDIS_HOST/REDIS_PORT with the user, password and database keys, as seed 001 configures its client.
                    const viaHost = new Redis({
                        host: env.REDIS_HOST,
                        port: Number(env.REDIS_PORT),
                        username: env.REDIS_USERNAME,
                        password: env.REDIS_PASSWORD,
                        db: Number(env.REDIS_DB),
                        tls: tls ? { ca: g.caCertificate() } : undefined,
                        lazyConnect: true,
                        maxRetriesPerRequest: 0,
                    });
                    const direct = appClient(g, "billing", master);
                    try {
                        await direct.connect();
                        await viaHost.connect();
                        const own = await clientInfo(direct);
                        for (const client of [viaUrl, viaHost]) {
                            const info = await clientInfo(client);
                            assert.equal(info.user, "billing");
                            assert.equal(info.user, own.user);
                            assert.equal(info.db, own.db);
                            // It reached the master's port (the connection's local address on the server).
                            assert.equal(info.laddr, `${LOOPBACK}:${g.port("data", master)}`);
                            assert.equal(await client.set("billing:endpoint", "1"), "OK");
                            await expectError(client.set("orders:endpoint", "1"), /NOPERM/);
                            await expectError(client.select(0), /NOPERM/);
                        }
                        await expectError(direct.set("orders:endpoint", "1"), /NOPERM/);
                        if (tls) {
                            // TLS ends at the data node: a client that does not speak it gets no answer through HAProxy.
                            const plain = new Redis({
                                host: LOOPBACK,
                                port: Number(env.REDIS_PORT),
                                lazyConnect: true,
                                maxRetriesPerRequest: 0,
                                retryStrategy: () => null,
                                connectTimeout: 1000,
                                commandTimeout: 1000,
                            });
                            plain.on("error", () => undefined);
                            await assert.rejects(plain.connect().then(() => plain.ping()));
                            plain.disconnect();
                        }
                    } finally {
                        viaUrl.disconnect();
                        viaHost.disconnect();
                        direct.disconnect();
                    }
                }));

            it("takes out a master with no replica online (it refuses writes; a replaced master has none), and back when one returns", () =>
                withEndpointLog(g, async () => {
                    const master = await waitHealthy(g, 30_000);
                    const replicas = g.layout.dataNodes.map((_, i) => i).filter((i) => i !== master);
                    for (const ordinal of replicas) {
                        await g.kill("data", ordinal);
                    }
                    await waitFor("the endpoint to take the master out", 10_000, async () =>
                        (await g.endpointReady()) ? undefined : true,
                    );
                    assert.equal(await g.role(master), "master", "still the master, alone");
                    for (const ordinal of replicas) {
                        g.start("data", ordinal);
                    }
                    assert.equal(await waitHealthy(g, 60_000), master);
                    assert.ok(await g.endpointReady());
                }));

            it(`keeps a client writing through kill -9 of the master (goal ${GOAL_SECONDS} s) and a rolling restart, losing no acknowledged write`, () =>
                withEndpointLog(g, async () => {
                    const killed = await killMasterUnderWrites(g, "orders", "orders:endpoint-kill", endpointClient);
                    console.log(
                        `      kill -9 -> first write accepted through the endpoint: ${killed.seconds.toFixed(2)} s (TLS ${tls}, goal ${GOAL_SECONDS} s), ${killed.lost} of ${killed.acknowledged} acknowledged lost`,
                    );
                    assert.equal(killed.lost, 0, `acknowledged writes lost: ${killed.lost} of ${killed.acknowledged}`);
                    assert.ok(
                        killed.seconds <= promise,
                        `first write after ${killed.seconds} s; promised ${promise} s`,
                    );
                    assert.ok(killed.acknowledged >= 20);

                    const rolled = await rollingRestartUnderWrites(g, "orders", "orders:endpoint-roll", endpointClient);
                    console.log(
                        `      rolling restart through the endpoint: longest pause ${rolled.pause.toFixed(2)} s, ${rolled.lost} of ${rolled.writes} acknowledged lost`,
                    );
                    assert.equal(
                        rolled.lost,
                        0,
                        `acknowledged writes lost: ${rolled.lost} of ${rolled.writes}\n${rolled.hooks.join("\n")}`,
                    );
                    // A hand-over ends within the preStop's deadline whatever Sentinel does (a failover it abandons is asked
                    // again; a full resync of the remaining replica holds writes for repl-diskless-sync-delay): longer,
                    // the endpoint did not follow.
                    assert.ok(
                        rolled.pause <= PRESTOP_WAIT_SECONDS,
                        `longest pause ${rolled.pause} s\n${rolled.hooks.join("\n")}`,
                    );
                    // Every data node restarted, and the endpoint reaches the master the Sentinels name.
                    const master = await waitHealthy(g, 30_000);
                    assert.equal(await sentinelMaster(g), master);
                    const client = endpointClient(g, "orders");
                    try {
                        assert.equal((await clientInfo(client)).laddr, `${LOOPBACK}:${g.port("data", master)}`);
                    } finally {
                        client.disconnect();
                    }
                }));
        });
    }
});
