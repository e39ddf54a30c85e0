/**
 * What changes between two offline plans (`out/<stack>/plan.json`), for a reviewer: resources added, removed and
 * changed (with property paths), decided the way Pulumi decides them, and loud warnings for changes that would
 * replace or delete a stateful or protected resource, replace a provider (and so everything it manages) or
 * regenerate credentials. Pure: no file or process access.
 *
 * The rules, as the engine applies them (pulumi/pulumi pkg/resource/deploy/step_generator.go):
 * - `ignoreChanges` paths are taken from the old inputs before diffing, so they never show or replace; but a resource
 *   replaced for another change is created from the program's own inputs, ignored ones included (the engine checks
 *   `goal.Properties` again for a replacement, "we need to recompute the default values"), so there they show;
 * - a changed property under `replaceOnChanges` replaces the resource; otherwise the provider's own force-new
 *   properties decide (forceNew.ts);
 * - a replaced provider replaces every resource it manages (`providerChanged`); the Kubernetes provider is
 *   replaced when the kubeconfig's active cluster changes (compared by the digest the plan records);
 * - a resource whose input depends on a replaced resource gets that input unknown at preview time, and an
 *   unknown force-new input is a replacement.
 */
import type { Plan, PlanResource } from "../plan";
import { Segment, formatPath } from "../paths";
import { TYPES, keepsPodsAndVolumes } from "../../policy/lib/k8s";
import { KubernetesProviderSwitches, RANDOM_PASSWORD, forceNewPaths, isUnder, touches } from "./forceNew";
import { lineDiff } from "./lines";
import { claimRequest, operationsOf } from "./operations";
import { howToMove } from "../../components/config/placement";
import { DEFAULT_INSTANCE } from "../../components/instanceNames";
import { POSTGRES_SERVER_ANNOTATION, REDIS_GROUP_ANNOTATION } from "../../components/labels";

export interface PropertyChange {
    readonly path: string;
    readonly before: unknown;
    readonly after: unknown;
    /** The change replaces the resource. */
    readonly replaces: boolean;
    /** Why, when not the provider's force-new list: `replaceOnChanges`, a replaced dependency or provider. */
    readonly note?: string;
}

export interface ChangedResource {
    readonly before: PlanResource;
    readonly after: PlanResource;
    readonly changes: PropertyChange[];
    /** Option changes (`protect`, `retainOnDelete`, `ignoreChanges`, ...), as property changes under `options.`. */
    readonly optionChanges: PropertyChange[];
    readonly replaced: boolean;
    /** The old object goes first (a fixed Kubernetes name, or the option): a window without it. */
    readonly deleteBeforeReplace: boolean;
    /** A replaced StatefulSet whose old object orphans its pods on delete: they keep running, adopted by the new one. */
    readonly podsOrphaned: boolean;
}

export interface Warning {
    readonly kind: "replace" | "delete" | "credentials" | "shrink" | "move" | "tls";
    readonly resource: PlanResource;
    readonly reasons: string[];
    /**
     * The change cannot go through, so no acknowledgement passes it: Pulumi refuses it (the resource is protected in
     * the stack's state, and deleting or replacing a protected resource is an error whatever `retainOnDelete` says:
     * Pulumi docs, "protect"), or the step fails (`refusedBecause` says why).
     */
    readonly refused: boolean;
    /** What refuses it, when `refused`: `protected` unless said otherwise. */
    readonly refusedBecause?: string;
    /** Listed in the pull request's acknowledgements: shown, but not a failure. */
    readonly acknowledged: boolean;
}

export interface PlanDiff {
    readonly added: PlanResource[];
    readonly removed: PlanResource[];
    readonly changed: ChangedResource[];
    readonly warnings: Warning[];
    /** What the changes do to running servers, one line per change kind (operations.ts). */
    readonly operations: string[];
}

export interface DiffOptions {
    /** URNs whose replacement or deletion the pull request declares intended. */
    readonly acknowledged?: ReadonlySet<string>;
}

/** What an application's namespace says of its instance of each service, and the key that moves it. */
const PLACEMENTS = [
    { annotation: POSTGRES_SERVER_ANNOTATION, prefix: "postgres", appKey: "postgres.server" },
    { annotation: REDIS_GROUP_ANNOTATION, prefix: "redis", appKey: "redis.group" },
] as const;

