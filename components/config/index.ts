/**
 * The one typed, validated stack configuration.
 *
 * `parseConfig` turns the raw `data-platform:*` values into a `PlatformConfig` or throws a
 * `ConfigError` listing every problem, one line each; nothing is registered before it returns.
 */
import { backupConfigRules } from "../backup/configRules";
import * as pulumi from "@pulumi/pulumi";
import { ConfigIssue, ParseContext, configIssues, formatIssue, report, show } from "./issues";
import { PROFILES, PROFILE_DECIDES } from "./fields";
import { APP_IMPORTS, AppConfig, AppEntry, profileSchema } from "./platform";
import { SECRET_KEYS, STACK_SCHEMAS } from "./stack";
import { keyVaultConfigRules } from "../vault/configRules";
import { appSecretRules } from "../secretSync/configRules";
import { appEnvRules } from "../envContract";
import { azureLimitRules } from "../limits";
import { SERVICES } from "../services";
import { ConfigRule, PROJECT, PlatformConfig } from "./types";
import { stackHash, stackSlug } from "../stableNames";
import {
    Tenancy,
    TenantStackConfig,
    isTenantConfig,
    parseTenantConfig,
    sharedRawConfig,
    tenantQuotaRules,
    tenantRawConfig,
} from "./tenant";

export * from "./types";
export { SECRET_KEYS, STACK_SCHEMAS } from "./stack";

/** Each service's rules over several keys, run after every key parsed. */
const SERVICE_CONFIG_RULES: readonly ConfigRule[] = SERVICES.map((service) => service.configRules);
/** Rules that build the credential registry, whose ids derive from the user names the service rules check. */
const REGISTRY_CONFIG_RULES: readonly ConfigRule[] = [
    keyVaultConfigRules,
    backupConfigRules,
    tenantQuotaRules,
    azureLimitRules,
];
/** Rules of each application's Secret, whose contract keys derive from the instances the service rules check. */
const APP_SECRET_RULES: readonly ConfigRule[] = [appEnvRules, appSecretRules];

/** The configuration plus the values that must stay secret. */
export interface LoadedConfig {
    readonly config: PlatformConfig;
    /**
     * Kubeconfig from `data-platform:kubeconfig` (secret): the cluster's without an AKS lookup, or with one in place of
     * the credential AKS would hand out (a preview's read-only account).
     */
    readonly kubeconfig?: pulumi.Output<string>;
    /** The configuration a tenant stack reads from this one (`Tenancy.config`); unset: not exported. */
    readonly shared?: Readonly<Record<string, unknown>>;
}

/** Raised for invalid configuration; RunError prints without a stack trace under the Pulumi CLI. */
export class ConfigError extends pulumi.RunError {
    constructor(readonly issues: readonly ConfigIssue[]) {
        super(
            `invalid stack configuration (${issues.length} problem${issues.length === 1 ? "" : "s"}):\n` +
                issues.map((i) => `  ${formatIssue(i)}`).join("\n"),
        );
        this.name = "ConfigError";
    }
}

/**
 * Validates raw configuration.
 * @param raw every config value of the stack, keyed `<namespace>:<key>`; objects may be JSON strings.
 * @param secretKeys keys that were set with `--secret`.
 */
