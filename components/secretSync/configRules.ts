/** Config rules of the synced Secrets: which Secret an application's ExternalSecret may write. */
import { defaultSecretName } from "../config/platform";
import { report } from "../config/issues";
import { type ConfigRule, PROJECT } from "../config/types";

/**
 * A Secret is adopted (`apps[].adoptSecret`, ESO `creationPolicy: Merge`) only when the application says so, and only
 * where one can exist: ESO's `Owner` policy takes over an existing Secret that has no ownerReference and clears its
 * other keys (external-secrets v2.9.0 `docs/guides/ownership-deletion-policy.md`; `ApplyTemplate` keeps them for
 * `Merge` only), and the program cannot see the cluster. A namespace the platform creates holds no Secret before it
 * (pulumi-kubernetes 4.29+ refuses to create an existing object), so there the question does not arise, and `Merge`
 * would wait for a Secret nothing creates. In a namespace that exists already (adopted, or imported with
 * `apps[].import: [namespace]`), a Secret name of the application's own is one a Secret may already have: it must say
 * which it is.
 */
export const appSecretRules: ConfigRule = (config, ctx) => {
    config.apps.forEach((app, i) => {
        const path = `${PROJECT}:apps[${i}].adoptSecret`;
        const existing = !app.createNamespace || (config.appImports[app.name] ?? []).includes("namespace");
        if (!existing && app.adoptSecret === true) {
            report(
                ctx,
                path,
                app.adoptSecret,
                `false or unset: namespace ${app.namespace} is created by the platform, so it holds no Secret to adopt ` +
                    "(External Secrets' creationPolicy Merge never creates one)",
            );
        }
        if (existing && app.adoptSecret === undefined && app.secretName !== defaultSecretName(app)) {
            report(
                ctx,
                path,
                app.adoptSecret,
                `true or false: namespace ${app.namespace} exists already and may hold a Secret ${app.secretName}; ` +
                    "true writes the contract into it and keeps its other keys (creationPolicy Merge: it must exist), " +
                    "false makes it the platform's own (an existing one would be taken over and lose its other keys)",
            );
        }
    });
};