/**
 * An application whose namespace says its database moved to another server (`data-platform.io/postgres-server`, unset
 * on the stack's own server) or its Redis databases to another group (`data-platform.io/redis-group`) while the new
 * plan has no copy Job for it (`<prefix>-<instance>-move-<app>`, registered with `apps[].<service>.movedFrom`): it would
 * get empty databases. How to move instead, one line per service.
 */
function movedWithoutData(c: ChangedResource, after: readonly PlanResource[]): string[] {
    const app = /^app-(.+)-ns$/.exec(c.after.name)?.[1];
    if (app === undefined || !/Namespace/.test(c.after.type)) {
        return [];
    }
    return PLACEMENTS.flatMap(({ annotation, prefix, appKey }) => {
        const instanceOf = (r: PlanResource): string =>
            (r.inputs.metadata as { annotations?: Record<string, string> } | undefined)?.annotations?.[annotation] ??
            prefix;
        const [from, to] = [instanceOf(c.before), instanceOf(c.after)];
        const instance = (p: string) => (p === prefix ? DEFAULT_INSTANCE : p.slice(prefix.length + 1));
        return from === to || after.some((r) => r.name === `${to}-move-${app}`)
            ? []
            : [`application ${app}: ${howToMove(appKey, instance(from), instance(to))}`];
    });
}

/**
 * A Redis group whose TLS turns on or off in place (its `redis.conf` gains or loses `tls-replication yes`): its pods
 * roll one at a time, and until all have, a replica with TLS cannot follow a master without (or the reverse), and every
 * client holding the old scheme is refused until it restarts.
 */
function redisTlsSwitched(c: ChangedResource): string[] {
    const conf = (r: PlanResource) => (r.inputs.data as Record<string, unknown> | undefined)?.["redis.conf"];
    const [before, after] = [conf(c.before), conf(c.after)];
    if (c.after.type !== TYPES.configMap || typeof before !== "string" || typeof after !== "string") {
        return [];
    }
    const tls = (text: string) => /^tls-replication yes$/m.test(text);
    if (tls(before) === tls(after)) {
        return [];
    }
    const group = String((c.after.inputs.metadata as { name?: string } | undefined)?.name ?? "").replace(
        /^redis-(?:(.+)-)?config$/,
        (_, named?: string) => named ?? DEFAULT_INSTANCE,
    );
    return [
        `Redis group ${group} turns TLS ${tls(after) ? "on" : "off"} in place: its pods roll one at a time, and until all have, replicas with and without TLS cannot follow each other (a failover may find none in sync), and clients still holding the old scheme are refused until they restart`,
        "to change an application's TLS without that, move it to a group with the TLS it needs (apps[].redis.movedFrom), which copies its keys and switches its Secret once they are there",
    ];
}

/** Types whose deletion or replacement loses data. */
const STATEFUL_TYPES = new Set([
    "azure-native:dbforpostgresql:Server",
    "azure-native:keyvault:Vault",
    "kubernetes:stackgres.io/v1:SGCluster",
    "kubernetes:core/v1:PersistentVolumeClaim",
]);

export function isStateful(r: PlanResource): boolean {
    if (r.type === TYPES.statefulSet) {
        return (
            ((r.inputs.spec as { volumeClaimTemplates?: unknown[] } | undefined)?.volumeClaimTemplates ?? []).length >
                0 && !keepsPodsAndVolumes(r.inputs)
        );
    }
    return STATEFUL_TYPES.has(r.type);
}

const isProvider = (r: PlanResource) => r.type.startsWith("pulumi:providers:");

/** The provider URN of a reference `<urn>::<id>`. */
function providerUrn(r: PlanResource): string | undefined {
    return r.provider?.replace(/::[^:]*$/, "");
}

