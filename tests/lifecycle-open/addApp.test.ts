/**
 * Open (issue 11): adding an application (prod). Its Secret gets its Redis password at once, Redis only after the
 * kubelet projected `redis-auth` and the reload sidecar applied it: WRONGPASS for about a minute. Run with
 * `npm run test:lifecycle-open`; CI does not run it until the bundle waits for Redis to accept the new user.
 */
import { strict as assert } from "assert";
import { assertNoFailures, baseline, change, stackVariant } from "../support/lifecycle";

describe("open: lifecycle on real servers, adding an application (prod)", function () {
    this.timeout(240_000);

    it("adding an application: it connects as soon as its Secret exists, and nothing restarts", async () => {
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
    });
});
