/** The consumer matrix against the dev sandbox (StackGres-shaped PostgreSQL, standalone Redis). */
import { describeConsumerMatrix } from "../support/consumers";

describeConsumerMatrix("dev");
