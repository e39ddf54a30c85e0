/**
 * Zod schemas that speak the operator's language. Each constructor here describes what it accepts in one
 * phrase ("an integer from 1 to 9"), makes that phrase the message of every one of its checks, so a problem
 * reads `<key>: given <value>; allowed: <phrase>` (see `issues.ts`), and records it in `FIELD_DOCS` for the
 * README reference. Zod's own messages ("Invalid input: expected number, received string") name neither the
 * range nor the pattern, so they are never used.
 */
import { z } from "zod";

export const PROFILES = ["production", "development"] as const;
/** What the profile decides, in the words both the config loader and CI's stack list refuse a missing one with. */
export const PROFILE_DECIDES =
    "it chooses protection and defaults here, and the production environment (approval) in CI";

/** The profile a stack runs under; it chooses defaults (sizes, HA, TLS, protection). */
export type Profile = (typeof PROFILES)[number];

/** A default that differs per profile: schemas with such defaults are built once per profile. */
export function byProfile<T>(profile: Profile, values: { readonly production: T; readonly development: T }): T {
    return values[profile];
}

export interface FieldDocs {
    /** What the schema accepts, as the messages say it. */
    readonly allowed?: string;
    /** Absent input is filled from other keys by the enclosing object (documented as "(derived)"). */
    readonly derived?: boolean;
}

/** Documentation of the schemas made here (and of the few built elsewhere with `documented`); zod's registries pass it on to `.describe()`d and `.default()`ed clones. */
export const FIELD_DOCS = z.registry<FieldDocs>();

export function documented<S extends z.ZodType>(schema: S, docs: FieldDocs): S {
    FIELD_DOCS.add(schema, docs);
    return schema;
}

/** The schema inside an optional, default, prefault or pipe (its input side); undefined for any other. */
export function innerSchema(schema: z.ZodType): z.ZodType | undefined {
    if (schema instanceof z.ZodOptional || schema instanceof z.ZodDefault || schema instanceof z.ZodPrefault) {
        return schema.def.innerType as z.ZodType;
    }
    if (schema instanceof z.ZodPipe) {
        return schema.def.in as z.ZodType;
    }
    return undefined;
}

/** What `schema` accepts, from the nearest schema made here. */
export function allowedOf(schema: z.ZodType): string {
    const allowed = FIELD_DOCS.get(schema)?.allowed;
    if (allowed !== undefined) {
        return allowed;
    }
    const inner = innerSchema(schema);
    if (!inner) {
        throw new Error("config schema not built from components/config/fields.ts");
    }
    return allowedOf(inner);
}

export interface TextRules {
    readonly pattern?: RegExp;
    readonly minLength?: number;
    readonly maxLength?: number;
    /** Overrides the generated description of what is allowed. */
    readonly allowed?: string;
    /** Extra check returning a reason when the value is refused. */
    readonly check?: (value: string) => string | undefined;
}

export function text(rules: TextRules = {}) {
    const parts = ["a string"];
    if (rules.minLength !== undefined || rules.maxLength !== undefined) {
        parts.push(`of ${rules.minLength ?? 0} to ${rules.maxLength ?? "any number of"} characters`);
    }
    if (rules.pattern) {
        parts.push(`matching ${rules.pattern.source}`);
    }
    const allowed = rules.allowed ?? parts.join(" ");
    // One problem per value: `abort` skips the later checks, except length checks, which zod runs regardless;
    // so lengths come first (a value cannot be both too short and too long).
    const refused = { error: allowed, abort: true };
    let schema = z.string(refused);
    if (rules.minLength !== undefined) {
        schema = schema.min(rules.minLength, refused);
    }
    if (rules.maxLength !== undefined) {
        schema = schema.max(rules.maxLength, refused);
    }
    if (rules.pattern) {
        schema = schema.regex(rules.pattern, refused);
    }
    const check = rules.check;
    if (check) {
        schema = schema.superRefine((value, ctx) => {
            const reason = check(value);
            if (reason) {
                ctx.addIssue({ code: "custom", input: value, message: `${allowed} (${reason})` });
            }
        });
    }
    return documented(schema, { allowed });
}

export function integer(min: number, max: number) {
    const allowed = `an integer from ${min} to ${max}`;
    return documented(z.int({ error: allowed }).min(min, { error: allowed }).max(max, { error: allowed }), { allowed });
}

export function flag() {
    const allowed = "true or false";
    return documented(z.boolean({ error: allowed }), { allowed });
}

export function choice<const T extends readonly [string, ...string[]]>(values: T) {
    const allowed = `one of ${values.map((v) => JSON.stringify(v)).join(", ")}`;
    return documented(z.enum(values, { error: allowed }), { allowed });
}

/** One of a few whole numbers (sizes a service offers, not a range). */
export function integerIn<const T extends readonly [number, ...number[]]>(values: T) {
    const allowed = `one of ${values.join(", ")}`;
    return documented(z.literal(values, { error: allowed }), { allowed });
}

export interface ListRules {
    readonly minItems?: number;
    readonly maxItems?: number;
}

export function listOf<T extends z.ZodType>(item: T, rules: ListRules = {}) {
    const bounds =
        rules.minItems !== undefined || rules.maxItems !== undefined
            ? ` (${rules.minItems ?? 0} to ${rules.maxItems ?? "any number of"} items)`
            : "";
    const allowed = `a list${bounds} of ${allowedOf(item)}`;
    let schema = z.array(item, { error: allowed });
    if (rules.minItems !== undefined) {
        schema = schema.min(rules.minItems, { error: allowed });
    }
    if (rules.maxItems !== undefined) {
        schema = schema.max(rules.maxItems, { error: allowed });
    }
    return documented(schema, { allowed });
}

/** A map with free keys (checked by `key`) and values of one schema; its keys come out sorted. */
export function mapOf<V extends z.ZodType>(key: z.ZodString, value: V) {
    const allowed = `a map of ${allowedOf(key)} to ${allowedOf(value)}`;
    // Sorted, so what is derived from the map (Azure tags, rotation values) does not depend on the order it was written in.
    const sorted = z.record(key, value, { error: allowed }).transform((map) =>
        Object.fromEntries(
            Object.keys(map)
                .sort()
                .map((k): [string, z.output<V>] => [k, map[k]]),
        ),
    );
    return documented(sorted, { allowed });
}

/** An object of documented keys; unknown keys are refused, each on its own line. */
export function section<S extends z.ZodRawShape>(shape: S) {
    const keys = Object.keys(shape).join(", ");
    const allowed = `an object with keys ${keys}`;
    const unknownKey = `no such key; known keys: ${keys}`;
    return documented(
        z.strictObject(shape, { error: (issue) => (issue.code === "unrecognized_keys" ? unknownKey : allowed) }),
        { allowed },
    );
}

/** An optional key whose default the enclosing object derives from its other keys (in a `.transform`). */
export function derived<T extends z.ZodType>(schema: T) {
    return documented(schema.optional(), { derived: true });
}
