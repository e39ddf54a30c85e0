/**
 * Writes `config.schema.json`: a JSON Schema of a `Pulumi.<stack>.yaml` document, generated from the config
 * schemas, so editors complete and check stack files (each names it on its first line, a
 * `# yaml-language-server: $schema=...` comment). `npm run docs:schema` writes it; a test fails when it is stale.
 *
 * The JSON Schema checks each key on its own; the rules over several keys (connection budget, Sentinel quorum,
 * unique names...) run only in the program.
 */
import * as fs from "fs";
import * as path from "path";
import { isDeepStrictEqual } from "util";
import * as prettier from "prettier";
import { z } from "zod";
import { PROJECT, SECRET_KEYS, STACK_SCHEMAS } from "../components/config";
import { SECRET_KEY_DOCS, describeProfileDefaults } from "./configDocs";

export const CONFIG_SCHEMA_FILE = path.resolve(__dirname, "..", "config.schema.json");

type JsonSchema = { [key: string]: unknown };

function isJsonObject(value: unknown): value is JsonSchema {
    return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** JSON Schema patterns have no flags: `/ab/i` becomes `[aA][bB]` (letters outside character classes). */
export function caseInsensitive(source: string): string {
    let out = "";
    let inClass = false;
    for (let i = 0; i < source.length; i++) {
        const c = source[i];
        if (c === "\\") {
            out += c + source[++i];
        } else if (inClass) {
            if (/[a-z]/i.test(c)) {
                throw new Error(`cannot make /${source}/ case-insensitive: a letter inside a character class`);
            }
            inClass = c !== "]";
            out += c;
        } else {
            inClass = c === "[";
            out += /[a-z]/i.test(c) ? `[${c.toLowerCase()}${c.toUpperCase()}]` : c;
        }
    }
    return out;
}

function sectionsSchema(schema: z.ZodType): JsonSchema {
    return z.toJSONSchema(schema, {
        io: "input",
        override: ({ zodSchema, jsonSchema }) => {
            const patterns = (zodSchema._zod.bag.patterns ?? new Set()) as Set<RegExp>;
            const flagged = [...patterns].find((p) => p.flags.includes("i"));
            if (flagged) {
                jsonSchema.pattern = caseInsensitive(flagged.source);
            }
        },
    }) as JsonSchema;
}

/** One schema from its production and development builds: a default that differs moves into the description. */
function mergeProfiles(production: unknown, development: unknown): unknown {
    if (Array.isArray(production) && Array.isArray(development)) {
        return production.map((p, i) => mergeProfiles(p, development[i]));
    }
    if (!isJsonObject(production) || !isJsonObject(development)) {
        return production;
    }
    const merged: JsonSchema = {};
    for (const [key, value] of Object.entries(production)) {
        if (key !== "default" || isDeepStrictEqual(value, development.default)) {
            merged[key] = mergeProfiles(value, development[key]);
        }
    }
    if ("default" in production && !("default" in merged)) {
        const byProfile = `Default: ${describeProfileDefaults(production.default, development.default)}.`;
        merged.description = merged.description ? `${merged.description} ${byProfile}` : byProfile;
    }
    return merged;
}

/**
 * `pulumi config set` without `--path` writes a value as a string, and the program decodes JSON text and
 * `true`/`false` at the top level (`decode` in components/config): the stack file may hold either form.
 */
function orAsText(schema: JsonSchema): JsonSchema {
    const { description, default: byDefault, ...rest } = schema;
    const text =
        rest.type === "boolean"
            ? { type: "string", enum: ["true", "false"] }
            : rest.type === "object" || rest.type === "array"
              ? { type: "string", pattern: "^\\s*[[{]", description: "the same as JSON text" }
              : undefined;
    if (!text) {
        return schema;
    }
    return { description, ...(byDefault === undefined ? {} : { default: byDefault }), anyOf: [rest, text] };
}

export function renderConfigSchema(): JsonSchema {
    const sections = mergeProfiles(
        sectionsSchema(STACK_SCHEMAS.production),
        sectionsSchema(STACK_SCHEMAS.development),
    ) as JsonSchema;
    const properties: JsonSchema = {};
    for (const [key, schema] of Object.entries(sections.properties as Record<string, JsonSchema>)) {
        properties[`${PROJECT}:${key}`] = orAsText(schema);
    }
    for (const key of SECRET_KEYS) {
        properties[`${PROJECT}:${key}`] = {
            description: `${SECRET_KEY_DOCS[key].doc} Set with \`pulumi config set --secret ${key}\`.`,
            type: "object",
            properties: { secure: { type: "string" } },
            required: ["secure"],
            additionalProperties: false,
        };
    }
    return {
        $schema: sections.$schema,
        title: `Pulumi.<stack>.yaml of the ${PROJECT} project`,
        description: "Generated from components/config by `npm run docs:schema`; see README's configuration reference.",
        type: "object",
        properties: {
            config: {
                type: "object",
                properties,
                // Keys of other namespaces (`pulumi:tags`, providers' `azure-native:location`) are not ours to check.
                patternProperties: { [`^(?!${PROJECT}:)[^:]+:.+$`]: {} },
                additionalProperties: false,
                required: (sections.required as string[]).map((key) => `${PROJECT}:${key}`),
            },
        },
        required: ["config"],
    };
}

/** The file's text, formatted as the repository's prettier configuration wants it. */
export async function renderConfigSchemaFile(): Promise<string> {
    const options = await prettier.resolveConfig(CONFIG_SCHEMA_FILE);
    return prettier.format(JSON.stringify(renderConfigSchema()), { ...options, filepath: CONFIG_SCHEMA_FILE });
}

if (require.main === module) {
    renderConfigSchemaFile().then((text) => fs.writeFileSync(CONFIG_SCHEMA_FILE, text));
}
