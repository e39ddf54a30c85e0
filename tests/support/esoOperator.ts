/**
 * What External Secrets Operator would do with a run's recorded objects: read the Key Vault values the
 * program wrote and expand an ExternalSecret into the data of its target Secret.
 * Covers the subset of ESO v2.9 semantics the program uses (`data[]` with an optional top-level JSON
 * `property`, `dataFrom[].extract`); anything else throws, so a new feature needs a new rule here.
 */
import type { RecordedResource, RunResult } from "../../offline/mockEngine";

export const KEY_VAULT_SECRET = "azure-native:keyvault:Secret";
export const EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret";

/** Key Vault secret name (lower-cased: names are case-insensitive) -> value, from the run's `keyvault.Secret` inputs. */
export function vaultContents(result: RunResult): Map<string, string> {
    const vault = new Map<string, string>();
    for (const secret of result.resources.filter((r) => r.type === KEY_VAULT_SECRET)) {
        const name = String(secret.inputs.secretName).toLowerCase();
        if (vault.has(name)) {
            throw new Error(`Key Vault secret ${name} is written twice`);
        }
        vault.set(name, String(secret.inputs.properties?.value));
    }
    return vault;
}

/** ESO's Azure provider reads `secret/<name>` when the key has no object-type prefix. */
function vaultName(key: string): string {
    const [kind, name] = key.includes("/") ? key.split("/", 2) : ["secret", key];
    if (kind !== "secret") {
        throw new Error(`remoteRef.key ${key}: only Key Vault secrets are synced`);
    }
    return name.toLowerCase();
}

function fetch(vault: Map<string, string>, key: string): string {
    const value = vault.get(vaultName(key));
    if (value === undefined) {
        throw new Error(`Key Vault has no secret ${key} (SecretSyncedError)`);
    }
    return value;
}

function parseObject(key: string, text: string): Record<string, unknown> {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
        throw new Error(`Key Vault secret ${key} is not a JSON object`);
    }
    return parsed as Record<string, unknown>;
}

/** ESO writes strings as they are and other JSON values as their JSON text. */
function asText(value: unknown): string {
    return typeof value === "string" ? value : JSON.stringify(value);
}

/** The data of the Secret an ExternalSecret produces (before base64), from the vault's contents. */
export function expandExternalSecret(
    externalSecret: RecordedResource,
    vault: Map<string, string>,
): Record<string, string> {
    const spec = externalSecret.inputs.spec ?? {};
    if (spec.target?.template !== undefined) {
        throw new Error(`${externalSecret.name}: target.template is not simulated`);
    }
    const out: Record<string, string> = {};
    for (const entry of spec.dataFrom ?? []) {
        if (!entry.extract || Object.keys(entry).length !== 1) {
            throw new Error(`${externalSecret.name}: only dataFrom[].extract is simulated`);
        }
        const key: string = entry.extract.key;
        for (const [k, v] of Object.entries(parseObject(key, fetch(vault, key)))) {
            out[k] = asText(v);
        }
    }
    for (const entry of spec.data ?? []) {
        const { key, property } = entry.remoteRef as { key: string; property?: string };
        const value = fetch(vault, key);
        if (property === undefined) {
            out[entry.secretKey] = value;
            continue;
        }
        // gjson paths: the program only uses top-level names, which must then contain no path syntax.
        if (!/^[A-Za-z0-9_-]+$/.test(property)) {
            throw new Error(`${externalSecret.name}: property ${property} is not a plain top-level name`);
        }
        const object = parseObject(key, value);
        if (!(property in object)) {
            throw new Error(
                `${externalSecret.name}: Key Vault secret ${key} has no property ${property} (SecretSyncedError)`,
            );
        }
        out[entry.secretKey] = asText(object[property]);
    }
    return out;
}
