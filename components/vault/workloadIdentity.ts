/** Names in the workload-identity federation between External Secrets' service account and its Azure identity. */

/** Audience Azure AD expects in a federated (workload identity) token exchange. */
export const TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange";

/** The user-assigned identity External Secrets authenticates as; derived from the vault name, so stable per stack. */
export function externalSecretsIdentityName(vaultName: string): string {
    return `${vaultName}-eso`;
}

/** `system:serviceaccount:<namespace>:<name>`, the subject of a Kubernetes service account token. */
export function serviceAccountSubject(namespace: string, serviceAccountName: string): string {
    return `system:serviceaccount:${namespace}:${serviceAccountName}`;
}
