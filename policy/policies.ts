/** Every policy of the pack, in one list: `index.ts` serves it, the tests run it under the mock engine. */
import type { Policies } from "@pulumi/policy";
import { azurePolicies } from "./rules/azure";
import { kubernetesPolicies } from "./rules/kubernetes";
import { secretAccessPolicies } from "./rules/secretAccess";
import { stackPolicies } from "./rules/stack";

export const PACK_NAME = "data-platform";

export const allPolicies: Policies = [
    ...kubernetesPolicies,
    ...azurePolicies,
    ...secretAccessPolicies,
    ...stackPolicies,
];