export function parseConfig(
    raw: Readonly<Record<string, unknown>>,
    stack: string,
    secretKeys: readonly string[] = [],
    tenantStack?: string,
): PlatformConfig {
    const issues: ConfigIssue[] = [];
    const value = (key: string): unknown => decode(raw[`${PROJECT}:${key}`]);
    const known = Object.keys(STACK_SCHEMAS.production.shape);

    for (const key of Object.keys(raw)) {
        const [namespace, name] = key.split(":", 2);
        if (namespace !== PROJECT) {
            continue;
        }
        if (!known.includes(name) && !(SECRET_KEYS as readonly string[]).includes(name)) {
            issues.push({
                path: key,
                given: show(decode(raw[key])),
                allowed: `no such key; known keys: ${[...known, ...SECRET_KEYS].map((k) => `${PROJECT}:${k}`).join(", ")}`,
            });
        }
    }
    for (const key of SECRET_KEYS) {
        const full = `${PROJECT}:${key}`;
        if (raw[full] !== undefined && !secretKeys.includes(full)) {
            issues.push({
                path: full,
                given: "a plain-text value",
                allowed: `a secret (pulumi config set --secret ${key} ...)`,
            });
        }
    }

    // The profile chooses every other key's defaults, so it is read first; a missing or invalid one is reported and
    // the rest is still checked (with production defaults). Required: CI decides the stack's environment (approval,
    // production policies) from the same key (offline/stacks.ts), so neither may guess it.
    const givenProfile = profileSchema.safeParse(value("profile"), { reportInput: true });
    if (!givenProfile.success) {
        report(
            { issues },
            `${PROJECT}:profile`,
            value("profile"),
            `${PROFILES.map((p) => JSON.stringify(p)).join(" or ")}: ${PROFILE_DECIDES}`,
        );
    }
    const profile = givenProfile.data ?? "production";
    const input = Object.fromEntries(known.map((key) => [key, withoutNullKeys(value(key))]));
    const parsed = STACK_SCHEMAS[profile].safeParse({ ...input, profile }, { reportInput: true });
    if (!parsed.success) {
        issues.push(...configIssues(parsed.error.issues, PROJECT));
    }
    if (!parsed.success || issues.length > 0) {
        throw new ConfigError(issues);
    }

    const { keyVault, azure, apps: entries } = parsed.data;
    const subscriptionId = raw[AZURE_SUBSCRIPTION_KEY];
    const appImports = Object.fromEntries(entries.filter((e) => e.import.length > 0).map((e) => [e.name, e.import]));
    // Every entry is checked, retired ones too: their names, databases and Redis databases stay taken until dropped.
    const config: PlatformConfig = {
        project: PROJECT,
        stack,
        ...parsed.data,
        apps: entries.map(appOf),
        retiredApps: [],
        appImports,
        subscriptionId: typeof subscriptionId === "string" && subscriptionId !== "" ? subscriptionId : undefined,
        keyVault: { ...keyVault, name: keyVault.name ?? defaultVaultName(stack, azure.resourceGroupName) },
        ...(tenantStack === undefined ? {} : { tenantStack }),
    };
    const ctx: ParseContext = { issues };
    checkCluster(config, raw[`${PROJECT}:kubeconfig`] !== undefined, ctx);
    checkApps(config, ctx);
    checkAppLifecycle(config, entries, ctx);
    // The credential registry's ids derive from application and Redis user names: they need unique names.
    for (const rules of [SERVICE_CONFIG_RULES, REGISTRY_CONFIG_RULES, APP_SECRET_RULES]) {
        if (issues.length === 0) {
            rules.forEach((check) => check(config, ctx));
        }
    }
    if (issues.length > 0) {
        throw new ConfigError(issues);
    }
    return {
        ...config,
        apps: entries.filter((e) => !e.retired).map(appOf),
        retiredApps: entries.filter((e) => e.retired).map(appOf),
    };
}

/** The stack config key of the Azure subscription (read by the Azure provider and the import ids). */
export const AZURE_SUBSCRIPTION_KEY = "azure-native:subscriptionId";

/** An entry as the program's applications see it: without how it enters or leaves the stack. */
function appOf({ retired: _retired, import: _import, ...app }: AppEntry): AppConfig {
    return app;
}

/** The running stack's raw configuration and which keys are secret, through the Pulumi runtime. */
function runtimeConfig(): { raw: Record<string, string>; secretKeys: string[] } {
    const raw = pulumi.runtime.allConfig();
    // `isConfigSecret` is internal to the SDK (not in its typings) but is what `Config.getSecret` consults.
    const runtime = pulumi.runtime as unknown as { isConfigSecret(key: string): boolean };
    return { raw, secretKeys: Object.keys(raw).filter((k) => runtime.isConfigSecret(k)) };
}

