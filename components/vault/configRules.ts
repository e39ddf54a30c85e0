/**
 * Config rules of Key Vault that span several keys: network access, secret names in a shared vault, rotation ids, the
 * stack's tags (on every secret).
 */
import { ConfigRule, PROJECT } from "../config/types";
import { report } from "../config/issues";
import { platformCredentialIds } from "./credentialIds";

/** Tags a Key Vault secret may carry (MicrosoftDocs/azure-security-docs `articles/key-vault/secrets/about-secrets.md`). */
const MAX_SECRET_TAGS = 15;

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
    // A public vault denies everyone it does not list, External Secrets included: it calls from the cluster's egress.
    if (
        !config.keyVault.existingVaultId &&
        config.keyVault.publicNetworkAccess &&
        !config.keyVault.privateEndpoint &&
        config.cluster.egressIpRanges.length === 0
    ) {
        report(
            ctx,
            `${PROJECT}:cluster.egressIpRanges`,
            config.cluster.egressIpRanges,
            "the cluster's outbound addresses while keyVault.publicNetworkAccess is true and no keyVault.privateEndpoint is set: the vault firewall denies External Secrets otherwise (az aks show --query networkProfile.loadBalancerProfile.effectiveOutboundIPs)",
        );
    }
    // Secrets of stacks sharing a vault would overwrite each other under the same names.
    if (config.keyVault.existingVaultId && config.keyVault.secretPrefix === undefined) {
        report(
            ctx,
            `${path}.secretPrefix`,
            undefined,
            'a prefix unique to this stack among the users of keyVault.existingVaultId (e.g. the stack name); "" keeps unprefixed names, only for a stack that already uses that vault alone',
        );
    }
    // Every secret carries the stack's tags (components/vault/keyVault.ts): more would fail each secret's write.
    const tagCount = Object.keys(config.azure.tags).length;
    if (tagCount > MAX_SECRET_TAGS) {
        report(
            ctx,
            `${PROJECT}:azure.tags`,
            `${tagCount} tags`,
            `at most ${MAX_SECRET_TAGS} tags: Key Vault allows ${MAX_SECRET_TAGS} per secret and every secret carries the stack's tags`,
        );
    }
    // A rotation under a mistyped id would silently rotate nothing. A tenant stack reads its platform's rotations,
    // which name the platform's applications' credentials (checked there), not the tenant's.
    const ids = platformCredentialIds(config);
    for (const id of config.tenantStack === undefined ? Object.keys(config.keyVault.rotations) : []) {
        if (!ids.includes(id)) {
            report(ctx, `${path}.rotations.${id} (key)`, id, `a credential id of this stack: ${ids.join(", ")}`);
        }
    }
};
