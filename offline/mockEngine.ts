/**
 * The mock engine: runs the real program (`index.ts`) for one stack configuration in-process under
 * `pulumi.runtime` mocks and records every registration the way the Pulumi engine would see it:
 * URN, type, name, parent, provider, dependencies, resource options, inputs, and which inputs are
 * secret. Tests and the offline plan both use it.
 *
 * What it does that plain `setMocks` does not:
 * - reads the resource options off each RegisterResource request (mocks only see type/name/inputs);
 * - applies each registration's `additionalSecretOutputs` to the mocked answer, as the real engine
 *   does (so `RandomPassword.result` is secret here as it is in a real deployment);
 * - fails the run on any invoke it has no realistic answer for.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { invokeAnswer, resourceAnswer } from "./answers";
import { Segment, formatPath } from "./paths";
import { leanBookkeeping } from "./sdkBookkeeping";

/** The resource options the engine receives with a registration. */
export interface RecordedOptions {
    readonly protect?: boolean;
    readonly retainOnDelete?: boolean;
    readonly deleteBeforeReplace?: boolean;
    readonly ignoreChanges: string[];
    readonly replaceOnChanges: string[];
    readonly additionalSecretOutputs: string[];
    readonly aliases: unknown[];
    readonly deletedWith?: string;
    readonly customTimeouts?: { create?: string; update?: string; delete?: string };
    readonly importId?: string;
}

export interface RecordedResource {
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    /** True for custom (provider) resources, false for components. */
    readonly custom: boolean;
    readonly parent?: string;
    /** Provider reference `<provider urn>::<provider id>`, for custom resources. */
    readonly provider?: string;
    /** Every resource this one depends on (explicit `dependsOn` and through inputs). */
    readonly dependencies: string[];
    /** Dependencies through each input property. */
    readonly propertyDependencies: Record<string, string[]>;
    /** Dependencies given explicitly with `dependsOn` (not explained by any input). */
    readonly dependsOn: string[];
    readonly options: RecordedOptions;
    /** Inputs as sent, with secrets unwrapped (their paths are in `secretPaths`). */
    readonly inputs: Record<string, any>;
    /** Paths of secret input values, e.g. `properties.value` or `spec.data[0]`. */
    readonly secretPaths: string[];
    /** Inputs still unknown at registration (preview runs only). */
    readonly unknownPaths: string[];
    readonly id?: string;
    /** Outputs the mocked provider answered with (includes inputs). */
    readonly outputs: Record<string, any>;
}

export interface RecordedInvoke {
    readonly token: string;
    readonly inputs: Record<string, any>;
}

export interface RunResult {
    readonly stack: string;
    /** Every registration, ordered by URN. */
    readonly resources: RecordedResource[];
    readonly invokes: RecordedInvoke[];
    /** Stack outputs, secrets unwrapped (their paths are in `outputSecretPaths`). */
    readonly outputs: Record<string, any>;
    readonly outputSecretPaths: string[];
}

export interface RunOptions {
    readonly stack: string;
    /** Config values keyed `<namespace>:<key>`, as strings (objects JSON-encoded). */
    readonly config: Record<string, string>;
    /** Keys whose values are secrets. */
    readonly secretKeys: string[];
    /** Run as a preview (`pulumi preview`): unanswered outputs are unknown. */
    readonly preview?: boolean;
    /** The program to run; defaults to the real `index.ts`. */
    readonly program?: () => unknown;
    /** Called for each registration as it completes (also for runs that fail). */
    readonly onRegister?: (resource: RecordedResource) => void;
    /** Called for each invoke as it is made (also for runs that fail). */
    readonly onInvoke?: (invoke: RecordedInvoke) => void;
    /**
     * The outputs of a stack a `pulumi.StackReference` names (a tenant stack's platform, from its recorded plan);
     * undefined: no such stack, and the run fails naming it, as the engine does.
     */
    readonly stackOutputs?: (stack: string) => Record<string, unknown> | undefined;
}

const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SIG_SECRET = "1b47061264138c4ac30d75fd1eb44270";
const SIG_RESOURCE_REFERENCE = "5cf8f73096256a8f31e491e813e4eb8e";
const SIG_OUTPUT_VALUE = "d0e6a833031e9bbcd3f4e8bde6ca49a4";
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
/** `pulumirpc.Result.SUCCESS`: the registration completed (not a partial failure with unknown outputs). */
const REGISTRATION_SUCCEEDED = 0;

