/**
 * Per-policy configuration with defaults, and production detection.
 *
 * Every threshold is a property of the policy's `configSchema` with a `default`, so the pack runs
 * without any `--policy-pack-config`; `settingsOf` applies those defaults itself rather than relying
 * on the engine to do it.
 */
import type { PolicyConfigSchema } from "@pulumi/policy";
import type { PolicyConfigJSONSchema } from "@pulumi/policy/schema";

/** What a validation needs to read its configuration and to tell production from the rest. */
export interface ConfigSource {
    readonly stackTags: ReadonlyMap<string, string>;
    getConfig<T extends object>(): T;
}

export interface EnvironmentSettings {
    /** `auto` decides from the stack tag `environment`, else from the stack name. */
    readonly environment: "auto" | "production" | "non-production";
    /** Stack names treated as production when `environment` is `auto` and the stack has no `environment` tag. */
    readonly productionStacks: string[];
}

/** Config properties every production-aware policy accepts. */
export const ENVIRONMENT_PROPERTIES: Record<keyof EnvironmentSettings, PolicyConfigJSONSchema> = {
    environment: {
        type: "string",
        enum: ["auto", "production", "non-production"],
        default: "auto",
        description:
            "auto: production if the stack tag `environment` is prod/production, or (without that tag) the stack name is in productionStacks.",
    },
    productionStacks: {
        type: "array",
        items: { type: "string" },
        default: ["prod", "production"],
        description: "Stack names that are production.",
    },
};

/** A config schema from its properties (each with a default). */
export function schema(
    properties: Record<string, PolicyConfigJSONSchema>,
    environmentAware = false,
): PolicyConfigSchema {
    return { properties: environmentAware ? { ...ENVIRONMENT_PROPERTIES, ...properties } : properties };
}

/** The policy's configuration: the given values over the schema's defaults. */
export function settingsOf<T>(source: ConfigSource, configSchema: PolicyConfigSchema): T {
    const defaults: Record<string, unknown> = {};
    for (const [key, prop] of Object.entries(configSchema.properties)) {
        if (prop.default !== undefined) {
            defaults[key] = prop.default;
        }
    }
    return { ...defaults, ...source.getConfig<Record<string, unknown>>() } as T;
}

const PRODUCTION_TAG_VALUES = ["prod", "production"];

/** The stack name inside a URN `urn:pulumi:<stack>::<project>::<type>::<name>`. */
export function stackOfUrn(urn: string): string {
    return urn.split("::")[0].replace(/^urn:pulumi:/, "");
}

/** True when the stack is production per the settings (explicit), the `environment` stack tag, or the stack name. */
export function isProduction(source: ConfigSource, settings: EnvironmentSettings, urn: string | undefined): boolean {
    if (settings.environment !== "auto") {
        return settings.environment === "production";
    }
    const tag = source.stackTags.get("environment");
    if (tag !== undefined) {
        return PRODUCTION_TAG_VALUES.includes(tag.toLowerCase());
    }
    return urn !== undefined && settings.productionStacks.includes(stackOfUrn(urn));
}
