/** Lifecycle scenario on real servers (prod, TLS): the replication password rotated (see `rotationScenario`). */
import { rotationScenario } from "../support/lifecycle";

rotationScenario("the replication password (redis-replication)", ["redis-replication"]);
