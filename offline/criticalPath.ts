/**
 * The deploy critical path of a recorded plan: the longest chain of resources through the dependency graph, with an
 * estimated duration per resource type, the refresh-interval waits on it (an ExternalSecret that a change to its vault
 * secrets reaches only at its next refresh), and the edges that carry no data (a `dependsOn` with no input flowing).
 */
import type { Plan, PlanResource } from "./plan";
import { SOURCE_VERSIONS_ANNOTATION } from "../components/secretSync/spec";

/** Estimated seconds to create one resource of a type, and where the figure comes from. */
interface Duration {
    readonly seconds: number;
    readonly source: string;
}

/**
 * The one table of durations. Figures without a published measurement are marked as estimates; they set only which
 * chain is longest, and every Azure figure dwarfs the Kubernetes ones whatever their exact value.
 */
export const DEPLOY_DURATIONS: Readonly<Record<string, Duration>> = {
    "azure-native:dbforpostgresql:Server": {
        seconds: 565,
        source: "create+destroy of a basic server, hashicorp/terraform-provider-azurerm#13507 (shared/reference/azure.md §6)",
    },
    "azure-native:dbforpostgresql:Configuration": {
        seconds: 30,
        source: "estimate; applied one at a time (AVM @batchSize(1), shared/reference/azure.md §1.1)",
    },
    "azure-native:dbforpostgresql:Database": { seconds: 20, source: "estimate" },
    "azure-native:authorization:RoleAssignment": {
        seconds: 30,
        source: "RBAC propagation: Terraform AVM Key Vault waits 30 s (shared/reference/azure.md §1.3, §3.6)",
    },
    "azure-native:keyvault:Vault": { seconds: 30, source: "estimate" },
    "azure-native:keyvault:Secret": { seconds: 2, source: "estimate (one ARM PUT)" },
    "azure-native:managedidentity:UserAssignedIdentity": { seconds: 5, source: "estimate" },
    "azure-native:managedidentity:FederatedIdentityCredential": {
        seconds: 5,
        source: "estimate (writes per identity are serialised, pulumi/pulumi-azure-native#4421)",
    },
    "azure-native:network:PrivateEndpoint": { seconds: 60, source: "estimate" },
    "kubernetes:helm.sh/v3:Release": { seconds: 60, source: "estimate (chart install, await ready)" },
    "kubernetes:stackgres.io/v1:SGCluster": { seconds: 180, source: "estimate (Patroni bootstrap, one instance)" },
    "kubernetes:apps/v1:StatefulSet": { seconds: 60, source: "estimate (ordered pod start, volume attach)" },
    "kubernetes:batch/v1:Job": {
        seconds: 30,
        source: "estimate (a Job run: the login Job, the ACL sync Job on a first deploy); the login Job creating databases adds ~0.2 s each (100-300 on PostgreSQL 15, a loaded 2-CPU machine), not counted",
    },
    "kubernetes:external-secrets.io/v1:ExternalSecret": { seconds: 5, source: "estimate (first sync)" },
};
/** Any other custom resource: one API call. */
const DEFAULT_DURATION: Duration = { seconds: 1, source: "estimate (one API call)" };

export interface PathStep {
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    readonly seconds: number;
    /** The ExternalSecret's refresh interval in seconds, when a vault change reaches it only then. */
    readonly refreshWait?: number;
}

export interface CriticalPath {
    readonly steps: readonly PathStep[];
    readonly seconds: number;
    readonly refreshWaits: number;
    /** Edges `dependency -> dependent` on the path that carry no input. */
    readonly dataLessEdges: readonly string[];
}

const EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret";
const VAULT_SECRET = "azure-native:keyvault:Secret";

function goSeconds(duration: string): number {
    const units: Record<string, number> = { h: 3600, m: 60, s: 1 };
    return [...duration.matchAll(/(\d+)([hms])/g)].reduce((sum, [, n, u]) => sum + Number(n) * units[u], 0);
}

/**
 * An ExternalSecret waits for its refresh interval when a vault secret it reads can change without the ExternalSecret
 * changing (no source-versions annotation), or when it may be created before that secret (no dependency on it).
 */
