/** The seed applications' code as written, against `npm run sandbox -- --stack dev` with their stack-file entries. */
import { describeSeeds } from "../../support/seedRuns";

describeSeeds("dev");
