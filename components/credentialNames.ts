/**
 * Pure naming for credentials and Key Vault: which credentials the platform needs, the Key Vault
 * secret names they and the per-application connection bundles live under, and the Azure RBAC ids.
 * No resource code here, so config checks, components and tests share exactly these rules.
 */
import * as crypto from "crypto";
import type { PlatformConfig } from "./config";
import { KEY_VAULT_NAME, KEY_VAULT_SECRET_NAME } from "./config/names";

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

/** PostgreSQL login of one application. */
export function pgAppCredentialId(appName: string): string {
    return `pg-app-${appName}`;
}

/** Redis ACL user of one application. */
export function redisAppCredentialId(appName: string): string {
    return `redis-app-${appName}`;
}

/** Credentials the PostgreSQL service needs: the admin, StackGres' internal roles, one login per application. */
export function postgresCredentialIds(config: PlatformConfig): string[] {
    const internal = config.postgres.mode === "stackgres" ? ["pg-replication", "pg-authenticator"] : [];
    return ["pg-admin", ...internal, ...config.apps.map((a) => pgAppCredentialId(a.name))];
}

/** Credentials the Redis service needs: one ACL user per role, Sentinel's own password, one user per application. */
export function redisCredentialIds(config: PlatformConfig): string[] {
    const sentinel = config.redis.mode === "sentinel" ? ["redis-replication", "redis-sentinel", "redis-sentinel-auth"] : [];
    const exporter = config.redis.monitoring ? ["redis-exporter"] : [];
    return ["redis-admin", "redis-monitor", ...sentinel, ...exporter, ...config.apps.map((a) => redisAppCredentialId(a.name))];
}

/**
 * Every credential the platform generates: the one place the per-service lists are assembled.
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
    const match = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.KeyVault\/vaults\/([^/]+)$/i.exec(id);
    if (!match || !KEY_VAULT_NAME.test(match[3])) {
        throw new Error(`not a Key Vault resource id: ${id}`);
    }
    return { subscriptionId: match[1], resourceGroupName: match[2], vaultName: match[3] };
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
