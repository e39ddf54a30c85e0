/**
 * Loaded by mocha after ts-node (see .mocharc.json). ts-node formats every stack trace through source maps
 * (@cspotcode/source-map-support). The Pulumi SDK takes a whole stack trace for each resource it registers
 * (`Resource.callsites` in @pulumi/pulumi/resource.js, with `Error.stackTraceLimit` set to Infinity) to send
 * as the resource's source position; the mock engine never reads it, and mapping it costs about a third of
 * a test file's CPU. Traces taken with an unlimited depth are therefore formatted as V8 does without source
 * maps; every other trace (assertion failures, errors) keeps its TypeScript lines.
 */
const mapped = Error.prepareStackTrace;

if (mapped) {
    Error.prepareStackTrace = (error, frames) =>
        Error.stackTraceLimit === Infinity
            ? [String(error), ...frames.map((frame) => `    at ${frame}`)].join("\n")
            : mapped(error, frames);
}
