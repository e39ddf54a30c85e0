/**
 * Lifecycle scenarios on real servers (prod, TLS): each credential kind rotated through `keyVault.rotations`, applied
 * as `pulumi up`, ESO and the kubelet would. A rotation must never hand out a password a server does not accept yet,
 * and a pod that still holds the previous one must keep connecting.
 */
import { assertNoFailures, baseline, change, rotate, stackVariant } from "../support/lifecycle";

const ROTATIONS: Array<{ what: string; ids: string[] }> = [
    { what: "an application's PostgreSQL password", ids: ["pg-app-orders"] },
    { what: "an application's Redis password", ids: ["redis-app-orders"] },
    { what: "the PostgreSQL admin password (pg-admin)", ids: ["pg-admin"] },
    { what: "the Redis admin password (redis-admin)", ids: ["redis-admin"] },
    { what: "the probes' and exporter's password (redis-monitor)", ids: ["redis-monitor"] },
    { what: "the replication password (redis-replication)", ids: ["redis-replication"] },
    {
        what: "the Sentinel credentials (redis-sentinel, redis-sentinel-auth)",
        ids: ["redis-sentinel", "redis-sentinel-auth"],
    },
];

describe("lifecycle on real servers: credential rotation (prod)", function () {
    this.timeout(240_000);

    for (const { what, ids } of ROTATIONS) {
        it(`rotating ${what} breaks no consumer`, async () => {
            const to = stackVariant("prod", (c) => ids.forEach((id) => rotate(id)(c)));
            const l = await change("prod", baseline("prod"), to);
            assertNoFailures(l, `rotating ${ids.join(", ")}`);
        });
    }
});
