/**
 * What `pulumi destroy` leaves of a stack, and the `data-platform:imports` block that takes it over again when the
 * stack is re-created (README "Teardown and re-creation"), derived from a run of the program.
 */
import * as YAML from "yaml";
import { importIdOf } from "../components/imports";
import { PROJECT } from "../components/config/types";
import type { RecordedResource, RunResult } from "./mockEngine";

/** The resources destroy leaves in place: every one the stack retains on delete. */
export function retainedResources(result: RunResult): RecordedResource[] {
    return result.resources.filter((r) => r.custom && r.options.retainOnDelete === true);
}

/** Each retained resource's import id in `subscriptionId`, by resource name. */
export function importIds(result: RunResult, subscriptionId: string): Record<string, string> {
    const ids = retainedResources(result).map((r): [string, string] => [
        r.name,
        importIdOf(r.type, r.inputs, subscriptionId),
    ]);
    return Object.fromEntries(ids.sort(([a], [b]) => a.localeCompare(b)));
}

/** The block to paste under `config:` in the stack file. */
export function importsBlock(result: RunResult, subscriptionId: string): string {
    return YAML.stringify({ [`${PROJECT}:imports`]: importIds(result, subscriptionId) }, { lineWidth: 0 });
}
