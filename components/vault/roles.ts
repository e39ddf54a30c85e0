/** Azure RBAC for the vault: built-in role ids and deterministic role-assignment names. */
import * as crypto from "crypto";

/** Built-in Azure role definitions (the GUIDs are the same in every tenant). */
export const KEY_VAULT_ROLES = {
    /** Read secret values: what External Secrets needs, granted per secret. */
    secretsUser: "4633458b-17de-408a-b874-0445c86b69e6",
} as const;

export function roleDefinitionId(subscriptionId: string, roleGuid: string): string {
    return `/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${roleGuid}`;
}

/**
 * A role assignment name (a GUID) determined by scope, principal and role, as Bicep's `guid()` does:
 * re-creating the same assignment is then an idempotent PUT instead of a `RoleAssignmentExists` conflict.
 */
/**
 * The scope of a role assignment on one secret: Key Vault RBAC accepts a single secret as scope
 * (learn.microsoft.com/azure/key-vault/general/rbac-guide, "Secret scope role assignment").
 */
export function secretScope(vaultId: string, vaultSecretName: string): string {
    return `${vaultId}/secrets/${vaultSecretName}`;
}

export function roleAssignmentName(scope: string, principalId: string, roleGuid: string): string {
    const h = crypto.createHash("sha1").update(`${scope.toLowerCase()}|${principalId}|${roleGuid}`).digest("hex");
    // RFC 4122 name-based layout: version 5, variant 10xx.
    const variant = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
