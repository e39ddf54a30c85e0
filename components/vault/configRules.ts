/** Config rules of Key Vault that span several keys: network access and rotation ids. */
import { ConfigRule, PROJECT } from "../config/types";
import { report } from "../config/issues";
import { platformCredentialIds } from "./credentialIds";

export const keyVaultConfigRules: ConfigRule = (config, ctx) => {
    const path = `${PROJECT}:keyVault`;
    if (!config.keyVault.publicNetworkAccess && config.keyVault.allowedIpRanges.length > 0) {
        report(
            ctx,
            `${path}.allowedIpRanges`,
            config.keyVault.allowedIpRanges,
            "no ranges while publicNetworkAccess is false",
        );
    }
    if (!config.keyVault.existingVaultId && !config.keyVault.publicNetworkAccess && !config.keyVault.privateEndpoint) {
        report(
            ctx,
            `${path}.privateEndpoint`,
            undefined,
            "a private endpoint (subnetId, privateDnsZoneId) while publicNetworkAccess is false: External Secrets could not reach the vault otherwise",
        );
    }
    // A rotation under a mistyped id would silently rotate nothing.
    const ids = platformCredentialIds(config);
    for (const id of Object.keys(config.keyVault.rotations)) {
        if (!ids.includes(id)) {
            report(ctx, `${path}.rotations.${id} (key)`, id, `a credential id of this stack: ${ids.join(", ")}`);
        }
    }
};
