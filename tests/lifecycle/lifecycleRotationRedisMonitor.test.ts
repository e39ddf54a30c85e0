/** Lifecycle scenario on real servers (prod, TLS): the probes' and exporter's password rotated (`rotationScenario`). */
import { rotationScenario } from "../support/lifecycle";

rotationScenario("the probes' and exporter's password (redis-monitor)", ["redis-monitor"]);
