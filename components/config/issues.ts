/**
 * Configuration problems as operators read them: one line each, naming the key path, what was given and what
 * is allowed. Zod's issues are turned into these, and the rules that span several keys report them directly.
 */
import type { z } from "zod";

/** One configuration problem. */
export interface ConfigIssue {
    /** Key path, e.g. `data-platform:postgres.azure.skuName` or `data-platform:apps[1].namespace`. */
    readonly path: string;
    /** The value found (rendered with JSON, or `(missing)`). */
    readonly given: string;
    /** What would have been accepted. */
    readonly allowed: string;
}

/** Where the rules over a parsed configuration put their problems. */
export interface ParseContext {
    readonly issues: ConfigIssue[];
}

const MISSING = "(missing)";

export function show(value: unknown): string {
    if (value === undefined) {
        return MISSING;
    }
    const text = JSON.stringify(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export function report(ctx: ParseContext, path: string, value: unknown, allowed: string): void {
    ctx.issues.push({ path, given: show(value), allowed });
}

export function formatIssue(issue: ConfigIssue): string {
    return `${issue.path}: given ${issue.given}; allowed: ${issue.allowed}`;
}

/** `("data-platform", ["apps", 1, "redisDb"])` as `data-platform:apps[1].redisDb`. */
function keyPath(namespace: string, path: readonly PropertyKey[]): string {
    const [key, ...rest] = path;
    return `${namespace}:${String(key)}${rest.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("")}`;
}

/**
 * Zod's issues (parsed with `reportInput`) as configuration problems of keys in `namespace`; `at` is the path of
 * the parsed value.
 * The message of every issue is already the "allowed" text (see `fields.ts`); only the given value needs
 * work for the issue kinds that describe a container rather than a value.
 */
export function configIssues(
    issues: readonly z.core.$ZodIssue[],
    namespace: string,
    at: readonly PropertyKey[] = [],
): ConfigIssue[] {
    const keyOf = (path: readonly PropertyKey[]) => keyPath(namespace, path);
    return issues.flatMap((issue): ConfigIssue[] => {
        const path = [...at, ...issue.path];
        switch (issue.code) {
            case "unrecognized_keys": {
                // One line per unknown key, with the value it was given.
                const input = issue.input as Record<string, unknown>;
                return issue.keys.map((k) => ({
                    path: keyOf([...path, k]),
                    given: show(input[k]),
                    allowed: issue.message,
                }));
            }
            case "invalid_key":
                return [{ path: `${keyOf(path)} (key)`, given: show(issue.input), allowed: issue.issues[0].message }];
            case "too_small":
            case "too_big":
                if (issue.origin === "array") {
                    return [
                        {
                            path: keyOf(path),
                            given: show(`${(issue.input as unknown[]).length} items`),
                            allowed: issue.message,
                        },
                    ];
                }
                break;
        }
        return [{ path: keyOf(path), given: show(issue.input), allowed: issue.message }];
    });
}
