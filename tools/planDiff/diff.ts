/**
 * What changes between two offline plans (`out/<stack>/plan.json`), for a reviewer: resources added,
 * removed and changed (with property paths), and loud warnings for changes that would replace or
 * delete a stateful or protected resource. Pure: no file or process access.
 */
import type { Plan, PlanResource } from "../../engine/plan";
import { Segment, formatPath } from "../../engine/paths";

export interface PropertyChange {
    readonly path: string;
    readonly before: unknown;
    readonly after: unknown;
    /** The provider cannot update this property in place. */
    readonly replaces: boolean;
}

export interface ChangedResource {
    readonly before: PlanResource;
    readonly after: PlanResource;
    readonly changes: PropertyChange[];
    /** Option changes (`protect`, `retainOnDelete`, `ignoreChanges`, ...), as property changes under `options.`. */
    readonly optionChanges: PropertyChange[];
    readonly replaced: boolean;
}

export interface Warning {
    readonly kind: "replace" | "delete";
    readonly resource: PlanResource;
    readonly reasons: string[];
}

export interface PlanDiff {
    readonly added: PlanResource[];
    readonly removed: PlanResource[];
    readonly changed: ChangedResource[];
    readonly warnings: Warning[];
}

/** Input paths (dot-separated prefixes) whose change makes the provider replace the resource. */
const REPLACE_PATHS: Record<string, readonly string[]> = {
    // Path parameters and create-only properties of API 2025-08-01 (x-ms-mutability without update).
    "azure-native:dbforpostgresql:Server": [
        "serverName",
        "resourceGroupName",
        "location",
        "administratorLogin",
        "availabilityZone",
        "backup.geoRedundantBackup",
        "network.delegatedSubnetResourceId",
        "network.privateDnsZoneArmResourceId",
        "createMode",
        "pointInTimeUTC",
        "sourceServerResourceId",
    ],
    "azure-native:dbforpostgresql:Database": [
        "databaseName",
        "serverName",
        "resourceGroupName",
        "charset",
        "collation",
    ],
    "azure-native:dbforpostgresql:Configuration": ["configurationName", "serverName", "resourceGroupName"],
    "azure-native:dbforpostgresql:FirewallRule": ["firewallRuleName", "serverName", "resourceGroupName"],
    "azure-native:keyvault:Vault": ["vaultName", "resourceGroupName", "location"],
    "azure-native:keyvault:Secret": ["secretName", "vaultName", "resourceGroupName"],
    "azure-native:managedidentity:UserAssignedIdentity": ["resourceName", "resourceGroupName", "location"],
    "azure-native:managedidentity:FederatedIdentityCredential": [
        "federatedIdentityCredentialResourceName",
        "resourceName",
        "resourceGroupName",
    ],
    "azure-native:authorization:RoleAssignment": ["scope", "principalId", "roleDefinitionId", "roleAssignmentName"],
    "kubernetes:apps/v1:StatefulSet": [
        "spec.volumeClaimTemplates",
        "spec.selector",
        "spec.serviceName",
        "spec.podManagementPolicy",
    ],
    "kubernetes:apps/v1:Deployment": ["spec.selector"],
    "kubernetes:batch/v1:Job": ["spec.template", "spec.selector", "spec.completions"],
    "kubernetes:helm.sh/v3:Release": ["name", "namespace"],
    "kubernetes:core/v1:PersistentVolumeClaim": [
        "spec.storageClassName",
        "spec.accessModes",
        "spec.selector",
        "spec.volumeName",
        "spec.volumeMode",
        "spec.dataSource",
    ],
    // Every input of a generated value is a keeper: a change regenerates the password.
    "random:index/randomPassword:RandomPassword": [""],
};

/** Kubernetes objects are identified by kind, namespace and name: changing either replaces them. */
const KUBERNETES_IDENTITY = ["metadata.name", "metadata.namespace", "apiVersion", "kind"];

/** An Azure resource lives in its resource group and region: moving it means a new resource. */
const AZURE_IDENTITY = ["resourceGroupName", "location"];

/** Types whose deletion or replacement loses data. */
const STATEFUL_TYPES = new Set([
    "azure-native:dbforpostgresql:Server",
    "azure-native:keyvault:Vault",
    "kubernetes:stackgres.io/v1:SGCluster",
    "kubernetes:core/v1:PersistentVolumeClaim",
]);

export function isStateful(r: PlanResource): boolean {
    if (r.type === "kubernetes:apps/v1:StatefulSet") {
        return (
            ((r.inputs.spec as { volumeClaimTemplates?: unknown[] } | undefined)?.volumeClaimTemplates ?? []).length > 0
        );
    }
    return STATEFUL_TYPES.has(r.type);
}

function replacePaths(r: PlanResource): readonly string[] {
    const own = REPLACE_PATHS[r.type] ?? [];
    if (!r.custom) {
        return [];
    }
    if (r.type.startsWith("kubernetes:")) {
        return [...KUBERNETES_IDENTITY, ...own];
    }
    return r.type.startsWith("azure-native:") ? [...AZURE_IDENTITY, ...own] : own;
}

