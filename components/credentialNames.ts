/**
 * Pure naming for credentials and Key Vault: which credentials the platform needs, the Key Vault
 * secret names they and the per-application connection bundles live under, and the Azure RBAC ids.
 * No resource code here, so config checks, components and tests share exactly these rules.
 */
import * as crypto from "crypto";
import type { PlatformConfig } from "./config";
import { KEY_VAULT_NAME, KEY_VAULT_SECRET_NAME } from "./config/names";
import { postgresCredentialIds } from "./postgres/credentials";
import { redisCredentialIds } from "./redis/credentials";

// Per-application ids, owned by each service, re-exported for consumers of the whole registry.
export { pgAppCredentialId } from "./postgres/credentials";
export { redisAppCredentialId } from "./redis/credentials";

/** `contentType` of a Key Vault secret holding one generated password. */
export const PASSWORD_CONTENT_TYPE = "text/plain";
/** `contentType` of a connection bundle (an application's whole environment as one JSON object). */
export const BUNDLE_CONTENT_TYPE = "application/json";

/** Built-in Azure role definitions (the GUIDs are the same in every tenant). */
export const KEY_VAULT_ROLES = {
    /** Read secret values: what External Secrets needs. */
    secretsUser: "4633458b-17de-408a-b874-0445c86b69e6",
    /** Create, update and delete secrets: what the deploying principal needs. */
    secretsOfficer: "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
} as const;

/** Audience Azure AD expects in a federated (workload identity) token exchange. */
export const TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange";

/**
 * Every credential the platform generates: the one place the per-service lists (each service's own pure
 * `credentials.ts`) are assembled.
 * Throws on a duplicate or an id that is not a valid Key Vault secret name.
 */
export function platformCredentialIds(config: PlatformConfig): string[] {
    const ids = [...postgresCredentialIds(config), ...redisCredentialIds(config)];
    const seen = new Set<string>();
    for (const id of ids) {
        credentialSecretName(id);
        if (seen.has(id)) {
            throw new Error(`credential id ${id} is declared twice`);
        }
        seen.add(id);
    }
    return ids;
}

/** The Key Vault secret holding credential `id` (the id itself, checked against Key Vault's rule). */
export function credentialSecretName(id: string): string {
    return checkedSecretName(id);
}

/** The Key Vault secret holding application `appName`'s connection bundle. */
export function bundleSecretName(appName: string): string {
    return checkedSecretName(`app-${appName}-env`);
}

export function checkedSecretName(name: string): string {
    if (!KEY_VAULT_SECRET_NAME.test(name)) {
        throw new Error(`invalid Key Vault secret name ${JSON.stringify(name)}: 1-127 letters, digits and dashes`);
    }
    return name;
}

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

/** The user-assigned identity External Secrets authenticates as; derived from the vault name, so stable per stack. */
export function externalSecretsIdentityName(vaultName: string): string {
    return `${vaultName}-eso`;
}

/** `system:serviceaccount:<namespace>:<name>`, the subject of a Kubernetes service account token. */
export function serviceAccountSubject(namespace: string, serviceAccountName: string): string {
    return `system:serviceaccount:${namespace}:${serviceAccountName}`;
}

export function roleDefinitionId(subscriptionId: string, roleGuid: string): string {
    return `/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${roleGuid}`;
}

/**
 * A role assignment name (a GUID) determined by scope, principal and role, as Bicep's `guid()` does:
 * re-creating the same assignment is then an idempotent PUT instead of a `RoleAssignmentExists` conflict.
 */
export function roleAssignmentName(scope: string, principalId: string, roleGuid: string): string {
    const h = crypto.createHash("sha1").update(`${scope.toLowerCase()}|${principalId}|${roleGuid}`).digest("hex");
    // RFC 4122 name-based layout: version 5, variant 10xx.
    const variant = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
