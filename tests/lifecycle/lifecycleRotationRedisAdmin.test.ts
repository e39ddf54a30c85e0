/** Lifecycle scenario on real servers (prod, TLS): the Redis admin password rotated (see `rotationScenario`). */
import { rotationScenario } from "../support/lifecycle";

rotationScenario("the Redis admin password (redis-admin)", ["redis-admin"]);
