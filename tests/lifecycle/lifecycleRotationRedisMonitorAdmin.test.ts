/** Lifecycle scenario on real servers (prod, TLS): the monitor and admin passwords rotated in one change. */
import { rotationScenario } from "../support/lifecycle";

rotationScenario("the monitor's and the admin's passwords together (redis-monitor, redis-admin)", [
    "redis-monitor",
    "redis-admin",
]);
