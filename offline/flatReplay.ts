/**
 * The floor the bench compares the program with: a run's registrations replayed flat, as plain
 * `pulumi.CustomResource` / `ProviderResource` / `ComponentResource` calls with the recorded type, name,
 * inputs (secrets re-wrapped), parent, provider, dependencies and options, and no program code. What the
 * program costs beyond this replay is the cost of the program and of the mock engine, not of the SDK.
 */
import * as pulumi from "@pulumi/pulumi";
import { RecordedOptions, RecordedResource, RunResult, waitForRPCs } from "./mockEngine";
import { parsePath } from "./paths";
import { leanBookkeeping } from "./sdkBookkeeping";

/** What a replay needs of one registration (a `RecordedResource` minus what the engine derives). */
export type Registration = Pick<
    RecordedResource,
    "urn" | "type" | "name" | "custom" | "parent" | "provider" | "dependencies" | "inputs" | "secretPaths" | "id"
> & {
    readonly options: RecordedOptions;
    /** The provider's answer (custom resources) or the registered outputs (components). */
    readonly outputs: Record<string, any>;
};

const STACK_TYPE = "pulumi:pulumi:Stack";
const PROVIDER_TYPE_PREFIX = "pulumi:providers:";

/**
 * The registrations of a run in an order the replay can follow: `completionOrder` lists URNs as their
 * registrations completed (`RunOptions.onRegister`), so a parent, provider or dependency comes before
 * every resource that waited for it.
 */
export function registrationsOf(result: RunResult, completionOrder: readonly string[]): Registration[] {
    const byUrn = new Map(result.resources.map((r) => [r.urn, r]));
    return completionOrder.map((urn) => {
        const r = byUrn.get(urn);
        if (!r) {
            throw new Error(`flat replay: ${urn} completed but is not in the run's resources`);
        }
        const { type, name, custom, parent, provider, dependencies, inputs, secretPaths, id, options, outputs } = r;
        return { urn, type, name, custom, parent, provider, dependencies, inputs, secretPaths, id, options, outputs };
    });
}

/** A copy of `inputs` with the value at each secret path wrapped in `pulumi.secret`. */
function withSecrets(inputs: Record<string, any>, secretPaths: readonly string[]): Record<string, any> {
    if (secretPaths.length === 0) {
        return inputs;
    }
    const copy = structuredClone(inputs);
    for (const p of secretPaths) {
        const segments = parsePath(p);
        let node: any = copy;
        for (const s of segments.slice(0, -1)) {
            node = node[s];
        }
        const last = segments[segments.length - 1];
        node[last] = pulumi.secret(node[last]);
    }
    return copy;
}

/**
 * Recorded aliases as the `Alias` values that produce them. The SDK reads an alias's fields by presence, so
 * empty ones are left out (they default to the resource's own), and a spec's parent is the resource's unless
 * it names another.
 */
function aliasesOf(recorded: readonly unknown[], parentUrn: string | undefined): (string | pulumi.Alias)[] {
    return recorded.map((a: any) => {
        if (typeof a === "string" || a.urn) {
            return typeof a === "string" ? a : a.urn;
        }
        const { name, type, stack, project, parenturn, noparent } = a.spec;
        const present = Object.entries({ name, type, stack, project }).filter(([, v]) => v);
        const alias: Record<string, unknown> = Object.fromEntries(present);
        if (noparent) {
            alias.parent = undefined;
        } else if (parenturn && parenturn !== parentUrn) {
            alias.parent = parenturn;
        }
        return alias as pulumi.Alias;
    });
}

// The SDK's classes as they are: abstract in the typings only, and a component that registers the recorded outputs.
class FlatProvider extends pulumi.ProviderResource {}
class FlatCustomResource extends pulumi.CustomResource {}
class FlatComponent extends pulumi.ComponentResource {
    constructor(
        type: string,
        name: string,
        inputs: pulumi.Inputs,
        opts: pulumi.ComponentResourceOptions,
        outputs: Record<string, any>,
    ) {
        super(type, name, inputs, opts);
        this.registerOutputs(outputs);
    }
}

