/**
 * A small typed schema language for stack configuration.
 *
 * Every schema parses an untyped value (as Pulumi hands it over after `JSON.parse`) into a typed
 * value, applying defaults, and reports every problem as one line naming the key path, what was
 * given and what is allowed. Parsing never throws on bad input: it collects all problems so the
 * operator can fix a stack file in one pass.
 */

/** The profile a stack runs under; it chooses defaults (sizes, HA, TLS, protection). */
export type Profile = "production" | "development";

/** One configuration problem. */
export interface ConfigIssue {
    /** Key path, e.g. `data-platform:postgres.azure.skuName` or `data-platform:apps[1].namespace`. */
    readonly path: string;
    /** The value found (rendered with JSON, or `(missing)`). */
    readonly given: string;
    /** What would have been accepted. */
    readonly allowed: string;
}

/** Context for one parse: where problems go and which profile chooses defaults. */
export interface ParseContext {
    readonly issues: ConfigIssue[];
    readonly profile: Profile;
}

export interface Schema<T> {
    /** Human description of the accepted values, used in messages and in the README table. */
    readonly allowed: string;
    parse(value: unknown, path: string, ctx: ParseContext): T;
}

/** A default that may differ per profile. */
export type Default<T> = T | { readonly production: T; readonly development: T } | ((ctx: ParseContext) => T);

/** Default of a nested object: each of its own fields' defaults. */
export const FROM_FIELDS = "(from its fields)" as const;

/** One documented field of an object schema. */
export interface Field<T> {
    readonly schema: Schema<T>;
    readonly doc: string;
    /** Absent means the key is required. */
    readonly default?: Default<T> | typeof FROM_FIELDS;
    /** Optional fields without a default parse to `undefined`. */
    readonly optional?: boolean;
}

export const MISSING = "(missing)";

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

function resolveDefault<T>(def: Default<T>, ctx: ParseContext): T {
    if (typeof def === "function") {
        return (def as (c: ParseContext) => T)(ctx);
    }
    if (def !== null && typeof def === "object" && "production" in def && "development" in def) {
        return (def as { production: T; development: T })[ctx.profile];
    }
    return def as T;
}

/** Describes a default for documentation. */
export function describeDefault<T>(field: Field<T>): string {
    if (field.default === undefined) {
        return field.optional ? "(unset)" : "(required)";
    }
    const def = field.default;
    if (def === FROM_FIELDS) {
        return "see its keys";
    }
    if (typeof def === "function") {
        return "(derived)";
    }
    if (def !== null && typeof def === "object" && "production" in def && "development" in def) {
        const d = def as { production: T; development: T };
        return `production: ${JSON.stringify(d.production)}, development: ${JSON.stringify(d.development)}`;
    }
    return JSON.stringify(def);
}

export interface StringRules {
    readonly pattern?: RegExp;
    readonly minLength?: number;
    readonly maxLength?: number;
    /** Overrides the generated description of what is allowed. */
    readonly allowed?: string;
    /** Extra check returning a reason when the value is refused. */
    readonly check?: (value: string) => string | undefined;
}

export function str(rules: StringRules = {}): Schema<string> {
    const parts = ["a string"];
    if (rules.minLength !== undefined || rules.maxLength !== undefined) {
        parts.push(`of ${rules.minLength ?? 0} to ${rules.maxLength ?? "any number of"} characters`);
    }
    if (rules.pattern) {
        parts.push(`matching ${rules.pattern.source}`);
    }
    const allowed = rules.allowed ?? parts.join(" ");
    return {
        allowed,
        parse(value, path, ctx) {
            if (typeof value !== "string") {
                report(ctx, path, value, allowed);
                return "";
            }
            const bad =
                (rules.minLength !== undefined && value.length < rules.minLength) ||
                (rules.maxLength !== undefined && value.length > rules.maxLength) ||
                (rules.pattern !== undefined && !rules.pattern.test(value));
            if (bad) {
                report(ctx, path, value, allowed);
                return value;
            }
            const reason = rules.check?.(value);
            if (reason) {
                report(ctx, path, value, `${allowed} (${reason})`);
            }
            return value;
        },
    };
}

export function int(min: number, max: number): Schema<number> {
    const allowed = `an integer from ${min} to ${max}`;
    return {
        allowed,
        parse(value, path, ctx) {
            if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
                report(ctx, path, value, allowed);
                return min;
            }
            return value;
        },
    };
}

