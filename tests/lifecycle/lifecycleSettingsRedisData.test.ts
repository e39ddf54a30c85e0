/** Lifecycle scenario on real servers (prod, TLS): a Redis data setting changed, as Kubernetes would apply it. */
import { strict as assert } from "assert";
import { assertNoFailures, baseline, change, redisSettings, scenario, stackVariant } from "../support/lifecycle";

scenario(
    "lifecycle on real servers: settings changed (prod)",
    "changing a Redis data setting (maxmemory) rolls the data pods one at a time without losing a write",
    async () => {
        const l = await change("prod", baseline("prod"), stackVariant("prod", redisSettings({ maxmemory: "512mb" })));
        assertNoFailures(l, "changing redis.maxmemory");
        assert.deepEqual(
            l.rolled("redis"),
            ["redis-2", "redis-1", "redis-0"],
            "the data pods rolled from the highest ordinal",
        );
    },
);
