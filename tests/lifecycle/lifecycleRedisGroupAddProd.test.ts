/** The scenario of a Redis group added to a running stack (tests/support/redisGroupScenarios.ts) on prod. */
import { redisGroupAddScenario } from "../support/redisGroupScenarios";

redisGroupAddScenario("prod");
