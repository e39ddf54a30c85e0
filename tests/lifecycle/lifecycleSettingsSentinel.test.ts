/** Lifecycle scenario on real servers (prod, TLS): a Sentinel-only setting changed, as Kubernetes would apply it. */
import { strict as assert } from "assert";
import { assertNoFailures, baseline, change, redisSettings, scenario, stackVariant } from "../support/lifecycle";

scenario(
    "lifecycle on real servers: settings changed (prod)",
    "changing a Sentinel-only setting (downAfterMilliseconds) does not roll the data pods",
    async () => {
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
    },
);
