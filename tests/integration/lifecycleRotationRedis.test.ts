/**
 * Lifecycle scenarios on real servers (prod, TLS): the platform's Redis credentials rotated. The users files reach the
 * servers first (`redis-acl`, both passwords accepted), the ACL sync Job waits until every server applied them, and
 * only then does `redis-auth` hand the new password to probes, preStop, replication and the Sentinels.
 */
import { rotationScenarios } from "../support/lifecycle";

rotationScenarios("lifecycle on real servers: Redis platform credential rotation (prod)", [
    { what: "the Redis admin password (redis-admin)", ids: ["redis-admin"] },
    { what: "the probes' and exporter's password (redis-monitor)", ids: ["redis-monitor"] },
    { what: "the replication password (redis-replication)", ids: ["redis-replication"] },
    {
        what: "the Sentinel credentials (redis-sentinel, redis-sentinel-auth)",
        ids: ["redis-sentinel", "redis-sentinel-auth"],
    },
]);
