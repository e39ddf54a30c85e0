/** The consumer matrix against the prod sandbox (Azure-shaped PostgreSQL, Sentinel Redis with TLS). */
import { describeConsumerMatrix } from "../support/consumers";

describeConsumerMatrix("prod");
