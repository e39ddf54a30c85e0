/**
 * Lifecycle scenario on real servers (prod: Azure-like PostgreSQL, Sentinel Redis with TLS): an application added,
 * applied as `pulumi up`, ESO and the kubelet would (cli/lifecycle/harness.ts). Its Secret is written only after the
 * ACL sync Job saw every server accept its user, so it connects at once.
 */
import { strict as assert } from "assert";
import { assertNoFailures, baseline, change, scenario, stackVariant } from "../support/lifecycle";

scenario(
    "lifecycle on real servers: applications added and removed (prod)",
    "adding an application: it connects as soon as its Secret exists, and nothing restarts",
    async () => {
        const to = stackVariant("prod", (c) => {
            c["data-platform:apps"].push({
                name: "payments",
                namespace: "payments",
                redisDb: 4,
                poolSize: 5,
                replicas: 2,
            });
        });
        const l = await change("prod", baseline("prod"), to);
        assertNoFailures(l, "adding application payments");
        assert.deepEqual(
            [...l.rolled("redis"), ...l.rolled("redis-sentinel")],
            [],
            "adding an app restarted Redis pods",
        );
    },
);
