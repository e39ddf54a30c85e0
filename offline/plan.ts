/**
 * The offline plan: what one stack would register, as reviewable files. Secrets are replaced by
 * `"[secret]"`; everything is sorted so the same configuration gives byte-identical output.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import type { RecordedResource, RunResult } from "./mockEngine";
import { parsePath, replaceAtPaths } from "./paths";

export const SECRET_MASK = "[secret]";

/** Resource types under `kubernetes:` that are not Kubernetes objects applied to the cluster. */
const NOT_MANIFESTS = new Set(["kubernetes:helm.sh/v3:Release"]);

export interface PlanResource {
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    readonly custom: boolean;
    readonly parent?: string;
    readonly provider?: string;
    readonly dependencies: string[];
    readonly dependsOn: string[];
    readonly propertyDependencies: Record<string, string[]>;
    readonly options: RecordedResource["options"];
    readonly inputs: Record<string, unknown>;
    readonly secretPaths: string[];
    /** Providers only: a digest per secret input, so a changed value shows without revealing it. */
    readonly secretDigests?: Record<string, string>;
}

export interface Plan {
    readonly stack: string;
    readonly resources: PlanResource[];
    readonly outputs: Record<string, unknown>;
}

export function maskedInputs(resource: RecordedResource): Record<string, unknown> {
    return replaceAtPaths(resource.inputs, resource.secretPaths, SECRET_MASK);
}

export function toPlan(result: RunResult): Plan {
    return {
        stack: result.stack,
        resources: result.resources.map((r) => ({
            urn: r.urn,
            type: r.type,
            name: r.name,
            custom: r.custom,
            parent: r.parent,
            provider: r.provider,
            dependencies: r.dependencies,
            dependsOn: r.dependsOn,
            propertyDependencies: r.propertyDependencies,
            options: r.options,
            inputs: maskedInputs(r),
            secretPaths: r.secretPaths,
            ...providerSecretDigests(r),
        })),
        outputs: replaceAtPaths(result.outputs, result.outputSecretPaths, SECRET_MASK),
    };
}

/**
 * A change of a provider's inputs can replace the provider and with it every resource it manages, but its secret
 * inputs are masked. The digest (salted with the URN) shows that a value changed, never the value. For a kubeconfig
 * it covers only the active cluster, which is what pulumi-kubernetes compares to decide a replacement (DiffConfig in
 * provider/pkg/provider/provider.go: a new token for the same cluster is an update, another cluster a replacement).
 */
function providerSecretDigests(r: RecordedResource): { secretDigests?: Record<string, string> } {
    if (!r.type.startsWith("pulumi:providers:") || r.secretPaths.length === 0) {
        return {};
    }
    const valueAt = (p: string) => parsePath(p).reduce<any>((node, s) => node?.[s], r.inputs);
    const compared = (p: string, value: unknown): unknown => {
        if (r.type !== "pulumi:providers:kubernetes" || p !== "kubeconfig" || typeof value !== "string") {
            return value;
        }
        const doc = YAML.parse(value) ?? {};
        const context = (doc.contexts ?? []).find((c: any) => c.name === (r.inputs.context ?? doc["current-context"]));
        const clusterName = r.inputs.cluster ?? context?.context?.cluster;
        return (doc.clusters ?? []).find((c: any) => c.name === clusterName)?.cluster ?? value;
    };
    const digests = r.secretPaths.map((p) => {
        const hash = crypto.createHash("sha256").update(r.urn).update("\u0000");
        return [p, `sha256:${hash.update(JSON.stringify(compared(p, valueAt(p)))).digest("hex")}`];
    });
    return { secretDigests: Object.fromEntries(digests) };
}

/** True for registrations that are Kubernetes objects (typed classes and custom resources). */
export function isManifest(resource: { type: string; custom: boolean }): boolean {
    return resource.custom && resource.type.startsWith("kubernetes:") && !NOT_MANIFESTS.has(resource.type);
}

/** The object as it would be applied: apiVersion, kind, metadata, then the rest, secrets masked. */
export function manifestOf(resource: RecordedResource): Record<string, unknown> {
    const { apiVersion, kind, metadata, ...rest } = maskedInputs(resource) as Record<string, unknown>;
    return { apiVersion, kind, metadata, ...rest };
}

export function manifestFileName(resource: RecordedResource): string {
    const obj = resource.inputs;
    const ns = obj.metadata?.namespace ?? "_cluster";
    return `${ns}.${String(obj.kind).toLowerCase()}.${obj.metadata?.name ?? resource.name}.yaml`;
}

export function stableJson(value: unknown): string {
    return `${JSON.stringify(value, null, 2)}\n`;
}

/** Writes `<out>/<stack>/plan.json` and `<out>/<stack>/manifests/*.yaml`; returns the stack directory. */
export function writePlan(result: RunResult, outDir: string): string {
    const dir = path.join(outDir, result.stack);
    const manifestsDir = path.join(dir, "manifests");
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(manifestsDir, { recursive: true });
    fs.writeFileSync(path.join(dir, "plan.json"), stableJson(toPlan(result)));
    const files = new Map<string, string[]>();
    for (const resource of result.resources.filter(isManifest)) {
        const file = manifestFileName(resource);
        const docs = files.get(file) ?? [];
        docs.push(YAML.stringify(manifestOf(resource), { sortMapEntries: false, lineWidth: 0 }));
        files.set(file, docs);
    }
    for (const [file, docs] of [...files.entries()].sort()) {
        fs.writeFileSync(path.join(manifestsDir, file), docs.map((d) => `---\n${d}`).join(""));
    }
    return dir;
}

/** Resource counts per top-level component and per type, for the terminal. */
export function summarize(result: RunResult): string {
    const byUrn = new Map(result.resources.map((r) => [r.urn, r]));
    const topComponent = (r: RecordedResource): string => {
        let current = r;
        while (current.parent && byUrn.get(current.parent)?.type !== "pulumi:pulumi:Stack") {
            const parent = byUrn.get(current.parent);
            if (!parent) {
                break;
            }
            current = parent;
        }
        return current.parent ? `${current.type} ${current.name}` : "(root)";
    };
    const count = (keys: string[]) => {
        const counts = new Map<string, number>();
        keys.forEach((k) => counts.set(k, (counts.get(k) ?? 0) + 1));
        return [...counts.entries()]
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([k, n]) => `  ${String(n).padStart(4)}  ${k}`);
    };
    const resources = result.resources.filter((r) => r.type !== "pulumi:pulumi:Stack");
    const imported = resources.filter((r) => r.options.importId);
    return [
        `stack ${result.stack}: ${resources.length} resources, ${resources.filter(isManifest).length} Kubernetes objects`,
        "per component:",
        ...count(resources.map(topComponent)),
        "per type:",
        ...count(resources.map((r) => r.type)),
        ...(imported.length > 0
            ? [
                  "imported (Pulumi's import option: read from the cloud, then updated to the program's inputs):",
                  ...imported.map((r) => `  ${r.type} ${r.name} <- ${r.options.importId}`),
              ]
            : []),
    ].join("\n");
}
