/**
 * Runs CrossGuard policies over what the mock engine recorded, the way the policy analyzer would:
 * resource policies see each registration's inputs (secrets unwrapped, behind the analyzer's
 * unknown-checking proxy) and options; stack policies see every non-provider resource's outputs with
 * parent and dependencies resolved. `notApplicable` throws and is recorded, as in the analyzer; reading
 * an input that is unknown during preview throws and becomes an advisory "can't run during preview".
 */
import type {
    EnforcementLevel,
    Policies,
    PolicyResource,
    PolicyResourceOptions,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import * as fs from "fs";
import * as path from "path";
import type { RecordedResource, RunResult } from "../../offline/mockEngine";
import { copyRecorded, replaceAtPaths } from "../../offline/paths";

// Exported at run time, declared @internal (stripped from the typings).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { unknownCheckingProxy, UnknownValueError } = require("@pulumi/policy") as {
    unknownCheckingProxy<T extends object>(o: T): T;
    UnknownValueError: new (...args: never[]) => Error;
};

/** How the engine sends an input that is unknown during preview (the proxy throws on reading it). */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/**
 * A pack config as `--policy-pack-config` gives it: per policy its settings (`{ "enforcementLevel"?, ...props }`) or
 * only its level (a string), and `all`: the level of every policy without its own (pulumi/pulumi
 * `pkg/resource/analyzer/config.go`).
 */
export type PackConfig = Record<string, Record<string, unknown> | string>;

const LEVELS: readonly EnforcementLevel[] = ["advisory", "mandatory", "remediate", "disabled"];
/** The key that sets every policy's level. */
const ALL = "all";

/** A policy's settings in a pack config: its object, or `{ enforcementLevel }` when only a level is given. */
export function settingsIn(config: PackConfig, policy: string): Record<string, unknown> {
    const entry = config[policy];
    return typeof entry === "string" ? { enforcementLevel: entry } : (entry ?? {});
}

/** The level a policy runs at: its own entry's, else `all`'s, else undefined (the policy's or the pack's). */
export function configuredLevel(config: PackConfig, policy: string): EnforcementLevel | undefined {
    const own = settingsIn(config, policy).enforcementLevel as EnforcementLevel | undefined;
    return own ?? (typeof config[ALL] === "string" ? (config[ALL] as EnforcementLevel) : undefined);
}

/** What the CLI would refuse in a pack config: unknown policies or settings, levels that are none. */
export function packConfigProblems(
    config: PackConfig,
    policies: ReadonlyArray<{ name: string; configSchema?: { properties: Record<string, unknown> } }>,
): string[] {
    const level = (key: string, value: unknown) =>
        LEVELS.includes(value as EnforcementLevel)
            ? []
            : [`${key}: ${JSON.stringify(value)} is not an enforcement level (${LEVELS.join(", ")})`];
    return Object.entries(config).flatMap(([key, entry]) => {
        if (key === ALL) {
            return level(key, entry);
        }
        const policy = policies.find((p) => p.name === key);
        if (!policy) {
            return [`${key}: no such policy`];
        }
        const settings = settingsIn(config, key);
        const allowed = ["enforcementLevel", ...Object.keys(policy.configSchema?.properties ?? {})];
        return [
            ...(settings.enforcementLevel === undefined
                ? []
                : level(`${key}.enforcementLevel`, settings.enforcementLevel)),
            ...Object.keys(settings)
                .filter((k) => !allowed.includes(k))
                .map((k) => `${key}: unknown setting ${k}`),
        ];
    });
}

/** The stack's `--policy-pack-config` file. */
export function packConfig(stack: string): PackConfig {
    return JSON.parse(
        fs.readFileSync(path.resolve(__dirname, "..", "..", "policy", "config", `${stack}.json`), "utf8"),
    );
}

export interface Violation {
    readonly policy: string;
    readonly enforcementLevel: EnforcementLevel;
    readonly message: string;
    readonly urn?: string;
}

