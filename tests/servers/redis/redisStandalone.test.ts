/** The rendered dev (standalone) Redis on a real redis-server: applications through REDIS_URL only. */
import { strict as assert } from "assert";
import Redis from "ioredis";
import { waitFor } from "../../../testbed/servers/processes";
import { LocalRedisGroup } from "../../../testbed/servers/redis";
import { parseStack } from "../../support/config";
import { expectError, localGroup } from "../../support/redis";

describe("standalone Redis on a real server (rendered dev config)", function () {
    this.timeout(30_000);
    const dev = parseStack("dev");
    let g: LocalRedisGroup;
    before(async () => {
        g = await localGroup("dev");
    });
    after(() => g?.stop());

    it("serves each application through REDIS_URL only, in its own database", async () => {
        g.startAll();
        await waitFor("the standalone master", 10_000, async () =>
            (await g.masters()).length === 1 ? true : undefined,
        );
        const env = g.env().billing;
        const billingDb = dev.apps.find((a) => a.name === "billing")!.redisDb;
        assert.match(
            env.REDIS_URL,
            new RegExp(`^redis://billing:[^@]*%[0-9A-F]{2}[^@]*@127\\.0\\.0\\.1:${g.port("data", 0)}/${billingDb}$`),
        );
        const client = new Redis(env.REDIS_URL, { lazyConnect: true, retryStrategy: () => null });
        client.on("error", () => undefined);
        try {
            await client.connect();
            assert.equal(await client.set("billing:x", "1"), "OK");
            await expectError(client.set("orders:x", "1"), /NOPERM/);
            // Writes are not held back waiting for replicas that standalone mode does not have.
            assert.equal(await client.call("CONFIG", "GET", "min-replicas-to-write").catch(() => "denied"), "denied");
        } finally {
            client.disconnect();
        }
        assert.equal(
            await g.command("data", 0, "CONFIG", "GET", "min-replicas-to-write").then((r) => (r as string[])[1]),
            "0",
        );
    });
});
