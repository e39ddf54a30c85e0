/** The sandbox's startRedis from a stack's mock run: each application's contract works against it. */
import { strict as assert } from "assert";
import * as fs from "fs";
import Redis from "ioredis";
import { startRedis } from "../../../testbed/servers/redisStack";
import { contractSentinelOptions } from "../../../testbed/servers/redisClients";
import { parseStack } from "../../support/config";
import { byType, runStack } from "../../support/program";

describe("sandbox: startRedis from a stack's mock run", function () {
    this.timeout(60_000);

    for (const stack of ["dev", "prod"]) {
        it(`starts ${stack}'s Redis on loopback with each application's contract`, async () => {
            const run = await runStack(stack);
            const config = parseStack(stack);
            const passwords = Object.fromEntries(
                byType(run, "random:index/randomPassword:RandomPassword").map((r) => [
                    r.name.replace(/^credentials-/, ""),
                    String(r.outputs.result),
                ]),
            );
            const started = await startRedis({ run, apps: config.apps, passwords });
            try {
                const expected = config.redis.mode === "sentinel" ? config.redis.replicas + config.redis.sentinels : 1;
                assert.equal(started.processes.length, expected);
                assert.ok(started.processes.every((p) => p.pid > 0 && p.port > 0));
                const env = started.env[config.apps[0].name];
                const client = env.REDIS_SENTINEL_HOSTS
                    ? new Redis({
                          ...contractSentinelOptions(env, () =>
                              fs.readFileSync(started.tlsCaFiles[config.apps[0].name]),
                          ),
                          lazyConnect: true,
                          retryStrategy: () => null,
                      })
                    : new Redis(env.REDIS_URL, { lazyConnect: true, retryStrategy: () => null });
                client.on("error", () => undefined);
                await client.connect();
                assert.equal(await client.set(`${config.apps[0].name}:sandbox`, "1"), "OK");
                client.disconnect();
            } finally {
                await started.stop();
            }
            assert.throws(() => process.kill(started.processes[0].pid, 0));
        });
    }
});
