/** Key Vault secret names and content types of what the platform stores: one secret per credential, one bundle per app. */
import { KEY_VAULT_SECRET_NAME } from "../config/names";

/** `contentType` of a Key Vault secret holding one generated password. */
export const PASSWORD_CONTENT_TYPE = "text/plain";
/** `contentType` of a connection bundle (an application's whole environment as one JSON object). */
export const BUNDLE_CONTENT_TYPE = "application/json";

/** The Key Vault secret holding credential `id` (the id itself, checked against Key Vault's rule). */
export function credentialSecretName(id: string): string {
    return checkedSecretName(id);
}

/** The Key Vault secret holding application `appName`'s connection bundle. */
export function bundleSecretName(appName: string): string {
    return checkedSecretName(`app-${appName}-env`);
}

/**
 * The name `secretName` is stored under in the vault: `<prefix>-<secretName>`, or `secretName` itself with no prefix
 * (a vault this stack created holds only its own secrets, and existing stacks keep their names that way).
 */
export function prefixedSecretName(prefix: string, secretName: string): string {
    return checkedSecretName(prefix === "" ? secretName : `${prefix}-${secretName}`);
}

export function checkedSecretName(name: string): string {
    if (!KEY_VAULT_SECRET_NAME.test(name)) {
        throw new Error(`invalid Key Vault secret name ${JSON.stringify(name)}: 1-127 letters, digits and dashes`);
    }
    return name;
}