export function bool(): Schema<boolean> {
    const allowed = "true or false";
    return {
        allowed,
        parse(value, path, ctx) {
            if (typeof value !== "boolean") {
                report(ctx, path, value, allowed);
                return false;
            }
            return value;
        },
    };
}

export function oneOf<T extends string>(values: readonly T[]): Schema<T> {
    const allowed = `one of ${values.map((v) => JSON.stringify(v)).join(", ")}`;
    return {
        allowed,
        parse(value, path, ctx) {
            if (typeof value !== "string" || !(values as readonly string[]).includes(value)) {
                report(ctx, path, value, allowed);
                return values[0];
            }
            return value as T;
        },
    };
}

export interface ListRules {
    readonly minItems?: number;
    readonly maxItems?: number;
}

export interface ListSchema<T> extends Schema<T[]> {
    readonly item: Schema<T>;
}

export function list<T>(item: Schema<T>, rules: ListRules = {}): ListSchema<T> {
    const bounds =
        rules.minItems !== undefined || rules.maxItems !== undefined
            ? ` (${rules.minItems ?? 0} to ${rules.maxItems ?? "any number of"} items)`
            : "";
    const allowed = `a list${bounds} of ${item.allowed}`;
    return {
        allowed,
        item,
        parse(value, path, ctx) {
            if (!Array.isArray(value)) {
                report(ctx, path, value, allowed);
                return [];
            }
            if (
                (rules.minItems !== undefined && value.length < rules.minItems) ||
                (rules.maxItems !== undefined && value.length > rules.maxItems)
            ) {
                report(ctx, path, `${value.length} items`, allowed);
            }
            return value.map((v, i) => item.parse(v, `${path}[${i}]`, ctx));
        },
    };
}

/** A map with free keys (checked by `key`) and values of one schema. */
export function record<T>(key: Schema<string>, value: Schema<T>): Schema<Record<string, T>> {
    const allowed = `a map of ${key.allowed} to ${value.allowed}`;
    return {
        allowed,
        parse(input, path, ctx) {
            if (!isPlainObject(input)) {
                report(ctx, path, input, allowed);
                return {};
            }
            const out: Record<string, T> = {};
            for (const k of Object.keys(input).sort()) {
                key.parse(k, `${path}.${k} (key)`, ctx);
                out[k] = value.parse(input[k], `${path}.${k}`, ctx);
            }
            return out;
        },
    };
}

export type Fields<T> = { readonly [K in keyof T]-?: Field<T[K]> };

/** An object with documented fields; unknown keys are refused. */
export interface ObjectSchema<T> extends Schema<T> {
    readonly fields: Fields<T>;
}

export function object<T>(fields: Fields<T>): ObjectSchema<T> {
    const keys = Object.keys(fields) as (keyof T & string)[];
    const allowed = `an object with keys ${keys.join(", ")}`;
    return {
        allowed,
        fields,
        parse(value, path, ctx) {
            const input = value === undefined ? {} : value;
            if (!isPlainObject(input)) {
                report(ctx, path, value, allowed);
                return parseFields(fields, {}, path, ctx);
            }
            for (const k of Object.keys(input)) {
                if (!(k in fields)) {
                    report(ctx, `${path}.${k}`, input[k], `no such key; known keys: ${keys.join(", ")}`);
                }
            }
            return parseFields(fields, input, path, ctx);
        },
    };
}

function parseFields<T>(fields: Fields<T>, input: Record<string, unknown>, path: string, ctx: ParseContext): T {
    const out: Partial<T> = {};
    for (const key of Object.keys(fields) as (keyof T & string)[]) {
        const field = fields[key];
        const raw = input[key];
        const fieldPath = `${path}.${key}`;
        if (raw === undefined || raw === null) {
            if (field.default === FROM_FIELDS) {
                out[key] = field.schema.parse({}, fieldPath, ctx);
            } else if (field.default !== undefined) {
                out[key] = resolveDefault(field.default, ctx);
            } else if (!field.optional) {
                report(ctx, fieldPath, undefined, field.schema.allowed);
            }
            continue;
        }
        out[key] = field.schema.parse(raw, fieldPath, ctx);
    }
    return out as T;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
    return value !== null && typeof value === "object" && !Array.isArray(value);
}
