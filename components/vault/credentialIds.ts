/** The credential registry: every credential the platform generates, assembled from each service's own list. */
import type { PlatformConfig } from "../config/types";
import { postgresCredentialIds } from "../postgres/credentials";
import { redisCredentialIds } from "../redis/credentials";
import { credentialSecretName } from "./secretNames";

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
