/**
 * The Pulumi SDK's own bookkeeping, made cheap while the mock engine runs.
 *
 * The SDK captures a stack for every resource (`Resource.stackTrace`, with `Error.stackTraceLimit` raised to
 * Infinity: the source position and stack sent with the registration) and for every promise it wraps
 * (`runtime/debuggable.js`: the context of a leak report; four promises per output property, about a hundred
 * per resource). Capturing costs V8 a stack walk, and under ts-node `@cspotcode/source-map-support` maps every
 * frame read back to the TypeScript source: together over a third of a plan. The mock engine records neither,
 * so while it runs:
 * - registrations carry no source position or stack (the real engine shows them in diagnostics only);
 * - a wrapped promise is tracked as a leak candidate exactly as the SDK does, without the id, context and stack
 *   that only a PULUMI_DEBUG_PROMISE_LEAKS report prints: with that set, the SDK's own function runs.
 * No `Error.stackTraceLimit` or `prepareStackTrace` is touched: the program's errors keep their mapped stacks.
 * `pulumi up` never loads this module.
 */
import * as pulumi from "@pulumi/pulumi";

type DebuggablePromise = <T>(p: Promise<T>, ctx: unknown) => Promise<T>;

// Both are @internal in the SDK (stripped from the typings); the SDK looks them up at each call.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const debuggable = require("@pulumi/pulumi/runtime/debuggable") as {
    debugPromiseLeaks: boolean;
    debuggablePromise: DebuggablePromise;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const state = require("@pulumi/pulumi/runtime/state") as {
    getStore(): { leakCandidates: Set<Promise<unknown>> };
};
const resourceClass = pulumi.Resource as unknown as { stackTrace(skip: number): unknown[] };

/** `debuggablePromise` as the SDK has it, minus what only a PULUMI_DEBUG_PROMISE_LEAKS report reads. */
function trackedPromise(sdk: DebuggablePromise): DebuggablePromise {
    return (p, ctx) => {
        if (debuggable.debugPromiseLeaks) {
            return sdk(p, ctx);
        }
        const { leakCandidates } = state.getStore();
        leakCandidates.add(p);
        // One reaction where the SDK chains `.then().catch()`: the same outcome, half the promises in flight.
        return p.then(
            (value) => {
                leakCandidates.delete(p);
                return value;
            },
            (err) => {
                leakCandidates.delete(p);
                err.promise = p;
                throw err;
            },
        );
    };
}

/** The SDK's function schedules its leak report at exit on its first call: one call, with no stack to capture. */
function scheduleLeakReport(sdk: DebuggablePromise): void {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
        void sdk(Promise.resolve(), "mock engine: schedules the leak report");
    } finally {
        Error.stackTraceLimit = limit;
    }
}

/** Installs the cheap bookkeeping; returns the function that puts the SDK's own back. */
export function leanBookkeeping(): () => void {
    const sdk = { stackTrace: resourceClass.stackTrace, debuggablePromise: debuggable.debuggablePromise };
    scheduleLeakReport(sdk.debuggablePromise);
    const lean = { stackTrace: () => [], debuggablePromise: trackedPromise(sdk.debuggablePromise) };
    resourceClass.stackTrace = lean.stackTrace;
    debuggable.debuggablePromise = lean.debuggablePromise;
    return () => {
        if (resourceClass.stackTrace === lean.stackTrace) {
            resourceClass.stackTrace = sdk.stackTrace;
        }
        if (debuggable.debuggablePromise === lean.debuggablePromise) {
            debuggable.debuggablePromise = sdk.debuggablePromise;
        }
    };
}
