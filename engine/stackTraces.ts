/**
 * Cheap stack traces for the Pulumi SDK's own bookkeeping while the mock engine runs.
 *
 * The SDK reads `new Error().stack` for every resource (`Resource.callsites`, its source position, with
 * `Error.stackTraceLimit` raised to Infinity) and for every promise it wraps (`runtime/debuggable.js`, the
 * context of a leak report). Under ts-node, `@cspotcode/source-map-support` maps each frame of each of those
 * stacks back to the TypeScript source: about 3 s of a 9 s plan of 1,257 registrations, plus its garbage. The
 * mock engine records neither, so while it runs the source positions get V8's unmapped text and the promise
 * contexts only the header (their stacks are read only with PULUMI_DEBUG_PROMISE_LEAKS set, and then keep the
 * mapped text). Every other stack (the program's errors, a test's) is mapped as before. `pulumi up` never loads
 * this module.
 */

type PrepareStackTrace = (error: Error, frames: NodeJS.CallSite[]) => unknown;
/** `Error` as V8 has it: without a hook installed, `prepareStackTrace` is undefined. */
const hooks = Error as { prepareStackTrace?: PrepareStackTrace };

const DEBUGGABLE = require.resolve("@pulumi/pulumi/runtime/debuggable");
const RESOURCE = require.resolve("@pulumi/pulumi/resource");

// eslint-disable-next-line @typescript-eslint/no-require-imports
const debuggable = require(DEBUGGABLE) as { debugPromiseLeaks: boolean };

function capturedIn(frames: readonly NodeJS.CallSite[], file: string, functionName: string): boolean {
    const top = frames[0];
    return top !== undefined && top.getFileName() === file && top.getFunctionName() === functionName;
}

function header(error: Error): string {
    return error.message ? `${error.name}: ${error.message}` : error.name;
}

/** The text V8 produces without a `prepareStackTrace` hook. */
function unmapped(error: Error, frames: readonly NodeJS.CallSite[]): string {
    return header(error) + frames.map((frame) => `\n    at ${frame}`).join("");
}

/** Installs the filter in front of the current hook; returns the function that restores it. */
export function plainBookkeepingStacks(): () => void {
    const installed = hooks.prepareStackTrace;
    const previous = installed ?? unmapped;
    const filter: PrepareStackTrace = (error, frames) => {
        if (capturedIn(frames, DEBUGGABLE, "debuggablePromise") && !debuggable.debugPromiseLeaks) {
            return header(error);
        }
        return capturedIn(frames, RESOURCE, "callsites") ? unmapped(error, frames) : previous(error, frames);
    };
    hooks.prepareStackTrace = filter;
    return () => {
        if (hooks.prepareStackTrace === filter) {
            hooks.prepareStackTrace = installed;
        }
    };
}
