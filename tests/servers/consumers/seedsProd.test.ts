/** The seed applications' code as written, against `npm run sandbox -- --stack prod` with their stack-file entries. */
import { describeSeeds } from "../../support/seedRuns";

describeSeeds("prod");
