/** The Pulumi program: validate the stack's configuration, then build its data platform, or a tenant stack's part. */
import { loadStack } from "./components/config";
import { buildPlatform } from "./components/platform";
import { buildTenant } from "./components/tenant";

const stack = loadStack();

export = stack.role === "platform" ? buildPlatform(stack.loaded) : buildTenant(stack.tenant, stack.kubeconfig);
