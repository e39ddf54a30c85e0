/**
 * One stack's recorded plan as the lifecycle harness reads it (every object's inputs, secrets unwrapped, from a mock
 * run of the real program), and the dependency order `pulumi up` follows.
 */
import { ConfigError, PlatformConfig, parseConfig, parseTenantRaw } from "../components/config";
import { REDIS_COMPONENT_TYPE } from "../components/redis/layout";
import { RecordedResource, RunResult, runProgram } from "../offline/mockEngine";
import { StackConfig, loadStackConfig } from "../offline/stackConfig";
import { runTenant } from "../offline/tenantStacks";

export const TYPES = {
    vaultSecret: "azure-native:keyvault:Secret",
    pgServer: "azure-native:dbforpostgresql:Server",
    pgDatabase: "azure-native:dbforpostgresql:Database",
    pgConfiguration: "azure-native:dbforpostgresql:Configuration",
    externalSecret: "kubernetes:external-secrets.io/v1:ExternalSecret",
    configMap: "kubernetes:core/v1:ConfigMap",
    statefulSet: "kubernetes:apps/v1:StatefulSet",
    claimPatch: "kubernetes:core/v1:PersistentVolumeClaimPatch",
    job: "kubernetes:batch/v1:Job",
    certificate: "kubernetes:cert-manager.io/v1:Certificate",
    namespace: "kubernetes:core/v1:Namespace",
    namespacePatch: "kubernetes:core/v1:NamespacePatch",
    sgCluster: "kubernetes:stackgres.io/v1:SGCluster",
} as const;

/** A stack's plan: the mock run and its validated configuration (whose `redis` section the ConfigMap is rendered from). */
export interface StackPlan {
    readonly stack: string;
    readonly file: string;
    readonly config: PlatformConfig;
    readonly run: RunResult;
    readonly byUrn: ReadonlyMap<string, RecordedResource>;
}

/** A stack file the harness cannot use; the message says which file and why. */
export class LifecycleInputError extends Error {}

/** A stack file read and validated (no program run yet). */
export interface StackFile {
    readonly stack: string;
    readonly file: string;
    readonly config: PlatformConfig;
    readonly raw: StackConfig;
}

/** Reads and validates `file` as a config of `stack`; a clear LifecycleInputError otherwise. */
export function readStack(stack: string, file: string): StackFile {
    let raw: StackConfig;
    try {
        raw = loadStackConfig(stack, file);
    } catch (err) {
        throw new LifecycleInputError(`${file}: cannot be read as a stack file (${(err as Error).message})`);
    }
    try {
        return { stack, file, config: parseConfig(raw.config, stack, raw.secretKeys), raw };
    } catch (err) {
        if (err instanceof ConfigError) {
            throw new LifecycleInputError(`${file}: invalid configuration for stack ${stack}:\n${err.message}`);
        }
        throw err;
    }
}

/** Runs the real program for a read stack file under the mock engine. */
export async function planOf(read: StackFile): Promise<StackPlan> {
    const run = await runProgram({ stack: read.stack, ...read.raw });
    // The harness runs the stack's Redis: a plan without it has nothing to run.
    if (!run.resources.some((r) => r.type === REDIS_COMPONENT_TYPE)) {
        throw new LifecycleInputError(`${read.file}: the plan has no ${REDIS_COMPONENT_TYPE}`);
    }
    return {
        stack: read.stack,
        file: read.file,
        config: read.config,
        run,
        byUrn: new Map(run.resources.map((r) => [r.urn, r])),
    };
}

/** Validates `file` as a config of `stack` and runs the real program for it under the mock engine. */
export function loadPlan(stack: string, file: string): Promise<StackPlan> {
    return planOf(readStack(stack, file));
}

/**
 * A tenant stack's plan beside its platform's (`platform`, as the cluster runs it): the real program run as its
 * `pulumi up` would be, its StackReference answered by the platform's run (offline/tenantStacks.ts `runTenant`); its
 * config is the platform's shared one with the tenant's applications, as the program validates it.
 */
