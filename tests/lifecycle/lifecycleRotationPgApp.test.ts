/** Lifecycle scenario on real servers (prod, TLS): an app's PostgreSQL password rotated (see `rotationScenario`). */
import { rotationScenario } from "../support/lifecycle";

rotationScenario("an application's PostgreSQL password", ["pg-app-orders"]);
