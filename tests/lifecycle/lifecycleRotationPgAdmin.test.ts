/** Lifecycle scenario on real servers (prod, TLS): the PostgreSQL admin password rotated (see `rotationScenario`). */
import { rotationScenario } from "../support/lifecycle";

rotationScenario("the PostgreSQL admin password (pg-admin)", ["pg-admin"]);
