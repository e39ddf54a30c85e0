/** Runs the real program for a stack (optionally with config overrides) under the mock engine, once per variant. */
import { RecordedResource, RunResult, runProgram } from "../../offline/mockEngine";
import { mergeConfig } from "../../offline/stackConfig";
import { stackNames } from "../../offline/stacks";
import { Overrides, stackConfig } from "./config";

export type { Overrides };

const runs = new Map<string, Promise<RunResult>>();

export function runStack(stack: string, overrides: Overrides = {}): Promise<RunResult> {
    const key = `${stack}\u0000${JSON.stringify(overrides)}`;
    let run = runs.get(key);
    if (!run) {
        const { config, secretKeys } = mergeConfig(stackConfig(stack), overrides);
        run = runProgram({ stack, config, secretKeys });
        runs.set(key, run);
    }
    return run;
}

export function byType(result: RunResult, type: string): RecordedResource[] {
    return result.resources.filter((r) => r.type === type);
}

export function byName(result: RunResult, type: string, name: string): RecordedResource {
    const found = result.resources.find((r) => r.type === type && r.name === name);
    if (!found) {
        throw new Error(
            `no ${type} named ${name}; have: ${
                byType(result, type)
                    .map((r) => r.name)
                    .join(", ") || "none"
            }`,
        );
    }
    return found;
}

/** Every stack with a Pulumi.<stack>.yaml. */
export const STACKS = stackNames();