export interface PolicyRun {
    readonly violations: Violation[];
    /** Policy name -> reasons it was not applicable (resource policies: one per resource). */
    readonly notApplicable: Map<string, string[]>;
}

export interface RunOptions {
    readonly config?: PackConfig;
    readonly stackTags?: ReadonlyMap<string, string>;
    /** The pack's default enforcement level (CrossGuard's is advisory). */
    readonly packEnforcement?: EnforcementLevel;
}

class NotApplicable extends Error {
    constructor(readonly reason: string) {
        super(reason);
    }
}

// Thrown for every resource a policy does not apply to, caught here and never shown: so without a stack (capturing
// them was a third of a pack's run).
function throwNotApplicable(reason?: string): never {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    const signal = new NotApplicable(reason ?? "");
    Error.stackTraceLimit = limit;
    throw signal;
}

function isResourcePolicy(p: ResourceValidationPolicy | StackValidationPolicy): p is ResourceValidationPolicy {
    return !("validateStack" in p);
}

/** Seconds in a Go-style duration such as `20m` or `1h30m` (how custom timeouts are given). */
function seconds(duration: string | undefined): number {
    if (!duration) {
        return 0;
    }
    const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };
    let total = 0;
    for (const m of duration.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) {
        total += Number(m[1]) * units[m[2]];
    }
    return total;
}

/** The options CrossGuard hands a policy, from the recorded registration. */
export function policyOptions(r: RecordedResource): PolicyResourceOptions {
    const o = r.options;
    return {
        protect: o.protect ?? false,
        ignoreChanges: [...o.ignoreChanges],
        ...(o.deleteBeforeReplace !== undefined ? { deleteBeforeReplace: o.deleteBeforeReplace } : {}),
        aliases: o.aliases.filter((a): a is string => typeof a === "string"),
        customTimeouts: {
            createSeconds: seconds(o.customTimeouts?.create),
            updateSeconds: seconds(o.customTimeouts?.update),
            deleteSeconds: seconds(o.customTimeouts?.delete),
        },
        additionalSecretOutputs: [...o.additionalSecretOutputs],
        ...(r.parent ? { parent: r.parent } : {}),
    };
}

function typeChecks(type: string) {
    const matches = (cls: unknown) => (cls as { __pulumiType?: string }).__pulumiType === type;
    return { matches };
}

function configGetter(config: PackConfig, policy: string): <T extends object>() => T {
    return <T extends object>() => {
        const { enforcementLevel: _level, ...props } = settingsIn(config, policy);
        return props as T;
    };
}

/** The arguments a resource policy receives for one recorded registration. */
export function resourceArgs(r: RecordedResource, policy: string, options: RunOptions = {}): ResourceValidationArgs {
    // Each policy gets its own copy, made when it first reads the props: one that checks only the type copies nothing.
    let copy: Record<string, any> | undefined;
    const props = () => (copy ??= unknownCheckingProxy(replaceAtPaths(r.inputs, r.unknownPaths, UNKNOWN)));
    const { matches } = typeChecks(r.type);
    return {
        type: r.type,
        get props() {
            return props();
        },
        urn: r.urn,
        name: r.name,
        opts: policyOptions(r),
        stackTags: options.stackTags ?? new Map(),
        isType: (cls) => matches(cls),
        asType: ((cls: unknown) => (matches(cls) ? props() : undefined)) as ResourceValidationArgs["asType"],
        getConfig: configGetter(options.config ?? {}, policy),
        notApplicable: throwNotApplicable,
    };
}