function refreshWait(resource: PlanResource, byVaultName: Map<string, PlanResource>): number | undefined {
    if (resource.type !== EXTERNAL_SECRET) {
        return undefined;
    }
    const spec = resource.inputs.spec as { refreshInterval: string; data: { remoteRef: { key: string } }[] };
    const sources = spec.data.flatMap((d) => byVaultName.get(d.remoteRef.key) ?? []);
    const annotations = (resource.inputs.metadata as { annotations?: Record<string, string> }).annotations ?? {};
    const versioned = sources.length === 0 || SOURCE_VERSIONS_ANNOTATION in annotations;
    const ordered = sources.every((s) => resource.dependencies.includes(s.urn));
    return versioned && ordered ? undefined : goSeconds(spec.refreshInterval);
}

function vaultSecretsByName(resources: readonly PlanResource[]): Map<string, PlanResource> {
    return new Map(resources.filter((r) => r.type === VAULT_SECRET).map((r) => [String(r.inputs.secretName), r]));
}

/** Every ExternalSecret of the plan that a change to its vault secrets reaches only at its next refresh. */
export function externalSecretsWaitingForRefresh(plan: Plan): string[] {
    const byVaultName = vaultSecretsByName(plan.resources);
    return plan.resources.filter((r) => refreshWait(r, byVaultName) !== undefined).map((r) => r.name);
}

/** The longest chain of the plan's custom resources, by estimated duration plus refresh waits. */
export function criticalPath(plan: Plan): CriticalPath {
    const custom = plan.resources.filter((r) => r.custom && !r.type.startsWith("pulumi:providers:"));
    const byUrn = new Map(custom.map((r) => [r.urn, r]));
    const byVaultName = vaultSecretsByName(custom);
    const best = new Map<string, { seconds: number; previous?: string }>();
    const cost = (r: PlanResource) => (DEPLOY_DURATIONS[r.type] ?? DEFAULT_DURATION).seconds;
    const visit = (urn: string): number => {
        const known = best.get(urn);
        if (known) {
            return known.seconds;
        }
        const r = byUrn.get(urn) as PlanResource;
        let previous: string | undefined;
        let before = 0;
        for (const dep of r.dependencies.filter((d) => byUrn.has(d))) {
            const seconds = visit(dep);
            if (seconds > before) {
                [before, previous] = [seconds, dep];
            }
        }
        const seconds = before + cost(r) + (refreshWait(r, byVaultName) ?? 0);
        best.set(urn, { seconds, previous });
        return seconds;
    };
    let end: string | undefined;
    for (const r of custom) {
        if (end === undefined || visit(r.urn) > visit(end)) {
            end = r.urn;
        }
    }
    const steps: PathStep[] = [];
    for (let urn = end; urn !== undefined; urn = best.get(urn)?.previous) {
        const r = byUrn.get(urn) as PlanResource;
        steps.unshift({ urn, type: r.type, name: r.name, seconds: cost(r), refreshWait: refreshWait(r, byVaultName) });
    }
    const dataLessEdges = steps.slice(1).flatMap((step, i) => {
        const dependency = steps[i].urn;
        const carries = Object.values(byUrn.get(step.urn)?.propertyDependencies ?? {}).some((deps) =>
            deps.includes(dependency),
        );
        return carries ? [] : [`${steps[i].name} -> ${step.name}`];
    });
    return {
        steps,
        seconds: end === undefined ? 0 : visit(end),
        refreshWaits: steps.filter((s) => s.refreshWait !== undefined).length,
        dataLessEdges,
    };
}

/** Edges anywhere in the plan from a Kubernetes Namespace to an Azure resource (which does not live in one). */
export function azureWaitsForNamespace(plan: Plan): string[] {
    const namespaces = new Set(
        plan.resources.filter((r) => r.type.startsWith("kubernetes:core/v1:Namespace")).map((r) => r.urn),
    );
    return plan.resources
        .filter((r) => r.type.startsWith("azure-native:") && r.dependencies.some((d) => namespaces.has(d)))
        .map((r) => r.name);
}

/** The bench rows: one summary line per stack, then its chain. */
export function criticalPathRows(stack: string, plan: Plan): string[] {
    const path = criticalPath(plan);
    const rows = [
        `critical path ${stack}: ${path.seconds} s over ${path.steps.length} resources, ${path.refreshWaits} refresh-interval waits, ${path.dataLessEdges.length} edges without data, ${azureWaitsForNamespace(plan).length} Azure resources waiting for a Namespace`,
    ];
    for (const step of path.steps) {
        const wait = step.refreshWait === undefined ? "" : ` + refresh wait ${step.refreshWait} s`;
        rows.push(`  ${String(step.seconds).padStart(5)} s  ${step.type.split(":").pop()} ${step.name}${wait}`);
    }
    path.dataLessEdges.forEach((e) => rows.push(`  no data: ${e}`));
    return rows;
}
