/**
 * What a plan change does to running servers, for the reviewer: one line per kind of change, naming the resources.
 * Replacements and deletions are warnings (diff.ts); these are the in-place changes and new Jobs that still touch
 * what runs.
 */
import type { PlanResource } from "../plan";
import { AZURE_STATIC_PARAMETERS } from "../../components/postgres/azureSpec";
import { isUnder } from "./forceNew";
import { quantityBytes } from "../../components/config/names";
import { TYPES } from "../../policy/lib/k8s";

/** What a volume claim patch requests, as written and in bytes; undefined for any other resource. */
export function claimRequest(r: PlanResource): { readonly size: string; readonly bytes: number } | undefined {
    const size = (r.inputs.spec as { resources?: { requests?: { storage?: string } } } | undefined)?.resources?.requests
        ?.storage;
    const bytes = quantityBytes(size ?? "");
    return r.type === TYPES.pvcPatch && size !== undefined && bytes !== undefined ? { size, bytes } : undefined;
}

/** The parts of a changed resource these rules read. */
interface Change {
    readonly before: PlanResource;
    readonly after: PlanResource;
    readonly changes: ReadonlyArray<{ readonly path: string }>;
    readonly replaced: boolean;
    readonly podsOrphaned: boolean;
}

interface Operation {
    readonly what: string;
    /** The resource's entry in the line, or undefined when the rule does not apply. */
    readonly added?: (r: PlanResource) => string | undefined;
    readonly changed?: (c: Change) => string | undefined;
}

const metadataName = (r: PlanResource) => (r.inputs.metadata as { name?: string } | undefined)?.name ?? r.name;
const kindOf = (r: PlanResource) => r.type.split(":").pop() ?? r.type;
const changesUnder = (c: Change, path: string) => c.changes.some((x) => isUnder(x.path, path));

const OPERATIONS: readonly Operation[] = [
    {
        what: "rolling update, one pod at a time (each restarts)",
        changed: (c) =>
            !c.replaced &&
            ["kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:Deployment"].includes(c.after.type) &&
            changesUnder(c, "spec.template")
                ? `${kindOf(c.after)} ${metadataName(c.after)}`
                : undefined,
    },
    {
        what: "StatefulSets replaced with their pods orphaned: the pods keep running and the new StatefulSet adopts them (a changed pod template then rolls them, one at a time)",
        changed: (c) => (c.podsOrphaned ? `StatefulSet ${metadataName(c.after)}` : undefined),
    },
    {
        what: "volume claims grown in place (their StorageClass must allow volume expansion; an attached Azure Disk grows without a restart)",
        changed: (c) => {
            const [before, after] = [claimRequest(c.before), claimRequest(c.after)];
            return before && after && after.bytes > before.bytes
                ? `PersistentVolumeClaim ${metadataName(c.after)} ${before.size} -> ${after.size}`
                : undefined;
        },
    },
    {
        what: "static server parameters, live only after the next server restart (az postgres flexible-server restart)",
        added: (r) => staticParameter(r),
        changed: (c) => (changesUnder(c, "value") ? staticParameter(c.after) : undefined),
    },
    {
        what: "the Flexible Server restarts for a new compute size (HA servers fail over)",
        changed: (c) =>
            !c.replaced && c.after.type === "azure-native:dbforpostgresql:Server" && changesUnder(c, "sku")
                ? String(c.after.inputs.serverName ?? c.after.name)
                : undefined,
    },
    {
        what: "Jobs that run once more (a new name for each change they carry)",
        added: (r) => (r.type === "kubernetes:batch/v1:Job" ? metadataName(r) : undefined),
        changed: (c) => (c.replaced && c.after.type === "kubernetes:batch/v1:Job" ? metadataName(c.after) : undefined),
    },
];

function staticParameter(r: PlanResource): string | undefined {
    const name = r.inputs.configurationName;
    return r.type === "azure-native:dbforpostgresql:Configuration" &&
        typeof name === "string" &&
        AZURE_STATIC_PARAMETERS.includes(name)
        ? `${name} = ${String(r.inputs.value)}`
        : undefined;
}

/** One line per kind of change that touches running servers: `<what>: <resource>, <resource>`. */
export function operationsOf(added: readonly PlanResource[], changed: readonly Change[]): string[] {
    return OPERATIONS.flatMap((o) => {
        const entries = [...added.map((r) => o.added?.(r)), ...changed.map((c) => o.changed?.(c))].filter(
            (e): e is string => e !== undefined,
        );
        return entries.length > 0 ? [`${o.what}: ${entries.join(", ")}`] : [];
    });
}