function switchesOf(provider: PlanResource | undefined): KubernetesProviderSwitches {
    const on = (key: string) => String(provider?.inputs[key]) === "true";
    return { enableConfigMapMutable: on("enableConfigMapMutable"), enableSecretMutable: on("enableSecretMutable") };
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

/** The changed input paths that make the provider replace a resource of `type` (its force-new list, default switches). */
export function replacingPaths(type: string, before: Record<string, any>, after: Record<string, any>): string[] {
    const forceNew = forceNewPaths(type, after, { enableConfigMapMutable: false, enableSecretMutable: false });
    return diffValues(before, after)
        .filter((c) => forceNew.some((p) => touches(c.path, p)))
        .map((c) => c.path);
}

/** Mutable working state of one resource present in both plans. */
interface Comparison {
    readonly before: PlanResource;
    readonly after: PlanResource;
    readonly forceNew: readonly string[];
    changes: PropertyChange[];
    readonly optionChanges: PropertyChange[];
    /** Changes under `ignoreChanges`: none unless the resource is replaced. */
    readonly ignored: PropertyChange[];
}

const isIgnored = (after: PlanResource, path: string) => after.options.ignoreChanges.some((p) => isUnder(path, p));

/** The engine copies ignored paths from the old inputs, so changes there vanish (`processIgnoreChanges`). */
function ownChanges(before: PlanResource, after: PlanResource, forceNew: readonly string[]): PropertyChange[] {
    const replaceOn = after.options.replaceOnChanges;
    return diffValues(before.inputs, after.inputs)
        .filter((c) => !isIgnored(after, c.path))
        .map((c) => {
            if (replaceOn.some((p) => touches(c.path, p))) {
                return { ...c, replaces: true, note: "replaceOnChanges" };
            }
            return { ...c, replaces: after.custom && forceNew.some((p) => touches(c.path, p)) };
        });
}

/** A Kubernetes provider is replaced when its active cluster changes (the digest covers only that cluster). */
function providerChanges(before: PlanResource, after: PlanResource): PropertyChange[] {
    const was = before.secretDigests ?? {};
    const now = after.secretDigests ?? {};
    return Object.keys(now)
        .filter((path) => was[path] !== undefined && was[path] !== now[path])
        .map((path) => ({
            path,
            before: undefined,
            after: undefined,
            replaces: after.type === "pulumi:providers:kubernetes" && path === "kubeconfig",
            note: `${path}: the secret value changes`,
        }));
}

/** The strings that name a resource (what a dependent's inputs carry when they refer to it). */
function identityValues(r: PlanResource): string[] {
    const meta = r.inputs.metadata as { name?: unknown } | undefined;
    const named = Object.entries(r.inputs)
        .filter(([k, v]) => typeof v === "string" && (k === "name" || (/Name$/.test(k) && k !== "resourceGroupName")))
        .map(([, v]) => v as string);
    return [...(typeof meta?.name === "string" ? [meta.name] : []), ...named].filter((v) => v.length > 0);
}

/** Leaf paths under `property` whose value refers to `dependency` by name; the property itself if none does. */
function referringPaths(r: PlanResource, property: string, dependency: PlanResource): string[] {
    const names = identityValues(dependency);
    const leaves: string[] = [];
    const visit = (value: unknown, at: Segment[]) => {
        if (Array.isArray(value)) {
            value.forEach((v, i) => visit(v, [...at, i]));
        } else if (isObject(value)) {
            Object.entries(value).forEach(([k, v]) => visit(v, [...at, k]));
        } else if (typeof value === "string" && names.some((n) => value === n || value.endsWith(`/${n}`))) {
            leaves.push(formatPath(at));
        }
    };
    visit(r.inputs[property], [property]);
    return leaves.length > 0 ? leaves : [formatPath([property])];
}

function isReplaced(c: Comparison): boolean {
    return c.changes.some((x) => x.replaces);
}

function deleteFirst(c: Comparison): boolean {
    if (c.after.options.deleteBeforeReplace) {
        return true;
    }
    // A resource moving to a replaced provider (another cluster) is created there first, then deleted here.
    if (c.changes.every((x) => !x.replaces || x.path === "provider")) {
        return false;
    }
    // pulumi-kubernetes deletes first when the object keeps its fixed name and namespace (provider.go Diff).
    const meta = (r: PlanResource) => (r.inputs.metadata ?? {}) as { name?: string; namespace?: string };
    return (
        c.after.type.startsWith("kubernetes:") &&
        meta(c.after).name !== undefined &&
        meta(c.after).name === meta(c.before).name &&
        meta(c.after).namespace === meta(c.before).namespace
    );
}

function guarded(r: PlanResource): string[] {
    return [...(isStateful(r) ? ["stateful"] : []), ...(r.options.protect ? ["protected"] : [])];
}

const CREDENTIALS_CHANGE =
    "credentials will change: a new password is generated, and every login, Key Vault secret and synced Secret made from it changes with it";

export function diffPlans(a: Plan, b: Plan, options: DiffOptions = {}): PlanDiff {
    const acknowledged = options.acknowledged ?? new Set<string>();
    const before = new Map(a.resources.map((r) => [r.urn, r]));
    const after = new Map(b.resources.map((r) => [r.urn, r]));
    const added = b.resources.filter((r) => !before.has(r.urn));
    const removed = a.resources.filter((r) => !after.has(r.urn));

    const comparisons = new Map<string, Comparison>();
    for (const r of b.resources.filter((x) => before.has(x.urn))) {
        const old = before.get(r.urn) as PlanResource;
        const provider = after.get(providerUrn(r) ?? "");
        const forceNew = r.custom ? forceNewPaths(r.type, r.inputs, switchesOf(provider)) : [];
        const changes = [...ownChanges(old, r, forceNew), ...(isProvider(r) ? providerChanges(old, r) : [])];
        const optionChanges = diffValues(old.options, r.options, ["options"]).map((c) => ({ ...c, replaces: false }));
        const ignored = diffValues(old.inputs, r.inputs)
            .filter((c) => isIgnored(r, c.path))
            .map((c) => ({ ...c, replaces: false, note: "ignoreChanges: taken with the replacement" }));
        comparisons.set(r.urn, { before: old, after: r, forceNew, changes, optionChanges, ignored });
    }

    // Replacements spread to what a replaced provider manages and to dependents, until nothing changes.
    const managed = new Map<string, number>();
    for (let spreading = true; spreading; ) {
        spreading = false;
        for (const c of comparisons.values()) {
            if (isReplaced(c) || !c.after.custom) {
                continue;
            }
            const provider = comparisons.get(providerUrn(c.after) ?? "");
            if (provider && isReplaced(provider)) {
                c.changes.push({
                    path: "provider",
                    before: undefined,
                    after: undefined,
                    replaces: true,
                    note: `its provider ${label(provider.after)} is replaced`,
                });
                spreading = true;
                continue;
            }
            for (const [property, urns] of Object.entries(c.after.propertyDependencies)) {
                const replacedDependency = urns.map((u) => comparisons.get(u)).find((d) => d && isReplaced(d));
                if (!replacedDependency) {
                    continue;
                }
                const paths = referringPaths(c.after, property, replacedDependency.after);
                const replaces = paths.some((p) => c.forceNew.some((f) => isUnder(p, f)));
                const note = `${property} depends on ${label(replacedDependency.after)}, which is replaced`;
                if (!c.changes.some((x) => x.note === note)) {
                    c.changes.push({ path: property, before: undefined, after: undefined, replaces, note });
                    spreading ||= replaces;
                }
            }
        }
    }
    for (const c of comparisons.values()) {
        const p = providerUrn(c.after);
        if (p && isReplaced(c)) {
            managed.set(p, (managed.get(p) ?? 0) + 1);
        }
    }
    for (const c of comparisons.values()) {
        if (isProvider(c.after)) {
            const count = managed.get(c.after.urn) ?? 0;
            c.changes = c.changes.map((x) =>
                x.replaces && x.path === "kubeconfig"
                    ? {
                          ...x,
                          note: `kubeconfig: the active cluster changes: every resource of this provider is replaced (${count})`,
                      }
                    : x,
            );
        }
    }

    for (const c of comparisons.values()) {
        if (isReplaced(c)) {
            c.changes.push(...c.ignored);
        }
    }

    const changed: ChangedResource[] = [...comparisons.values()]
        .filter((c) => c.changes.length + c.optionChanges.length > 0)
        .map((c) => ({
            before: c.before,
            after: c.after,
            changes: c.changes,
            optionChanges: c.optionChanges,
            replaced: isReplaced(c),
            deleteBeforeReplace: isReplaced(c) && deleteFirst(c),
            podsOrphaned: isReplaced(c) && c.after.type === TYPES.statefulSet && keepsPodsAndVolumes(c.before.inputs),
        }));

    const warnings: Warning[] = [];
    // The state holds what the base plan declared: its `protect` decides whether Pulumi may delete or replace.
    const warn = (kind: Warning["kind"], resource: PlanResource, reasons: string[], protectedBefore = false) =>
        warnings.push(
            protectedBefore
                ? {
                      kind,
                      resource,
                      reasons: [...reasons, ...refusal(resource)],
                      refused: true,
                      acknowledged: false,
                  }
                : { kind, resource, reasons, refused: false, acknowledged: acknowledged.has(resource.urn) },
        );
    const refuse = (kind: Warning["kind"], resource: PlanResource, refusedBecause: string, reasons: string[]) =>
        warnings.push({ kind, resource, reasons, refused: true, refusedBecause, acknowledged: false });
    for (const c of changed.filter((x) => x.replaced && x.after.type === TYPES.statefulSet)) {
        // Pulumi skips the provider's delete of an object the state retains (pkg/resource/deploy/step.go DeleteStep).
        if (c.before.options.retainOnDelete) {
            refuse("replace", c.after, "retained on delete", [
                "retainOnDelete in the state: Pulumi leaves the old StatefulSet, and creating the new one of the same name fails: it already exists",
                "to go on, deploy the program's change of retainOnDelete on its own first",
            ]);
        }
    }
    for (const c of changed) {
        const [before, after] = [claimRequest(c.before), claimRequest(c.after)];
        if (before && after && after.bytes < before.bytes) {
            refuse("shrink", c.after, "a claim cannot shrink", [
                `spec.resources.requests.storage: ${before.size} -> ${after.size}: Kubernetes refuses a smaller request ("field can not be less than previous value"), at the preview's server-side dry run, before anything changes`,
                "keep the size: a volume only grows",
            ]);
        }
    }
    for (const c of changed.filter((x) => x.replaced)) {
        const why = guarded(c.before).concat(guarded(c.after).filter((g) => !guarded(c.before).includes(g)));
        const replacing = c.changes.filter((x) => x.replaces);
        const explained = replacing.map((x) =>
            x.note && x.before === undefined && x.after === undefined
                ? x.note
                : `${x.path}: ${showChange(x.before, x.after)} ${x.note ? `(${x.note})` : "cannot be updated in place"}`,
        );
        if (c.after.type === TYPES.statefulSet && isStateful(c.before)) {
            explained.push(
                "its pods are deleted with it, all at once (foreground propagation; the deployed object needs pulumi.com/deletionPropagationPolicy: orphan to keep them)",
            );
        }
        if (c.after.type === RANDOM_PASSWORD) {
            warn("credentials", c.after, [CREDENTIALS_CHANGE, ...explained]);
        } else if (isProvider(c.after) || why.length > 0) {
            warn(
                "replace",
                c.after,
                [...(why.length > 0 ? [why.join(", ")] : []), ...explained],
                c.before.options.protect === true,
            );
        }
    }
    for (const c of changed) {
        const switched = redisTlsSwitched(c);
        if (switched.length > 0) {
            warn("tls", c.after, switched);
        }
        const moved = movedWithoutData(c, b.resources);
        if (moved.length > 0) {
            refuse("move", c.after, "moved without its data", moved);
        }
    }
    for (const r of removed) {
        const why = guarded(r);
        if (r.type === RANDOM_PASSWORD) {
            warn("credentials", r, [CREDENTIALS_CHANGE, "the password leaves the stack"]);
        } else if (why.length > 0) {
            const twin = added.find((x) => x.type === r.type);
            warn(
                "delete",
                r,
                [
                    why.join(", "),
                    ...(r.options.protect
                        ? []
                        : [
                              r.options.retainOnDelete
                                  ? "retainOnDelete: the cloud object stays but leaves the stack"
                                  : "the object itself would be deleted",
                          ]),
                    ...(twin
                        ? [
                              `a new ${r.type} ${twin.name} is added: a renamed logical name needs an alias to keep the resource`,
                          ]
                        : []),
                ],
                r.options.protect === true,
            );
        }
    }
    return { added, removed, changed, warnings, operations: operationsOf(added, changed) };
}

/** What a refused warning says to do about it. */
function refusal(r: PlanResource): string[] {
    return [
        "pulumi will refuse: it is protected, and deleting or replacing a protected resource is an error whatever retainOnDelete says",
        `to go on, unprotect it first in a change of its own: a removed application's namespace and database by keeping its entry with retired: true for one deploy (README "Remove, re-add or import an application"); else the program's protect setting, or with production credentials: pulumi state unprotect '${r.urn}'`,
    ];
}

/** True when the diff has a warning nobody acknowledged: the check fails. */
export function failsCheck(diff: PlanDiff): boolean {
    return diff.warnings.some((w) => !w.acknowledged);
}

const SHOWN_CHARACTERS = 100;

/** A value as JSON; a long one cut to the window from `from` on, so two long values show where they differ. */
function show(v: unknown, from = 0): string {
    if (v === undefined) {
        return "(unset)";
    }
    const s = JSON.stringify(v);
    if (s.length <= SHOWN_CHARACTERS) {
        return s;
    }
    const start = Math.min(from, s.length - SHOWN_CHARACTERS);
    return `${start > 0 ? "..." : ""}${s.slice(start, start + SHOWN_CHARACTERS)}${start + SHOWN_CHARACTERS < s.length ? "..." : ""}`;
}

/** Before and after, each cut around their first difference. */
function showChange(before: unknown, after: unknown): string {
    const a = JSON.stringify(before) ?? "";
    const b = JSON.stringify(after) ?? "";
    let first = 0;
    while (first < a.length && first < b.length && a[first] === b[first]) {
        first++;
    }
    const from = Math.max(0, first - 20);
    return `${show(before, from)} -> ${show(after, from)}`;
}

function label(r: PlanResource): string {
    return `${r.type} ${r.name}`;
}

const MAX_LINES = 40;

function isMultiLine(v: unknown): v is string {
    return typeof v === "string" && v.includes("\n");
}

/** One property change: a line, or a line diff for multi-line strings. */
function formatChange(x: PropertyChange): string[] {
    const mark = x.replaces ? "!" : " ";
    if (x.note && x.before === undefined && x.after === undefined) {
        return [`      ${mark} ${x.note}`];
    }
    const note = x.note ? `  (${x.note})` : "";
    if (
        (isMultiLine(x.before) || isMultiLine(x.after)) &&
        typeof x.before !== "object" &&
        typeof x.after !== "object"
    ) {
        const lines = lineDiff(String(x.before ?? ""), String(x.after ?? ""));
        const shown = lines.slice(0, MAX_LINES).map((l) => `            ${l.mark} ${l.text}`);
        const more = lines.length > MAX_LINES ? [`            ... ${lines.length - MAX_LINES} more changed lines`] : [];
        return [`      ${mark} ${x.path}:${note}`, ...shown, ...more];
    }
    return [`      ${mark} ${x.path}: ${showChange(x.before, x.after)}${note}`];
}

/** The diff as text for a terminal or a pull-request comment. */
export function formatDiff(diff: PlanDiff, title: string): string {
    const lines = [`plan diff: ${title}`];
    const section = (mark: string, heading: string, items: string[]) => {
        if (items.length > 0) {
            lines.push("", `${heading} (${items.length})`, ...items.map((i) => `  ${mark} ${i}`));
        }
    };
    // An added resource with the `import` option is read from the cloud, then updated to its inputs: not created.
    section(
        "+",
        "added",
        diff.added.map((r) => (r.options.importId ? `${label(r)}  [IMPORT ${r.options.importId}]` : label(r))),
    );
    section("-", "removed", diff.removed.map(label));
    section(
        "~",
        "changed",
        diff.changed.map((c) => {
            const tags = c.replaced
                ? `  [REPLACE${c.deleteBeforeReplace ? ", delete before replace" : ""}${c.podsOrphaned ? ", pods orphaned: they keep running" : ""}]`
                : "";
            return [`${label(c.after)}${tags}`, ...[...c.changes, ...c.optionChanges].flatMap(formatChange)].join("\n");
        }),
    );
    if (diff.added.length + diff.removed.length + diff.changed.length === 0) {
        lines.push("", "no changes");
    }
    if (diff.operations.length > 0) {
        lines.push("", "operations:", ...diff.operations.map((o) => `  * ${o}`));
    }
    const open = diff.warnings.filter((w) => !w.acknowledged);
    const acknowledged = diff.warnings.filter((w) => w.acknowledged);
    if (open.length > 0) {
        const kinds = [...new Set(open.map((w) => w.kind.toUpperCase()))].join(", ");
        lines.push("", `!!! WARNING: ${open.length} change(s) need a look (${kinds}) !!!`);
        for (const w of open) {
            lines.push(
                `!!! ${w.kind.toUpperCase()}${w.refused ? ` (REFUSED: ${w.refusedBecause ?? "protected"})` : ""} ${label(w.resource)}`,
                ...w.reasons.map((r) => `!!!     ${r}`),
            );
        }
    }
    if (acknowledged.length > 0) {
        lines.push("", `--- ${acknowledged.length} acknowledged change(s), intended by this pull request ---`);
        for (const w of acknowledged) {
            lines.push(
                `--- ACKNOWLEDGED ${w.kind.toUpperCase()} ${label(w.resource)}`,
                ...w.reasons.map((r) => `---     ${r}`),
            );
        }
    }
    return lines.join("\n");
}
