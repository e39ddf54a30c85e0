/** The Redis move scenario (tests/support/redisGroupScenarios.ts) on dev: standalone groups, no TLS. */
import { redisMoveScenario } from "../support/redisGroupScenarios";

redisMoveScenario("dev");
