/** An existing vault to adopt: its resource id, parsed, and why it may not be adoptable. */
import { KEY_VAULT_NAME } from "../config/names";

/** Name, resource group and subscription of a vault resource id. */
export interface VaultRef {
    readonly subscriptionId: string;
    readonly resourceGroupName: string;
    readonly vaultName: string;
}

export function parseVaultId(id: string): VaultRef {
    const match =
        /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.KeyVault\/vaults\/([^/]+)$/i.exec(
            id,
        );
    if (!match || !KEY_VAULT_NAME.test(match[3])) {
        throw new Error(`not a Key Vault resource id: ${id}`);
    }
    return { subscriptionId: match[1], resourceGroupName: match[2], vaultName: match[3] };
}

/**
 * Why an existing vault cannot be adopted, if it cannot: secrets are written through the provider's
 * subscription, and the role assignments grant nothing in a vault that uses access policies.
 */
export function adoptionProblem(
    ref: VaultRef,
    enableRbacAuthorization: boolean | undefined,
    deployingSubscriptionId: string,
): string | undefined {
    if (ref.subscriptionId.toLowerCase() !== deployingSubscriptionId.toLowerCase()) {
        return `keyVault.existingVaultId is in subscription ${ref.subscriptionId}, the Azure provider deploys to ${deployingSubscriptionId}`;
    }
    if (enableRbacAuthorization !== true) {
        return `Key Vault ${ref.vaultName} uses access policies; enable RBAC authorization on it (az keyvault update --enable-rbac-authorization true) before adopting it`;
    }
    return undefined;
}

/** The resource id of a vault (the inverse of `parseVaultId`). */
export function vaultId(ref: VaultRef): string {
    return `/subscriptions/${ref.subscriptionId}/resourceGroups/${ref.resourceGroupName}/providers/Microsoft.KeyVault/vaults/${ref.vaultName}`;
}

/** The resource id of a secret in the vault `vault` (a vault resource id): what `pulumi import` takes for it. */
export function vaultSecretId(vault: string, storedName: string): string {
    return `${vault}/secrets/${storedName}`;
}
