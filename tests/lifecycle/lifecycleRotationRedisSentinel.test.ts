/** Lifecycle scenario on real servers (prod, TLS): the Sentinel credentials rotated (see `rotationScenario`). */
import { rotationScenario } from "../support/lifecycle";

rotationScenario("the Sentinel credentials (redis-sentinel, redis-sentinel-auth)", [
    "redis-sentinel",
    "redis-sentinel-auth",
]);
