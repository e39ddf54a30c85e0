/** Lifecycle scenario on real servers (prod, TLS): an app's Redis password rotated (see `rotationScenario`). */
import { rotationScenario } from "../support/lifecycle";

rotationScenario("an application's Redis password", ["redis-app-orders"]);
