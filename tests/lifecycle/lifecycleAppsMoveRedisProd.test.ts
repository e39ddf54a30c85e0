/** The Redis move scenario (tests/support/redisGroupScenarios.ts) on prod: Sentinel groups with TLS. */
import { redisMoveScenario } from "../support/redisGroupScenarios";

redisMoveScenario("prod");
