/**
 * Lifecycle scenario on real servers (prod, TLS): the replication password rotated. The users files reach the servers first (`redis-acl`,
 * both passwords accepted), the ACL sync Job waits until every server applied them, and only then does `redis-auth`
 * hand the new password to probes, preStop, replication and the Sentinels.
 */
import { rotationScenario } from "../support/lifecycle";

rotationScenario("the replication password (redis-replication)", ["redis-replication"]);
