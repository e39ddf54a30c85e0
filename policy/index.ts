/**
 * The policy pack: `pulumi preview --policy-pack policy [--policy-pack-config <file>]`.
 * The only place that constructs the PolicyPack (its constructor reads package.json and starts the analyzer server).
 */
import { PolicyPack } from "@pulumi/policy";
import { PACK_NAME, allPolicies } from "./policies";

new PolicyPack(PACK_NAME, {
    description:
        "Guardrails of the data platform: pod security, credentials only through External Secrets, private and highly available data services in production.",
    policies: allPolicies,
});
