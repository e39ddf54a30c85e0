/**
 * A Sentinel-aware client (ioredis) configured only from the contract follows a failover, without and with TLS.
 * Stack timers (see redisVolumeLost.test.ts for why down-after is not shortened).
 */
import { strict as assert } from "assert";
import Redis from "ioredis";
import { promisedFailoverSeconds } from "../../../components/redis/files";
import { waitFor } from "../../../testbed/servers/processes";
import { LocalRedisGroup } from "../../../testbed/servers/redis";
import { waitHealthy } from "../../../testbed/servers/redisStack";
import { contractSentinelOptions, sentinelMaster } from "../../../testbed/servers/redisClients";
import { parseStack } from "../../support/config";
import { localGroup } from "../../support/redis";

const promise = promisedFailoverSeconds(parseStack("prod").redis);

describe("Redis Sentinel group on real servers (rendered prod config)", function () {
    this.timeout(90_000);

    for (const tls of [false, true]) {
        describe(`a Sentinel-aware client (ioredis) configured only from the contract, TLS ${tls ? "on" : "off"}`, () => {
            let g: LocalRedisGroup;
            before(async () => {
                g = await localGroup("prod", { tls });
            });
            after(() => g?.stop());

            it("follows a failover to the new master", async () => {
                g.startAll();
                const first = await waitHealthy(g, 30_000);
                const env = g.env().billing;
                assert.equal(env.REDIS_TLS, String(tls));
                // Only contract values (plus the CA the application trusts).
                const client = new Redis({
                    ...contractSentinelOptions(env, () => g.caCertificate()),
                    maxRetriesPerRequest: 1,
                    retryStrategy: () => 200,
                });
                client.on("error", () => undefined);
                try {
                    assert.equal(await client.set("billing:before", "1"), "OK");
                    // Acknowledged by a replica, so it must survive the failover.
                    assert.ok(Number(await client.call("WAIT", "1", "2000")) >= 1);
                    const killedAt = Date.now();
                    await g.kill("data", first);
                    let lastError = "";
                    const seconds = await waitFor(
                        "a write through the client after the failover",
                        promise * 1000 + 10_000,
                        async () => {
                            try {
                                await client.set("billing:after", "2");
                                const role = (await client.call("ROLE")) as string[];
                                return role[0] === "master" && (await sentinelMaster(g)) !== first
                                    ? (Date.now() - killedAt) / 1000
                                    : undefined;
                            } catch (e) {
                                lastError = String(e);
                                return undefined;
                            }
                        },
                        100,
                    ).catch((e: Error) => {
                        throw new Error(`${e.message}; last client error: ${lastError}`);
                    });
                    assert.ok(seconds <= promise + 2, `client wrote again after ${seconds} s`);
                    assert.equal(await client.get("billing:before"), "1");
                    assert.equal(await client.get("billing:after"), "2");
                } finally {
                    client.disconnect();
                }
            });
        });
    }
});