export const PROJECT = "data-platform";
const PROGRAM = path.resolve(__dirname, "..", "index.ts");

/** Decodes a serialized property value, noting where secrets and unknowns were. */
export function decodeValue(value: unknown, at: Segment[], secretPaths: string[], unknownPaths: string[]): any {
    if (value === UNKNOWN) {
        unknownPaths.push(formatPath(at));
        return undefined;
    }
    if (Array.isArray(value)) {
        return value.map((v, i) => decodeValue(v, [...at, i], secretPaths, unknownPaths));
    }
    if (value === null || typeof value !== "object") {
        return value;
    }
    const obj = value as Record<string, unknown>;
    const sig = obj[SIG_KEY];
    if (sig === SIG_SECRET) {
        secretPaths.push(formatPath(at));
        return decodeValue(obj.value, at, [], unknownPaths);
    }
    if (sig === SIG_RESOURCE_REFERENCE) {
        return obj.urn;
    }
    if (sig === SIG_OUTPUT_VALUE) {
        if (obj.secret) {
            secretPaths.push(formatPath(at));
        }
        if (!("value" in obj)) {
            unknownPaths.push(formatPath(at));
        }
        return decodeValue(obj.value, at, [], unknownPaths);
    }
    const out: Record<string, any> = {};
    for (const key of Object.keys(obj).sort()) {
        out[key] = decodeValue(obj[key], [...at, key], secretPaths, unknownPaths);
    }
    return out;
}

/** Wraps the named top-level outputs as secrets, as the engine does for `additionalSecretOutputs`. */
function applySecretOutputs(outputs: Record<string, any>, names: readonly string[]): Record<string, any> {
    const result = { ...outputs };
    for (const name of names) {
        if (result[name] !== undefined) {
            result[name] = pulumi.secret(result[name]);
        }
    }
    return result;
}

/** A registration's answer, as the SDK reads it (`runtime/resource.js`): the calls it makes, nothing more. */
interface RegistrationResponse {
    getUrn(): string;
    getId(): string;
    getObject(): { toJavaScript(): Record<string, unknown> };
    getPropertydependenciesMap(): undefined;
    getResult(): number;
    toString(): string;
}

/**
 * Answers a registration as the SDK's `MockMonitor.registerResource` does (the inputs it deserializes, the state it
 * serializes and keeps for `getResource`), from the request's properties decoded once, and without encoding the
 * state to protobuf for the SDK to decode again: that round trip, and the SDK's debug line that prints the response
 * (`${innerResponse}`, built even when debug logs are off), were a tenth of a run's CPU.
 */
async function answerRegistration(
    monitor: { resources: Map<string, unknown> },
    req: any,
    object: Record<string, unknown>,
    urn: string,
    additionalSecretOutputs: readonly string[],
): Promise<RegistrationResponse> {
    const type: string = req.getType();
    const name: string = req.getName();
    const inputs = pulumi.runtime.deserializeProperties({ toJavaScript: () => object } as any);
    const answer = resourceAnswer(type, name, urn, plain(inputs));
    const state = await pulumi.runtime.serializeProperties(
        "",
        applySecretOutputs({ ...inputs, ...answer.outputs }, additionalSecretOutputs),
    );
    const id = req.getCustom() ? answer.id : undefined;
    monitor.resources.set(urn, { urn, id: id ?? null, state });
    return {
        getUrn: () => urn,
        getId: () => id ?? "",
        getObject: () => ({ toJavaScript: () => state }),
        getPropertydependenciesMap: () => undefined,
        getResult: () => REGISTRATION_SUCCEEDED,
        toString: () => `RegisterResourceResponse ${urn}`,
    };
}

const STACK_REFERENCE = "pulumi:pulumi:StackReference";

/**
 * A StackReference's state as the engine reads it (`name`, `outputs`, `secretOutputNames`): the referenced stack's
 * outputs, none of them secret (a plan's secrets are masked, and a platform stack exports none to its tenants).
 */
function stackReferenceAnswer(stack: string, options: RunOptions): { id: string; state: Record<string, unknown> } {
    const outputs = options.stackOutputs?.(stack);
    if (outputs === undefined) {
        throw new Error(`mock engine: unknown stack ${stack} (StackReference): plan it first`);
    }
    return { id: stack, state: { name: stack, outputs, secretOutputNames: [] } };
}

