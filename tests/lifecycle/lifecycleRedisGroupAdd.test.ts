/** The scenario of a Redis group added to a running stack (tests/support/redisGroupScenarios.ts) on dev. */
import { redisGroupAddScenario } from "../support/redisGroupScenarios";

redisGroupAddScenario("dev");