/** Every non-provider resource as a stack policy sees it (props are the outputs). */
export function stackResources(result: RunResult): PolicyResource[] {
    const recorded = result.resources.filter((r) => !r.type.startsWith("pulumi:providers:"));
    const byUrn = new Map<string, PolicyResource>();
    for (const r of recorded) {
        const { matches } = typeChecks(r.type);
        // Copied when a policy first reads them, as for resource policies.
        let copy: Record<string, any> | undefined;
        const props = () => (copy ??= unknownCheckingProxy(copyRecorded(r.outputs)));
        byUrn.set(r.urn, {
            type: r.type,
            get props() {
                return props();
            },
            urn: r.urn,
            name: r.name,
            opts: policyOptions(r),
            dependencies: [],
            propertyDependencies: {},
            isType: (cls) => matches(cls),
            asType: ((cls: unknown) => (matches(cls) ? props() : undefined)) as PolicyResource["asType"],
        });
    }
    const resolve = (urns: readonly string[]) =>
        urns.map((u) => byUrn.get(u)).filter((x): x is PolicyResource => x !== undefined);
    for (const r of recorded) {
        const resource = byUrn.get(r.urn) as { -readonly [K in keyof PolicyResource]: PolicyResource[K] };
        resource.parent = r.parent ? byUrn.get(r.parent) : undefined;
        resource.dependencies = resolve(r.dependencies);
        resource.propertyDependencies = Object.fromEntries(
            Object.entries(r.propertyDependencies).map(([k, v]) => [k, resolve(v)]),
        );
    }
    return [...byUrn.values()];
}

/** Runs every policy over the run's resources; returns the violations and not-applicable reasons. */
export async function runPolicies(policies: Policies, result: RunResult, options: RunOptions = {}): Promise<PolicyRun> {
    const config = options.config ?? {};
    const violations: Violation[] = [];
    const notApplicable = new Map<string, string[]>();
    const skip = (policy: string, reason: string) =>
        notApplicable.set(policy, [...(notApplicable.get(policy) ?? []), reason]);
    const analyzed = result.resources.filter(
        (r) => !r.type.startsWith("pulumi:providers:") && r.type !== "pulumi:pulumi:Stack",
    );

    for (const policy of policies) {
        const level =
            configuredLevel(config, policy.name) ?? policy.enforcementLevel ?? options.packEnforcement ?? "advisory";
        if (level === "disabled") {
            continue;
        }
        const reported = level === "remediate" ? "mandatory" : level;
        const collect =
            (urn?: string): ReportViolation =>
            (message, violationUrn) => {
                violations.push({ policy: policy.name, enforcementLevel: reported, message, urn: violationUrn ?? urn });
            };
        const guarded = async (run: () => unknown, urn?: string) => {
            try {
                await run();
            } catch (err) {
                if (err instanceof NotApplicable) {
                    skip(policy.name, err.reason);
                } else if (err instanceof UnknownValueError) {
                    violations.push({
                        policy: policy.name,
                        enforcementLevel: "advisory",
                        message: `can't run policy ${policy.name} during preview: ${err.message}`,
                        urn,
                    });
                } else {
                    throw new Error(`policy ${policy.name} threw: ${err instanceof Error ? err.stack : String(err)}`);
                }
            }
        };
        if (isResourcePolicy(policy)) {
            const validations =
                policy.validateResource === undefined
                    ? []
                    : Array.isArray(policy.validateResource)
                      ? policy.validateResource
                      : [policy.validateResource];
            for (const r of analyzed) {
                for (const validate of validations) {
                    await guarded(() => validate(resourceArgs(r, policy.name, options), collect(r.urn)), r.urn);
                }
            }
        } else {
            const args: StackValidationArgs = {
                resources: stackResources(result),
                stackTags: options.stackTags ?? new Map(),
                getConfig: configGetter(config, policy.name),
                notApplicable: throwNotApplicable,
            };
            await guarded(() => policy.validateStack(args, collect()));
        }
    }
    return { violations, notApplicable };
}

/** Human-readable violations, for assertion messages. */
export function describe(violations: readonly Violation[]): string {
    return violations.map((v) => `  [${v.enforcementLevel}] ${v.policy}: ${v.message}`).join("\n") || "  (none)";
}