let running: Promise<unknown> = Promise.resolve();

/** Runs the program once under mocks. Runs are serialized: the Pulumi runtime is process-global. */
export function runProgram(options: RunOptions): Promise<RunResult> {
    const run = running.then(() => runExclusive(options));
    running = run.catch(() => undefined);
    return run;
}

async function runExclusive(options: RunOptions): Promise<RunResult> {
    const records = new Map<string, RecordedResource>();
    const invokes: RecordedInvoke[] = [];
    // What the real engine would refuse; the SDK swallows monitor errors, so they are reported after the run.
    const refusals: string[] = [];
    const requestedUrns = new Set<string>();

    await pulumi.runtime.setMocks(
        {
            // Registrations are answered in `monitor.registerResource` below; `newResource` is left to reads.
            newResource(args) {
                if (args.type === STACK_REFERENCE) {
                    return stackReferenceAnswer(args.id ?? args.name, options);
                }
                throw new Error(
                    `mock engine: ${args.type} ${args.name} is read from the provider; add a realistic answer`,
                );
            },
            call(args) {
                const inputs = plain(args.inputs);
                invokes.push({ token: args.token, inputs });
                options.onInvoke?.({ token: args.token, inputs });
                const answer = invokeAnswer(args.token, inputs);
                if (answer === undefined) {
                    const message = `mock engine: no mocked answer for invoke ${args.token}; add a realistic one to offline/answers.ts`;
                    refusals.push(message);
                    throw new Error(message);
                }
                return answer;
            },
        },
        PROJECT,
        options.stack,
        options.preview ?? false,
    );

    const monitor = pulumi.runtime.getMonitor() as any;
    monitor.registerResource = (req: any, callback: (err: any, resp: any) => void) => {
        const type: string = req.getType();
        const name: string = req.getName();
        const parent: string = req.getParent();
        const urn: string = monitor.newUrn(parent, type, name);
        const secretPaths: string[] = [];
        const unknownPaths: string[] = [];
        const object = req.getObject()?.toJavaScript() ?? {};
        const inputs = decodeValue(object, [], secretPaths, unknownPaths);
        const propertyDependencies: Record<string, string[]> = {};
        req.getPropertydependenciesMap().forEach((deps: any, key: string) => {
            propertyDependencies[key] = [...deps.getUrnsList()].sort();
        });
        const viaInputs = new Set(Object.values(propertyDependencies).flat());
        const dependencies: string[] = [...req.getDependenciesList()].sort();
        const timeouts = req.getCustomtimeouts();
        const additionalSecretOutputs: string[] = req.getAdditionalsecretoutputsList();
        const record: Omit<RecordedResource, "outputs" | "id"> = {
            urn,
            type,
            name,
            custom: req.getCustom(),
            parent: parent || undefined,
            provider: req.getProvider() || undefined,
            dependencies,
            propertyDependencies,
            dependsOn: dependencies.filter((d) => !viaInputs.has(d)),
            options: {
                protect: req.hasProtect() ? req.getProtect() : undefined,
                retainOnDelete: req.hasRetainondelete() ? req.getRetainondelete() : undefined,
                deleteBeforeReplace: req.getDeletebeforereplacedefined() ? req.getDeletebeforereplace() : undefined,
                ignoreChanges: req.getIgnorechangesList(),
                replaceOnChanges: req.getReplaceonchangesList(),
                additionalSecretOutputs,
                aliases: [...req.getAliasesList().map((a: any) => a.toObject()), ...req.getAliasurnsList()],
                deletedWith: req.getDeletedwith() || undefined,
                customTimeouts: timeouts
                    ? {
                          create: timeouts.getCreate() || undefined,
                          update: timeouts.getUpdate() || undefined,
                          delete: timeouts.getDelete() || undefined,
                      }
                    : undefined,
                importId: req.getImportid() || undefined,
            },
            inputs,
            secretPaths,
            unknownPaths,
        };
        if (requestedUrns.has(urn)) {
            const message = `mock engine: duplicate URN ${urn} (the real engine refuses two resources with one name)`;
            refusals.push(message);
            callback(new Error(message), undefined);
            return;
        }
        requestedUrns.add(urn);
        answerRegistration(monitor, req, object, urn, additionalSecretOutputs).then(
            (resp) => {
                const outputs = decodeValue(resp.getObject().toJavaScript(), [], [], []);
                const done = { ...record, id: resp.getId() || undefined, outputs };
                records.set(urn, done);
                options.onRegister?.(done);
                callback(undefined, resp);
            },
            (err) => callback(err, undefined),
        );
    };

    // Component and stack outputs arrive after registration; keep them with their secretness.
    const registeredOutputs = new Map<string, { outputs: Record<string, any>; secretPaths: string[] }>();
    const registerResourceOutputs = monitor.registerResourceOutputs.bind(monitor);
    monitor.registerResourceOutputs = (req: any, callback: (err: any, resp: any) => void) => {
        const secretPaths: string[] = [];
        const outputs = decodeValue(req.getOutputs()?.toJavaScript() ?? {}, [], secretPaths, []);
        registeredOutputs.set(req.getUrn(), { outputs, secretPaths });
        registerResourceOutputs(req, callback);
    };

    pulumi.runtime.setAllConfig(options.config, options.secretKeys);
    const program = options.program ?? requireProgram;
    // An exception inside `apply` reaches no caller: the real engine fails the update, so must we. The language host
    // reports it and exits once nothing is left to run (`pulumi/cmd/run/run.js`), though registrations that wait on
    // what the exception stopped, and the stack's outputs, never finish: so does the run, once the event loop is idle.
    const programErrors: unknown[] = [];
    let programFailed: (reason: unknown) => void = () => undefined;
    const failure = new Promise<never>((_, reject) => {
        programFailed = reject;
    }).catch(async (err: unknown) => {
        await idle(() => requestedUrns.size + invokes.length + records.size);
        throw err;
    });
    const onUnhandled = (reason: unknown) => {
        programErrors.push(reason);
        programFailed(reason);
    };
    process.on("unhandledRejection", onUnhandled);
    const restoreBookkeeping = leanBookkeeping();
    try {
        await Promise.race([pulumi.runtime.runInPulumiStack(async () => program()), failure]);
        await waitForRPCs();
        await new Promise((resolve) => setImmediate(resolve));
    } catch (err) {
        // The same failure also rejects what waited on the program (the stack's outputs), a turn later: while this
        // run's handler still takes it, instead of the next run's (or the process, with none attached).
        await new Promise((resolve) => setImmediate(resolve));
        throw refusals.length > 0 ? new Error(refusals.join("\n")) : err;
    } finally {
        restoreBookkeeping();
        process.off("unhandledRejection", onUnhandled);
    }
    if (refusals.length > 0) {
        throw new Error(refusals.join("\n"));
    }
    if (programErrors.length > 0) {
        throw programErrors[0];
    }

    const resources = [...records.values()]
        .map((r) => (r.custom ? r : { ...r, outputs: registeredOutputs.get(r.urn)?.outputs ?? {} }))
        .sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0));
    const stack = resources.find((r) => r.type === "pulumi:pulumi:Stack");
    const { outputs, secretPaths: outputSecretPaths } = (stack && registeredOutputs.get(stack.urn)) ?? {
        outputs: {},
        secretPaths: [],
    };
    return { stack: options.stack, resources, invokes, outputs, outputSecretPaths };
}

/** Loads `index.ts` afresh, so each run executes the real program. */
function requireProgram(): unknown {
    const file = require.resolve(PROGRAM);
    const previous = require.cache[file];
    delete require.cache[file];
    // Node also lists each module this one loaded in `module.children`: left there, every earlier run's exports
    // (and through them its whole resource graph) stay reachable for the life of the process.
    const index = previous ? module.children.indexOf(previous) : -1;
    if (index >= 0) {
        module.children.splice(index, 1);
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(PROGRAM);
}

/** Resolves once a turn of the event loop passes with no new `activity`: what is left waits on nothing that can run. */
async function idle(activity: () => number): Promise<void> {
    let seen: number;
    do {
        seen = activity();
        await new Promise((resolve) => setImmediate(resolve));
    } while (activity() !== seen);
}

/** Waits until every pending registration has been answered (the SDK keeps this internal). */
export function waitForRPCs(): Promise<void> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };
    return settings.waitForRPCs();
}

/** Strips the secret wrappers the mock monitor hands to `newResource`, keeping plain values. */
function plain(value: unknown): any {
    return decodeValue(value, [], [], []);
}
