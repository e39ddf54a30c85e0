/** The credential registry: every credential the platform generates, assembled from each service's own list. */
import type { Rotation } from "../config/keyVault";
import type { PlatformConfig } from "../config/types";
import { SERVICES } from "../services";
import type { AppConfig } from "../config/platform";
import { bundleSecretName, credentialSecretName } from "./secretNames";

/**
 * Every credential the platform generates: the one place the per-service lists (each service module's
 * `credentials.ids`) are assembled.
 * Throws on a duplicate or an id that is not a valid Key Vault secret name.
 */
export function platformCredentialIds(config: PlatformConfig): string[] {
    const ids = SERVICES.flatMap((service) => service.credentials.ids(config));
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

/** The rotation value of each credential that has one, by its service's rotation policy (`credentials.rotations`). */
export function platformCredentialRotations(config: PlatformConfig): Record<string, Rotation> {
    const rotations: Record<string, Rotation> = {};
    for (const service of SERVICES) {
        const values = service.credentials.rotations?.(config) ?? config.keyVault.rotations;
        for (const id of service.credentials.ids(config)) {
            if (values[id] !== undefined) {
                rotations[id] = values[id];
            }
        }
    }
    return rotations;
}

/** The credentials whose previous password stays readable after a rotation (`credentials.keepPrevious`). */
export function platformKeepPrevious(config: PlatformConfig): string[] {
    return SERVICES.flatMap((service) => service.credentials.keepPrevious?.(config) ?? []);
}

/**
 * The Key Vault secrets (names before the stack's prefix) that exist because of application `app`: the credentials
 * it adds to the registry and its connection bundle. Each is retained when the application is removed, so re-adding
 * it must import them (`apps[].import: secrets`).
 */
export function appSecretNames(config: PlatformConfig, app: AppConfig): string[] {
    const without = new Set(platformCredentialIds({ ...config, apps: [] }));
    const ids = platformCredentialIds({ ...config, apps: [app] }).filter((id) => !without.has(id));
    return [...ids.map(credentialSecretName), bundleSecretName(app.name)];
}
