/**
 * What the property tests check on one run of the program (tests/properties/program.test.ts), as lines of problems, and
 * what identifies its stateful things. Computed where the run happens (a worker thread of `programPool.ts`), so
 * only these small results travel.
 */
import { strict as assert } from "assert";
import { StatefulSet } from "kubernetes-models/apps/v1";
import { CronJob, Job } from "kubernetes-models/batch/v1";
import { ConfigMap, Namespace, Service, ServiceAccount } from "kubernetes-models/v1";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { Role, RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1";
import { RecordedResource, RunResult, runProgram } from "../../offline/mockEngine";
import { isManifest } from "../../offline/plan";
import { StackConfig, loadStackConfig, mergeConfig } from "../../offline/stackConfig";
import { allPolicies } from "../../policy/policies";
import { PlatformConfig, parseConfig } from "../../components/config";
import { azureFootprint } from "../../components/limits";
import { headroomRows } from "../../offline/headroom";
import type { Overrides } from "./config";
import { validateAgainstCrd } from "./crdSchemas";
import { passwordsWritten } from "./passwordLeaks";
import { AZURE_NAMES, LABEL_NAMED, LABEL_VALUE, fitsKey, fitsLabel, fitsSubdomain } from "./nameRules";
import { packConfig, runPolicies } from "./policyHarness";

/** Names in one recorded resource that break their API's rules. */
function badNames(r: RecordedResource): string[] {
    const bad: string[] = [];
    if (r.type.startsWith("azure-native:")) {
        for (const [field, rule] of Object.entries(AZURE_NAMES)) {
            const name = r.inputs[field];
            if (name !== undefined && !(typeof name === "string" && rule.test(name))) {
                bad.push(`${r.name}: ${field} ${JSON.stringify(name)}`);
            }
        }
    }
    if (isManifest(r)) {
        const { kind, metadata = {} } = r.inputs;
        const fits = LABEL_NAMED.has(kind) ? fitsLabel : fitsSubdomain;
        if (!fits(String(metadata.name))) {
            bad.push(`${r.name}: ${kind} name ${JSON.stringify(metadata.name)}`);
        }
        if (metadata.namespace !== undefined && !fitsLabel(String(metadata.namespace))) {
            bad.push(`${r.name}: namespace ${JSON.stringify(metadata.namespace)}`);
        }
        for (const [key, value] of Object.entries<unknown>(metadata.labels ?? {})) {
            if (!fitsKey(key) || !(typeof value === "string" && LABEL_VALUE.test(value))) {
                bad.push(`${r.name}: label ${key}=${JSON.stringify(value)}`);
            }
        }
        for (const key of Object.keys(metadata.annotations ?? {}).filter((k) => !fitsKey(k))) {
            bad.push(`${r.name}: annotation ${key}`);
        }
    }
    return bad;
}

/**
 * Two resources that would be one object: Kubernetes objects of one kind, namespace and name (the API server keeps one;
 * the mock engine records both), Key Vault secrets of one name, and URNs the engine refuses twice.
 */
export function duplicateNames(resources: readonly RecordedResource[]): string[] {
    const owners = new Map<string, string>();
    const duplicates: string[] = [];
    const claim = (identity: string | undefined, holder: string) => {
        if (identity === undefined) {
            return;
        }
        const first = owners.get(identity);
        if (first !== undefined) {
            duplicates.push(`${identity}: ${first} and ${holder}`);
        } else {
            owners.set(identity, holder);
        }
    };
    for (const r of resources) {
        claim(`urn ${r.urn}`, r.name);
        if (isManifest(r)) {
            const { apiVersion, kind, metadata = {} } = r.inputs;
            claim(`${apiVersion}/${kind} ${metadata.namespace ?? "(cluster)"}/${metadata.name}`, r.name);
        }
        if (r.type === "azure-native:keyvault:Secret") {
            claim(`Key Vault secret ${r.inputs.secretName}`, r.name);
        }
    }
    return duplicates;
}

/**
 * Integers outside int32 anywhere in the inputs: Kubernetes declares most integer fields int32, ARM's are int32, and
 * StackGres binds its CRDs to Java `Integer` where the CRD says only `type: integer` (its SGScript ids overflowed).
 */
function int32Overflows(value: unknown, at: string, out: string[] = []): string[] {
    if (typeof value === "number" && Number.isInteger(value) && (value < -(2 ** 31) || value >= 2 ** 31)) {
        out.push(`${at}: ${value}`);
    } else if (value !== null && typeof value === "object") {
        for (const [key, v] of Object.entries(value)) {
            int32Overflows(v, `${at}.${key}`, out);
        }
    }
    return out;
}

/** Core Kubernetes kinds the program registers, validated with kubernetes-models. */
const CORE_MODELS: Readonly<Record<string, new (data: any) => { validate(): void }>> = {
    "kubernetes:apps/v1:StatefulSet": StatefulSet,
    "kubernetes:batch/v1:CronJob": CronJob,
    "kubernetes:batch/v1:Job": Job,
    "kubernetes:core/v1:ConfigMap": ConfigMap,
    "kubernetes:core/v1:Namespace": Namespace,
    "kubernetes:core/v1:Service": Service,
    "kubernetes:core/v1:ServiceAccount": ServiceAccount,
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": NetworkPolicy,
    "kubernetes:policy/v1:PodDisruptionBudget": PodDisruptionBudget,
    "kubernetes:rbac.authorization.k8s.io/v1:Role": Role,
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": RoleBinding,
};

/** Schema problems of one recorded object: upstream CRDs (StackGres, ESO) or kubernetes-models; none for others. */
function schemaProblems(r: RecordedResource): string[] {
    if (/^kubernetes:(stackgres\.io|external-secrets\.io)\//.test(r.type)) {
        return validateAgainstCrd(r.inputs).map((p) => `${r.name}: ${p}`);
    }
    const Model = CORE_MODELS[r.type];
    if (!Model) {
        return [];
    }
    try {
        new Model(r.inputs).validate();
        return [];
    } catch (err) {
        return [`${r.name}: ${err instanceof Error ? err.message : err}`];
    }
}

/** Every check on one run, one line per problem: none when the run passes. */
export async function runProblems(stack: string, run: RunResult): Promise<string[]> {
    const label = (what: string, lines: readonly string[]) => lines.map((l) => `${what}: ${l}`);
    // prod is the production profile on production defaults: no mandatory policy violation (dev: its pack config).
    return [
        ...label("password", passwordsWritten(run)),
        ...label("schema", run.resources.flatMap(schemaProblems)),
        ...label("name", run.resources.flatMap(badNames)),
        ...label("duplicate", duplicateNames(run.resources)),
        ...label(
            "int32",
            run.resources.flatMap((r) => int32Overflows(r.inputs, r.name)),
        ),
        ...label("policy", await mandatoryViolations(stack, run)),
    ];
}

/**
 * What identifies each stateful thing of a run (protected or retained on delete, and every generated password),
 * by URN: its name inputs, for a StatefulSet also the fields a change of would replace it, for a password every
 * input (a change regenerates it).
 */
export function statefulIdentities(run: RunResult): Map<string, string> {
    const identities = new Map<string, string>();
    for (const r of run.resources) {
        const password = r.type === "random:index/randomPassword:RandomPassword";
        if (!password && !r.options.protect && !r.options.retainOnDelete) {
            continue;
        }
        const names = Object.entries(r.inputs).filter(([key]) => key.endsWith("Name"));
        const { name, namespace } = r.inputs.metadata ?? {};
        const spec = r.inputs.spec ?? {};
        const immutable = r.type.endsWith(":StatefulSet")
            ? [spec.serviceName, spec.selector, spec.volumeClaimTemplates]
            : [];
        identities.set(r.urn, JSON.stringify(password ? r.inputs : [names, name, namespace, immutable]));
    }
    return identities;
}

/**
 * The config's count of what Azure limits (components/limits.ts, which the config refuses past a limit) against what
 * the run registered: one line per count that differs.
 */
export function footprintProblems(config: PlatformConfig, run: RunResult): string[] {
    const planned = azureFootprint(config);
    const measured = Object.fromEntries(headroomRows(run.resources).map((row) => [row.limit, row.used]));
    const expected = {
        roleAssignments: planned.roleAssignments,
        identitiesPerResourceGroup: Math.max(...planned.identitiesByResourceGroup.values()),
        federatedCredentialsPerIdentity: planned.mostFederatedCredentials,
    };
    return Object.entries(expected)
        .filter(([limit, count]) => measured[limit] !== count)
        .map(([limit, count]) => `${limit}: the config counts ${count}, the program registered ${measured[limit]}`);
}

/** One run's result as the properties use it. */
export interface Verdict {
    /** The run failed: its error's stack. */
    readonly error?: string;
    readonly problems: string[];
    readonly identities: Array<[string, string]>;
}

const stackFiles = new Map<string, StackConfig>();

/** Runs the program for a stack file with `overrides`, and with `checked` checks the run. */
export async function verdictOf(stack: string, overrides: Overrides, checked: boolean): Promise<Verdict> {
    if (!stackFiles.has(stack)) {
        stackFiles.set(stack, loadStackConfig(stack));
    }
    try {
        const merged = mergeConfig(stackFiles.get(stack)!, overrides);
        const run = await runProgram({ stack, ...merged });
        const problems = checked
            ? [
                  ...(await runProblems(stack, run)),
                  ...footprintProblems(parseConfig(merged.config, stack, merged.secretKeys), run).map(
                      (line) => `footprint: ${line}`,
                  ),
              ]
            : [];
        return { problems, identities: [...statefulIdentities(run)] };
    } catch (err) {
        return { error: err instanceof Error ? (err.stack ?? err.message) : String(err), problems: [], identities: [] };
    }
}

/** The stack's mandatory policy violations, as `policy: message` lines. */
export async function mandatoryViolations(stack: string, run: RunResult): Promise<string[]> {
    const result = await runPolicies(allPolicies, run, { config: packConfig(stack) });
    return result.violations.filter((v) => v.enforcementLevel === "mandatory").map((v) => `${v.policy}: ${v.message}`);
}

/**
 * Every cloud and cluster resource of `before` is in `after` under the same URN with the same inputs (a component's
 * recorded inputs, such as the credential ids it was given, change nothing outside the state).
 */
export function assertKeepsCustomResources(before: RunResult, after: RunResult): void {
    const byUrn = new Map(after.resources.map((r) => [r.urn, r]));
    for (const r of before.resources.filter((resource) => resource.custom)) {
        const now = byUrn.get(r.urn);
        assert.ok(now, `${r.urn} is gone`);
        assert.deepEqual(now.inputs, r.inputs, r.urn);
    }
    assert.ok(after.resources.length > before.resources.length);
}
