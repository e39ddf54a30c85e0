/**
 * Lifecycle scenario on real servers (prod: Azure-like PostgreSQL, Sentinel Redis with TLS): an application removed,
 * applied as `pulumi up`, ESO and the kubelet would (cli/lifecycle/harness.ts).
 */
import { strict as assert } from "assert";
import { assertNoFailures, baseline, change, scenario, stackVariant } from "../support/lifecycle";

scenario(
    "lifecycle on real servers: applications added and removed (prod)",
    "removing an application: the others keep working and nothing restarts",
    async () => {
        const to = stackVariant("prod", (c) => {
            c["data-platform:apps"] = c["data-platform:apps"].filter((a: { name: string }) => a.name !== "search");
        });
        const l = await change("prod", baseline("prod"), to);
        assertNoFailures(l, "removing application search");
        assert.deepEqual(
            [...l.rolled("redis"), ...l.rolled("redis-sentinel")],
            [],
            "removing an app restarted Redis pods",
        );
    },
);