/**
 * Makes every registration again, in order; to be called as a Pulumi program (inside the stack).
 * Returns the stack outputs the recorded run registered.
 */
export function replayFlat(registrations: readonly Registration[]): Record<string, any> {
    const made = new Map<string, pulumi.Resource>();
    const resource = (urn: string): pulumi.Resource => {
        const r = made.get(urn);
        if (!r) {
            throw new Error(`flat replay: ${urn} is used before it is registered`);
        }
        return r;
    };
    // The stack is the SDK's own (`runInPulumiStack`); its children are made without a parent, as in the program.
    let stack: Registration | undefined;
    for (const r of registrations) {
        if (r.type === STACK_TYPE) {
            stack = r;
            continue;
        }
        const o = r.options;
        const opts: pulumi.CustomResourceOptions = {
            parent: r.parent === undefined || r.parent === stack?.urn ? undefined : resource(r.parent),
            dependsOn: r.dependencies.map(resource),
            protect: o.protect,
            retainOnDelete: o.retainOnDelete,
            deleteBeforeReplace: o.deleteBeforeReplace,
            ignoreChanges: o.ignoreChanges.length > 0 ? o.ignoreChanges : undefined,
            replaceOnChanges: o.replaceOnChanges.length > 0 ? o.replaceOnChanges : undefined,
            additionalSecretOutputs: o.additionalSecretOutputs.length > 0 ? o.additionalSecretOutputs : undefined,
            aliases: o.aliases.length > 0 ? aliasesOf(o.aliases, r.parent) : undefined,
            deletedWith: o.deletedWith ? resource(o.deletedWith) : undefined,
            customTimeouts: o.customTimeouts,
            import: o.importId,
            provider: r.provider
                ? (resource(r.provider.slice(0, r.provider.lastIndexOf("::"))) as pulumi.ProviderResource)
                : undefined,
        };
        const inputs = withSecrets(r.inputs, r.secretPaths);
        const created = r.type.startsWith(PROVIDER_TYPE_PREFIX)
            ? new FlatProvider(r.type.slice(PROVIDER_TYPE_PREFIX.length), r.name, inputs, opts)
            : r.custom
              ? new FlatCustomResource(r.type, r.name, inputs, opts)
              : new FlatComponent(r.type, r.name, inputs, opts, r.outputs);
        made.set(r.urn, created);
    }
    return stack?.outputs ?? {};
}

/**
 * Runs the replay under plain `pulumi.runtime.setMocks`, answering each registration with the id and
 * outputs the recorded run got: the SDK's own cost for these registrations.
 */
export async function runFlat(project: string, stack: string, registrations: readonly Registration[]): Promise<void> {
    const answers = new Map<string, Registration[]>();
    for (const r of registrations) {
        const key = `${r.type}::${r.name}`;
        const same = answers.get(key);
        if (same) {
            same.push(r);
        } else {
            answers.set(key, [r]);
        }
    }
    await pulumi.runtime.setMocks(
        {
            newResource(args) {
                const answer = answers.get(`${args.type}::${args.name}`)?.shift();
                if (!answer) {
                    throw new Error(`flat replay: no recorded answer for ${args.type} ${args.name}`);
                }
                return { id: args.custom ? answer.id : undefined, state: answer.outputs };
            },
            call() {
                throw new Error("flat replay: registrations only, no invokes");
            },
        },
        project,
        stack,
        false,
    );
    // The same SDK bookkeeping as the mock engine's, so the two compare like for like.
    const restoreBookkeeping = leanBookkeeping();
    try {
        await pulumi.runtime.runInPulumiStack(async () => replayFlat(registrations));
        await waitForRPCs();
    } finally {
        restoreBookkeeping();
    }
}
