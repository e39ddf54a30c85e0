/**
 * Key Vault: the vault itself, the generated credentials stored in it, External Secrets' identity that reads it,
 * and the pure naming rules (secret names, the credential registry, role ids) they share.
 */
export * from "./configRules";
export * from "./credentialIds";
export * from "./credentials";
export * from "./identity";
export * from "./keyVault";
export * from "./roles";
export * from "./secretNames";
export * from "./vaultRef";
export * from "./workloadIdentity";