/** Reads the running stack's configuration through the Pulumi runtime. */
export function loadConfig(): LoadedConfig {
    const { raw, secretKeys } = runtimeConfig();
    const config = parseConfig(raw, pulumi.getStack(), secretKeys);
    const kubeconfig = new pulumi.Config(PROJECT).getSecret("kubeconfig");
    return { config, kubeconfig, shared: sharedRawConfig(raw, secretKeys) };
}

/** A stack in either role: a platform stack's configuration, or a tenant stack's own part of it. */
export type LoadedStack =
    | { readonly role: "platform"; readonly loaded: LoadedConfig }
    | { readonly role: "tenant"; readonly tenant: TenantStackConfig; readonly kubeconfig?: pulumi.Output<string> };

/** Reads the running stack's configuration in its role (`data-platform:tenant` set: a tenant stack). */
export function loadStack(): LoadedStack {
    const { raw, secretKeys } = runtimeConfig();
    if (!isTenantConfig(raw)) {
        return { role: "platform", loaded: loadConfig() };
    }
    const { config, issues } = parseTenantConfig(raw, pulumi.getStack(), decode);
    if (config === undefined) {
        throw new ConfigError(issues);
    }
    const kubeconfig = secretKeys.includes(`${PROJECT}:kubeconfig`)
        ? new pulumi.Config(PROJECT).getSecret("kubeconfig")
        : undefined;
    return { role: "tenant", tenant: config, kubeconfig };
}

/**
 * A tenant stack's whole configuration: its platform's shared keys (`tenancy`) with its own applications, validated
 * as one stack, under the platform's stack name (every name derived from it, the vault's included, is the
 * platform's).
 */
export function parseTenantStack(tenant: TenantStackConfig, tenancy: Tenancy): PlatformConfig {
    const { raw, issues } = tenantRawConfig(tenant, tenancy, decode);
    if (raw === undefined) {
        throw new ConfigError(issues);
    }
    const secretKeys = Object.keys(tenant.raw).filter((key) => key === `${PROJECT}:kubeconfig`);
    return parseConfig(raw, tenancy.stack, secretKeys, tenant.stack);
}

/**
 * A tenant stack's whole configuration from raw values: its own, and its platform stack's as that stack's file gives
 * them (what the platform's `tenancy` output would hold), for checks across stacks before anything runs.
 */
export function parseTenantRaw(
    raw: Readonly<Record<string, unknown>>,
    stack: string,
    platform: {
        readonly stack: string;
        readonly raw: Readonly<Record<string, unknown>>;
        readonly secretKeys: string[];
    },
): PlatformConfig {
    const { config, issues } = parseTenantConfig(raw, stack, decode);
    if (config === undefined) {
        throw new ConfigError(issues);
    }
    const shared = sharedRawConfig(platform.raw, platform.secretKeys);
    // The vault's id is the platform's output, which no check here reads.
    return parseTenantStack(config, { stack: platform.stack, config: shared, keyVaultId: "" });
}

/** A Key Vault name that is stable for the stack and distinct across resource groups: `dp-<stack>-<hash>`. */
export function defaultVaultName(stack: string, resourceGroupName: string): string {
    return `dp-${stackSlug(stack, 13)}-${stackHash(PROJECT, stack, resourceGroupName)}`.replace(/--+/g, "-");
}

function decode(value: unknown): unknown {
    if (typeof value !== "string") {
        return value;
    }
    const trimmed = value.trim();
    if (
        trimmed.startsWith("{") ||
        trimmed.startsWith("[") ||
        trimmed === "true" ||
        trimmed === "false" ||
        /^-?\d+$/.test(trimmed)
    ) {
        try {
            return JSON.parse(trimmed);
        } catch {
            return value;
        }
    }
    return value;
}

