/** The Pulumi program: validate the stack's configuration, then build its data platform. */
import { loadConfig } from "./components/config";
import { buildPlatform } from "./components/platform";

export = buildPlatform(loadConfig());
