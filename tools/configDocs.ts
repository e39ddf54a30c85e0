/**
 * Renders the configuration reference (README table) from the config schemas, so the documentation
 * cannot drift from what the program accepts. `npm run docs:config` prints it.
 */
import { CONFIG_SCHEMAS, PROJECT, SECRET_KEYS } from "../components/config";
import { Field, ListSchema, ObjectSchema, Schema, describeDefault } from "../components/config/schema";

const TOP_LEVEL_DOCS: Record<string, { doc: string; default: string }> = {
    profile: { doc: "Chooses defaults for sizes, HA, TLS and protection.", default: '"production"' },
    protect: {
        doc: "Protect stateful resources (they are always retained on delete).",
        default: "true in production, false in development",
    },
    azure: { doc: "Azure placement.", default: "(required)" },
    cluster: { doc: "Cluster access and cluster-level operators.", default: "see its keys" },
    keyVault: { doc: "Key Vault and generated credentials.", default: "see its keys" },
    postgres: { doc: "PostgreSQL.", default: "(required: mode)" },
    redis: { doc: "Redis.", default: "see its keys" },
    apps: { doc: "The applications, one namespace each.", default: "(required)" },
};

function isObject(schema: Schema<unknown>): schema is ObjectSchema<unknown> {
    return "fields" in schema;
}

function isList(schema: Schema<unknown>): schema is ListSchema<unknown> {
    return "item" in schema;
}

function escape(text: string): string {
    return text.replace(/\|/g, "\\|");
}

function rows(prefix: string, schema: Schema<unknown>): string[] {
    const nested = isList(schema) && isObject(schema.item) ? schema.item : isObject(schema) ? schema : undefined;
    if (!nested) {
        return [];
    }
    const itemPrefix = isList(schema) ? `${prefix}[]` : prefix;
    return Object.entries<Field<unknown>>(nested.fields as Record<string, Field<unknown>>).flatMap(([key, field]) => {
        const path = `${itemPrefix}.${key}`;
        const own = `| \`${path}\` | ${escape(field.schema.allowed)} | ${escape(describeDefault(field))} | ${escape(field.doc)} |`;
        return [own, ...rows(path, field.schema)];
    });
}

export function renderConfigReference(): string {
    const lines = ["| Key | Allowed | Default | Description |", "| --- | --- | --- | --- |"];
    for (const [key, schema] of Object.entries(CONFIG_SCHEMAS)) {
        const top = TOP_LEVEL_DOCS[key];
        lines.push(
            `| \`${PROJECT}:${key}\` | ${escape(schema.allowed)} | ${escape(top.default)} | ${escape(top.doc)} |`,
        );
        lines.push(...rows(`${PROJECT}:${key}`, schema));
    }
    for (const key of SECRET_KEYS) {
        lines.push(
            `| \`${PROJECT}:${key}\` (secret) | a kubeconfig, set with \`pulumi config set --secret\` | (unset) | Used instead of \`cluster.aks\`; requires \`cluster.oidcIssuerUrl\`. |`,
        );
    }
    return lines.join("\n");
}

if (require.main === module) {
    console.log(renderConfigReference());
}
