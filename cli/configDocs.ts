/**
 * Renders the configuration reference (README table) from the config schemas, so the documentation
 * cannot drift from what the program accepts. `npm run docs:config` prints it.
 *
 * The schemas are built once per profile; walking both side by side shows which defaults differ by profile.
 */
import { isDeepStrictEqual } from "util";
import { z } from "zod";
import { PROJECT, SECRET_KEYS, STACK_SCHEMAS } from "../components/config";
import { FIELD_DOCS, allowedOf, innerSchema } from "../components/config/fields";

/** The keys read as secrets, which have no schema: what they hold and what they are for. */
export const SECRET_KEY_DOCS: Record<(typeof SECRET_KEYS)[number], { readonly allowed: string; readonly doc: string }> =
    {
        kubeconfig: {
            allowed: "a kubeconfig, set with `pulumi config set --secret`",
            doc: "Without `cluster.aks`: the cluster, with `cluster.oidcIssuerUrl`. With it: replaces the credential AKS hands out (a preview's read-only account) and must point at that cluster.",
        },
    };

/** A default that differs per profile, as the reference and the JSON Schema state it. */
export function describeProfileDefaults(production: unknown, development: unknown): string {
    return `production: ${JSON.stringify(production)}, development: ${JSON.stringify(development)}`;
}

function describeDefault(production: z.ZodType, development: z.ZodType): string {
    if (production instanceof z.ZodDefault && development instanceof z.ZodDefault) {
        const [p, d] = [production.def.defaultValue, development.def.defaultValue];
        return isDeepStrictEqual(p, d) ? JSON.stringify(p) : describeProfileDefaults(p, d);
    }
    if (production instanceof z.ZodPrefault) {
        return "see its keys";
    }
    if (production instanceof z.ZodOptional) {
        return FIELD_DOCS.get(production)?.derived ? "(derived)" : "(unset)";
    }
    return "(required)";
}

function innermost(schema: z.ZodType): z.ZodType {
    const inner = innerSchema(schema);
    return inner ? innermost(inner) : schema;
}

function escape(text: string): string {
    return text.replace(/\|/g, "\\|");
}

/** Keys of an object (or of the objects of a list), by name: the schema built for each profile. */
function keysOf(production: z.ZodType, development: z.ZodType): [string, z.ZodType, z.ZodType][] {
    const [p, d] = [innermost(production), innermost(development)];
    if (p instanceof z.ZodArray && d instanceof z.ZodArray) {
        return keysOf(p.element as z.ZodType, d.element as z.ZodType);
    }
    if (!(p instanceof z.ZodObject && d instanceof z.ZodObject)) {
        return [];
    }
    const devShape = d.shape as Record<string, z.ZodType>;
    return Object.entries(p.shape as Record<string, z.ZodType>).map(([key, field]) => [key, field, devShape[key]]);
}

/** The row of the key at `path`, then the rows of its own keys. */
function rows(path: string, production: z.ZodType, development: z.ZodType): string[] {
    const own = `| \`${path}\` | ${escape(allowedOf(production))} | ${escape(describeDefault(production, development))} | ${escape(production.description ?? "")} |`;
    const prefix = innermost(production) instanceof z.ZodArray ? `${path}[]` : path;
    return [own, ...keysOf(production, development).flatMap(([key, p, d]) => rows(`${prefix}.${key}`, p, d))];
}

export function renderConfigReference(): string {
    const lines = ["| Key | Allowed | Default | Description |", "| --- | --- | --- | --- |"];
    for (const [key, production, development] of keysOf(STACK_SCHEMAS.production, STACK_SCHEMAS.development)) {
        lines.push(...rows(`${PROJECT}:${key}`, production, development));
    }
    for (const key of SECRET_KEYS) {
        const { allowed, doc } = SECRET_KEY_DOCS[key];
        lines.push(`| \`${PROJECT}:${key}\` (secret) | ${escape(allowed)} | (unset) | ${escape(doc)} |`);
    }
    return lines.join("\n");
}

if (require.main === module) {
    console.log(renderConfigReference());
}