/** True when `path` is at or below one of the prefixes (an empty prefix covers every input). */
function under(path: string, prefixes: readonly string[]): boolean {
    return prefixes.some((p) => p === "" || path === p || path.startsWith(`${p}.`) || path.startsWith(`${p}[`));
}

function isObject(v: unknown): v is Record<string, unknown> {
    return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Leaf-level differences between two values, with plan-style paths. */
export function diffValues(
    a: unknown,
    b: unknown,
    at: Segment[] = [],
): { path: string; before: unknown; after: unknown }[] {
    if (isObject(a) && isObject(b)) {
        const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
        return keys.flatMap((k) => diffValues(a[k], b[k], [...at, k]));
    }
    if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
        return a.flatMap((v, i) => diffValues(v, b[i], [...at, i]));
    }
    return JSON.stringify(a) === JSON.stringify(b) ? [] : [{ path: formatPath(at), before: a, after: b }];
}

function diffResource(before: PlanResource, after: PlanResource): ChangedResource | undefined {
    const paths = replacePaths(after);
    const changes = diffValues(before.inputs, after.inputs).map((c) => ({ ...c, replaces: under(c.path, paths) }));
    const optionChanges = diffValues(before.options, after.options, ["options"]).map((c) => ({
        ...c,
        replaces: false,
    }));
    if (changes.length === 0 && optionChanges.length === 0) {
        return undefined;
    }
    return { before, after, changes, optionChanges, replaced: changes.some((c) => c.replaces) };
}

function guarded(r: PlanResource): string[] {
    return [...(isStateful(r) ? ["stateful"] : []), ...(r.options.protect ? ["protected"] : [])];
}

export function diffPlans(a: Plan, b: Plan): PlanDiff {
    const before = new Map(a.resources.map((r) => [r.urn, r]));
    const after = new Map(b.resources.map((r) => [r.urn, r]));
    const added = b.resources.filter((r) => !before.has(r.urn));
    const removed = a.resources.filter((r) => !after.has(r.urn));
    const changed = b.resources
        .filter((r) => before.has(r.urn))
        .map((r) => diffResource(before.get(r.urn) as PlanResource, r))
        .filter((c): c is ChangedResource => c !== undefined);

    const warnings: Warning[] = [];
    for (const c of changed.filter((x) => x.replaced)) {
        const why = guarded(c.before).concat(guarded(c.after).filter((g) => !guarded(c.before).includes(g)));
        if (why.length > 0) {
            warnings.push({
                kind: "replace",
                resource: c.after,
                reasons: [
                    `${why.join(", ")}`,
                    ...c.changes
                        .filter((x) => x.replaces)
                        .map((x) => `${x.path}: ${show(x.before)} -> ${show(x.after)} cannot be updated in place`),
                ],
            });
        }
    }
    for (const r of removed) {
        const why = guarded(r);
        if (why.length > 0) {
            const twin = added.find((x) => x.type === r.type);
            warnings.push({
                kind: "delete",
                resource: r,
                reasons: [
                    why.join(", "),
                    r.options.retainOnDelete
                        ? "retainOnDelete: the cloud object stays but leaves the stack"
                        : "the object itself would be deleted",
                    ...(twin
                        ? [
                              `a new ${r.type} ${twin.name} is added: a renamed logical name needs an alias to keep the resource`,
                          ]
                        : []),
                ],
            });
        }
    }
    return { added, removed, changed, warnings };
}

function show(v: unknown): string {
    if (v === undefined) {
        return "(unset)";
    }
    const s = JSON.stringify(v);
    return s.length > 100 ? `${s.slice(0, 97)}...` : s;
}

function label(r: PlanResource): string {
    return `${r.type} ${r.name}`;
}

/** The diff as text for a terminal or a pull-request comment. */
export function formatDiff(diff: PlanDiff, title: string): string {
    const lines = [`plan diff: ${title}`];
    const section = (mark: string, heading: string, items: string[]) => {
        if (items.length > 0) {
            lines.push("", `${heading} (${items.length})`, ...items.map((i) => `  ${mark} ${i}`));
        }
    };
    section("+", "added", diff.added.map(label));
    section("-", "removed", diff.removed.map(label));
    section(
        "~",
        "changed",
        diff.changed.map((c) =>
            [
                `${label(c.after)}${c.replaced ? "  [REPLACE]" : ""}`,
                ...[...c.changes, ...c.optionChanges].map(
                    (x) => `      ${x.replaces ? "!" : " "} ${x.path}: ${show(x.before)} -> ${show(x.after)}`,
                ),
            ].join("\n"),
        ),
    );
    if (diff.added.length + diff.removed.length + diff.changed.length === 0) {
        lines.push("", "no changes");
    }
    if (diff.warnings.length > 0) {
        lines.push(
            "",
            `!!! WARNING: ${diff.warnings.length} change(s) would ${[...new Set(diff.warnings.map((w) => w.kind.toUpperCase()))].join(" or ")} a stateful or protected resource !!!`,
        );
        for (const w of diff.warnings) {
            lines.push(`!!! ${w.kind.toUpperCase()} ${label(w.resource)}`, ...w.reasons.map((r) => `!!!     ${r}`));
        }
    }
    return lines.join("\n");
}
