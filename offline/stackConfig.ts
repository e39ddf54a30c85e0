/**
 * Reads a stack's configuration the way the Pulumi CLI hands it to a program: project defaults from
 * `Pulumi.yaml`, then `Pulumi.<stack>.yaml`, objects JSON-encoded, `secure:` values marked secret.
 * Encrypted values cannot be decrypted without the CLI, so they are replaced by realistic stand-ins.
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { mockKubeconfig } from "./answers";

export interface StackConfig {
    readonly config: Record<string, string>;
    readonly secretKeys: string[];
}

export const ROOT = path.resolve(__dirname, "..");

/** Stand-ins for encrypted values, by key. */
const SECURE_STAND_INS: Record<string, string> = {
    "data-platform:kubeconfig": mockKubeconfig("aks-from-kubeconfig"),
};

export function stackFile(stack: string): string {
    return path.join(ROOT, `Pulumi.${stack}.yaml`);
}

/** Loads `Pulumi.<stack>.yaml` (or `file`, shaped like one) with the project's config defaults. */
export function loadStackConfig(stack: string, file: string = stackFile(stack)): StackConfig {
    const project = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) ?? {};
    const stackDoc = YAML.parse(fs.readFileSync(file, "utf8")) ?? {};
    const config: Record<string, string> = {};
    const secretKeys: string[] = [];
    for (const [key, spec] of Object.entries<any>(project.config ?? {})) {
        const value = spec !== null && typeof spec === "object" && "value" in spec ? spec.value : spec;
        config[key] = encode(value);
    }
    return mergeConfig({ config, secretKeys }, stackDoc.config ?? {});
}

/** Adds `values` (a stack file's `config:` block) to `base`. */
export function mergeConfig(base: StackConfig, values: Record<string, unknown>): StackConfig {
    const config = { ...base.config };
    const secretKeys = [...base.secretKeys];
    for (const [key, value] of Object.entries(values)) {
        if (value !== null && typeof value === "object" && !Array.isArray(value) && "secure" in value) {
            config[key] = SECURE_STAND_INS[key] ?? `stand-in-for-${key}`;
            secretKeys.push(key);
        } else {
            config[key] = encode(value);
        }
    }
    return { config, secretKeys };
}

function encode(value: unknown): string {
    return typeof value === "string" ? value : JSON.stringify(value);
}
