/**
 * Lifecycle scenarios on real servers (prod, TLS): settings changed, applied as `pulumi up` and Kubernetes would.
 */
import { strict as assert } from "assert";
import { assertNoFailures, baseline, change, redisSettings, stackVariant } from "../support/lifecycle";

describe("lifecycle on real servers: settings and certificates (prod)", function () {
    this.timeout(240_000);

    it("changing a Redis data setting (maxmemory) rolls the data pods one at a time without losing a write", async () => {
        const l = await change("prod", baseline("prod"), stackVariant("prod", redisSettings({ maxmemory: "512mb" })));
        assertNoFailures(l, "changing redis.maxmemory");
        assert.deepEqual(
            l.rolled("redis"),
            ["redis-2", "redis-1", "redis-0"],
            "the data pods rolled from the highest ordinal",
        );
    });

    it("changing a Sentinel-only setting (downAfterMilliseconds) does not roll the data pods", async () => {
        const l = await change(
            "prod",
            baseline("prod"),
            stackVariant("prod", redisSettings({ downAfterMilliseconds: 6000 })),
        );
        assert.deepEqual(
            l.rolled("redis"),
            [],
            `data pods rolled for a Sentinel-only change: ${l.rolled("redis").join(", ")}`,
        );
        assertNoFailures(l, "changing redis.downAfterMilliseconds");
    });

    it("changing PostgreSQL max_connections keeps every application connected", async () => {
        const l = await change(
            "prod",
            baseline("prod"),
            stackVariant("prod", (c) => {
                c["data-platform:postgres"].maxConnections = 900;
            }),
        );
        assertNoFailures(l, "changing postgres.maxConnections");
    });
});
