/** Names in the workload-identity federations between External Secrets' service accounts and their Azure identities. */

/** Audience Azure AD expects in a federated (workload identity) token exchange. */
export const TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange";

/** The user-assigned identity External Secrets authenticates as; derived from the vault name, so stable per stack. */
export function externalSecretsIdentityName(vaultName: string): string {
    return `${vaultName}-eso`;
}

/** The identity application `appName`'s store reads its bundle as; one per application, so stable per stack. */
export function appSecretsIdentityName(vaultName: string, appName: string): string {
    return `${vaultName}-eso-${appName}`;
}

/** `system:serviceaccount:<namespace>:<name>`, the subject of a Kubernetes service account token. */
export function serviceAccountSubject(namespace: string, serviceAccountName: string): string {
    return `system:serviceaccount:${namespace}:${serviceAccountName}`;
}

/**
 * The identity a backup CronJob uploads as: `<vault>-backup-<writer>`, the writer `app-<application>` or a Redis
 * group's prefix (`redis`, `redis-<group>`), so no two writers share one.
 */
export function backupIdentityName(vaultName: string, writer: string): string {
    return `${vaultName}-backup-${writer}`;
}