/** YAML writes an empty key (`tlsSecretName:`) as null: nested keys given null count as not given. */
function withoutNullKeys(value: unknown): unknown {
    if (Array.isArray(value)) {
        return value.map(withoutNullKeys);
    }
    if (value === null || typeof value !== "object") {
        return value;
    }
    return Object.fromEntries(
        Object.entries(value)
            .filter(([, v]) => v !== null)
            .map(([k, v]) => [k, withoutNullKeys(v)]),
    );
}

function checkCluster(config: PlatformConfig, hasKubeconfig: boolean, ctx: ParseContext): void {
    const path = `${PROJECT}:cluster`;
    if (!config.cluster.aks && !hasKubeconfig) {
        report(ctx, `${path}.aks`, undefined, `cluster.aks, or a kubeconfig in ${PROJECT}:kubeconfig (secret)`);
    }
    if (!config.cluster.aks && hasKubeconfig && !config.cluster.oidcIssuerUrl) {
        report(ctx, `${path}.oidcIssuerUrl`, undefined, "the cluster's OIDC issuer URL (required with a kubeconfig)");
    }
}

function checkApps(config: PlatformConfig, ctx: ParseContext): void {
    const unique = (what: keyof AppConfig, describe: string) => {
        const seen = new Map<unknown, number>();
        config.apps.forEach((app, i) => {
            const v = app[what];
            const first = seen.get(v);
            if (first !== undefined) {
                report(
                    ctx,
                    `${PROJECT}:apps[${i}].${what}`,
                    v,
                    `${describe} not used by another application (apps[${first}] has it)`,
                );
            } else {
                seen.set(v, i);
            }
        });
    };
    unique("name", "a name");
    unique("namespace", "a namespace");
    unique("database", "a database");
    SERVICES.forEach((service) => service.appRules?.(config, ctx));
    config.apps.forEach((app, i) => {
        if (app.namespace === config.cluster.platformNamespace) {
            report(
                ctx,
                `${PROJECT}:apps[${i}].namespace`,
                app.namespace,
                `a namespace other than the platform's (${config.cluster.platformNamespace})`,
            );
        }
    });
}

/** `apps[].retired` and `apps[].import`: what each may be combined with. */
function checkAppLifecycle(config: PlatformConfig, entries: readonly AppEntry[], ctx: ParseContext): void {
    if (entries.every((e) => e.retired)) {
        report(ctx, `${PROJECT}:apps`, "every application retired", "at least one application that is not retired");
    }
    entries.forEach((entry, i) => {
        const path = `${PROJECT}:apps[${i}].import`;
        const twice = entry.import.filter((part, j) => entry.import.indexOf(part) !== j);
        if (twice.length > 0) {
            report(ctx, path, entry.import, `each of ${APP_IMPORTS.join(", ")} at most once`);
        }
        if (entry.import.includes("namespace") && !entry.createNamespace) {
            report(
                ctx,
                path,
                entry.import,
                "namespace only with createNamespace: true (a namespace the stack does not create is patched, never created, so there is nothing to import)",
            );
        }
        // The mode of the server that holds its database.
        const server = config.postgres.servers[entry.postgres?.server ?? ""] ?? config.postgres;
        if (entry.import.includes("database") && (server.mode !== "azure" || server.azure.databases === "sql")) {
            report(
                ctx,
                path,
                entry.import,
                "database only on a server of mode azure whose databases are ARM resources (postgres.azure.databases arm or release): elsewhere the login Job keeps a database that exists",
            );
        }
        const needsSubscription = entry.import.filter(
            (part) => part === "database" || (part === "secrets" && !config.keyVault.existingVaultId),
        );
        if (needsSubscription.length > 0 && !config.subscriptionId) {
            report(
                ctx,
                path,
                entry.import,
                `${needsSubscription.join(" and ")} with ${AZURE_SUBSCRIPTION_KEY} set: their Azure resource ids name the subscription`,
            );
        }
    });
}
