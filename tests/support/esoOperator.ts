/**
 * What External Secrets Operator would do with a run's recorded objects: read the Key Vault values the
 * program wrote and expand an ExternalSecret into the data of its target Secret.
 * Covers the subset of ESO v2.9 semantics the program uses (`data[]` with an optional top-level JSON
 * `property`, `dataFrom[].extract`, `target.template.data` rendered by a template engine, creation policies `Owner`,
 * `Orphan` and `Merge` over the Secret already there); anything else throws, so a new feature needs a new rule here.
 */
import type { RecordedResource, RunResult } from "../../offline/mockEngine";
import type { TemplateEngine } from "./esoTemplate";

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

/** What the target Secret holds before a sync, and the engine that renders `target.template` (esoTemplate.ts). */
export interface ExpandOptions {
    /** The Secret's data before the sync; unset: it does not exist. */
    readonly existing?: Readonly<Record<string, string>>;
    readonly templates?: TemplateEngine;
}

/**
 * The data of the Secret an ExternalSecret produces (before base64), from the vault's contents, in ESO's order
 * (external-secrets v2.9.0 `externalsecret_controller_template.go` `ApplyTemplate`): the Secret's own keys are kept
 * only with `creationPolicy: Merge` (which never creates one), the `data` keys go in when there is no template or its
 * `mergePolicy` is `Merge`, and the templated keys over them.
 */
export function expandExternalSecret(
    externalSecret: RecordedResource,
    vault: Map<string, string>,
    options: ExpandOptions = {},
): Record<string, string> {
    const spec = externalSecret.inputs.spec ?? {};
    const policy = spec.target?.creationPolicy ?? "Owner";
    if (!["Owner", "Orphan", "Merge"].includes(policy)) {
        throw new Error(`${externalSecret.name}: creationPolicy ${policy} is not simulated`);
    }
    if (policy === "Merge" && options.existing === undefined) {
        throw new Error(`${externalSecret.name}: creationPolicy Merge and no Secret to merge into (SecretMissing)`);
    }
    const data = fetchData(externalSecret, vault);
    const template = spec.target?.template;
    if (template === undefined) {
        return { ...(policy === "Merge" ? options.existing : {}), ...data };
    }
    const { engineVersion, mergePolicy, data: templates, ...rest } = template;
    if (engineVersion !== "v2" || Object.keys(rest).length > 0 || !templates) {
        throw new Error(
            `${externalSecret.name}: only target.template.{engineVersion v2, mergePolicy, data} is simulated`,
        );
    }
    if (!options.templates) {
        throw new Error(
            `${externalSecret.name}: target.template needs a template engine (tests/support/esoTemplate.ts)`,
        );
    }
    return {
        ...(policy === "Merge" ? options.existing : {}),
        ...(mergePolicy === "Merge" ? data : {}),
        ...options.templates(data, templates),
    };
}

/** The keys of `data[]` and `dataFrom[]`, as the provider gives them. */
function fetchData(externalSecret: RecordedResource, vault: Map<string, string>): Record<string, string> {
    const spec = externalSecret.inputs.spec ?? {};
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