export async function tenantPlanOf(stack: string, file: string, platform: StackPlan): Promise<StackPlan> {
    let raw: StackConfig;
    let config: PlatformConfig;
    try {
        raw = loadStackConfig(stack, file);
        const shared = loadStackConfig(platform.stack, platform.file);
        config = parseTenantRaw(raw.config, stack, {
            stack: platform.stack,
            raw: shared.config,
            secretKeys: shared.secretKeys,
        });
    } catch (err) {
        throw new LifecycleInputError(`${file}: not a tenant stack of ${platform.file} (${(err as Error).message})`);
    }
    const run = await runTenant(stack, raw, platform.run, { preview: false });
    return { stack, file, config, run, byUrn: new Map(run.resources.map((r) => [r.urn, r])) };
}

/** Refuses two plans that are not one stack's before and after (a change cannot move servers between them). */
export function assertSameStack(before: Pick<StackFile, "stack" | "file" | "config">, after: typeof before): void {
    const problems: string[] = [];
    const same = (what: string, a: unknown, b: unknown) => {
        if (JSON.stringify(a) !== JSON.stringify(b)) {
            problems.push(`${what}: ${JSON.stringify(a)} in ${before.file}, ${JSON.stringify(b)} in ${after.file}`);
        }
    };
    same("stack", before.stack, after.stack);
    same("azure.resourceGroupName", before.config.azure.resourceGroupName, after.config.azure.resourceGroupName);
    same("cluster.aks", before.config.cluster.aks, after.config.cluster.aks);
    same("cluster.platformNamespace", before.config.cluster.platformNamespace, after.config.cluster.platformNamespace);
    same("postgres.mode", before.config.postgres.mode, after.config.postgres.mode);
    same("redis.mode", before.config.redis.mode, after.config.redis.mode);
    same("redis.replicas", before.config.redis.replicas, after.config.redis.replicas);
    same("redis.sentinels", before.config.redis.sentinels, after.config.redis.sentinels);
    if (problems.length > 0) {
        throw new LifecycleInputError(
            `${before.file} and ${after.file} are not the same stack before and after a change (the harness does not ` +
                `move or resize servers):\n${problems.map((p) => `  ${p}`).join("\n")}`,
        );
    }
}

/** Dependencies before dependents; ties in URN order (the plan's order), so the order is deterministic. */
export function topologicalOrder(resources: readonly RecordedResource[]): RecordedResource[] {
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const done = new Set<string>();
    const out: RecordedResource[] = [];
    const visit = (r: RecordedResource, path: Set<string>) => {
        if (done.has(r.urn) || path.has(r.urn)) {
            return;
        }
        path.add(r.urn);
        for (const dep of [...r.dependencies, ...(r.parent ? [r.parent] : [])]) {
            const d = byUrn.get(dep);
            if (d) {
                visit(d, path);
            }
        }
        done.add(r.urn);
        out.push(r);
    };
    for (const r of resources) {
        visit(r, new Set());
    }
    return out;
}

/** Every resource that depends on `urn`, directly or through others (what a failed step holds back). */
export function dependentsOf(plan: StackPlan, urn: string): Set<string> {
    const out = new Set<string>();
    let grew = true;
    while (grew) {
        grew = false;
        for (const r of plan.run.resources) {
            if (!out.has(r.urn) && r.dependencies.some((d) => d === urn || out.has(d))) {
                out.add(r.urn);
                grew = true;
            }
        }
    }
    return out;
}

/** `<kind>/<namespace>/<name>` of a Kubernetes object in the plan. */
export function objectKey(r: Pick<RecordedResource, "inputs">): string {
    const m = r.inputs.metadata ?? {};
    return `${r.inputs.kind}/${m.namespace ?? ""}/${m.name}`;
}

export function secretKey(namespace: string, name: string): string {
    return `${namespace}/${name}`;
}
