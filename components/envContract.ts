/**
 * The application contract as data: which environment variables every application gets, where they come
 * from, and how they are assembled, checked and stored. README, tests and components all use these lists.
 * Each service's part (its keys, their docs, what decides them) is its module's `contract`; this file puts the parts
 * of the catalog's services together. No resource code here.
 */
import * as pulumi from "@pulumi/pulumi";
import type { Env } from "./interfaces";
import type { AppConfig } from "./config/platform";
import { type ConfigRule, PROJECT, type PlatformConfig } from "./config/types";
import { report } from "./config/issues";
import {
    type ContractKey,
    type ContractShape,
    DEFAULT_INSTANCE,
    SERVICES,
    type ServiceContract,
    instanceOf,
} from "./services";

export type { ContractKey, ContractShape } from "./services";

/**
 * The shape an application's keys follow: each service's part, from the instance of it the application uses (the
 * default instances without an application).
 */
export function contractShape(config: PlatformConfig, app?: AppConfig): ContractShape {
    return Object.assign(
        {},
        ...SERVICES.map((service) => service.contract.shape(config, app ? instanceOf(service, app) : DEFAULT_INSTANCE)),
    );
}

/** One application's contract: its shape's keys, then the keys of its own config (e.g. its extra Redis databases). */
export function appContract(shape: ContractShape, app: AppConfig): ContractKey[] {
    return [...contractFor(shape), ...SERVICES.flatMap((service) => service.contract.appKeys?.(shape, app) ?? [])];
}

/** The exact key set one application's Secret holds. */
export function appContractKeys(shape: ContractShape, app: AppConfig): string[] {
    return appContract(shape, app).map((k) => k.key);
}

/** The contract of a shape: each service's keys, in catalog order. */
export function contractFor(shape: ContractShape): readonly ContractKey[] {
    return SERVICES.flatMap((service) => service.contract.keys(shape));
}

/** The exact key set an application's Secret holds in a shape. */
export function contractKeys(shape: ContractShape): string[] {
    return contractFor(shape).map((k) => k.key);
}

/** Every shape: each combination of the services' parts, widest first (the README table lists each key once, in this order). */
export const CONTRACT_SHAPES: readonly ContractShape[] = SERVICES.reduce<object[]>(
    (shapes, service) => shapes.flatMap((shape) => service.contract.shapes.map((part) => ({ ...shape, ...part }))),
    [{}],
) as ContractShape[];

/** Keys whose values are secret in any shape. */
export const SECRET_CONTRACT_KEYS: readonly string[] = [
    ...new Set(
        CONTRACT_SHAPES.flatMap(contractFor)
            .filter((k) => k.secret)
            .map((k) => k.key),
    ),
];

/**
 * One application's Env from what each service contributes (`parts`, by service name). Each part must hold exactly
 * its service's keys of the contract's shape and of the application's own config; secret keys are made secret
 * whatever the services gave. Throws a RunError naming the missing and unexpected keys.
 */
export function assembleEnv(app: AppConfig, shape: ContractShape, parts: Readonly<Record<string, Env>>): Env {
    for (const service of SERVICES) {
        const label = service.contract.label?.(shape);
        checkKeys(
            Object.keys(parts[service.name] ?? {}),
            appContract(shape, app)
                .filter((k) => k.service === service.name)
                .map((k) => k.key),
            `application ${app.name}: ${service.name} env${label ? ` (${label})` : ""}`,
        );
    }
    const merged: Env = Object.assign({}, ...SERVICES.map((service) => parts[service.name]));
    return Object.fromEntries(
        appContract(shape, app).map((k) => [k.key, k.secret ? pulumi.secret(merged[k.key]) : merged[k.key]]),
    );
}

function checkKeys(given: readonly string[], expected: readonly string[], what: string): void {
    const missing = expected.filter((k) => !given.includes(k));
    const unexpected = given.filter((k) => !expected.includes(k));
    if (missing.length > 0 || unexpected.length > 0) {
        const parts = [
            missing.length ? `missing ${missing.join(", ")}` : "",
            unexpected.length ? `unexpected ${unexpected.join(", ")}` : "",
        ];
        throw new pulumi.RunError(`${what} does not match the contract: ${parts.filter(Boolean).join("; ")}`);
    }
}

/** Where a key is present: "always", or the conditions every shape holding it meets. */
function presence(key: string): string {
    const holding = CONTRACT_SHAPES.filter((shape) => contractKeys(shape).includes(key));
    if (holding.length === CONTRACT_SHAPES.length) {
        return "always";
    }
    return SERVICES.flatMap((service): ServiceContract<ContractShape>["conditions"] => service.contract.conditions)
        .filter((condition) => holding.every((shape) => condition.holds(shape)))
        .map((condition) => condition.present)
        .join(", ");
}

/** The contract as a markdown table (every shape), for the README; a test keeps README.md in step. */
export function renderContractTable(): string {
    const keys = new Map<string, ContractKey>();
    for (const shape of CONTRACT_SHAPES) {
        for (const key of contractFor(shape)) {
            keys.set(key.key, keys.get(key.key) ?? key);
        }
    }
    const lines = ["| Key | Present | Secret | Meaning | Example |", "| --- | --- | --- | --- | --- |"];
    const row = (key: ContractKey, present: string) =>
        `| \`${key.key}\` | ${present} | ${key.secret ? "yes" : "no"} | ${key.description} | \`${key.example}\` |`;
    for (const key of keys.values()) {
        lines.push(row(key, presence(key.key)));
    }
    for (const service of SERVICES) {
        for (const { key, present } of service.contract.appKeyRows ?? []) {
            lines.push(row(key, present));
        }
    }
    return lines.join("\n");
}

/** A piece of an `apps[].env` value: text as written, or a contract key whose value goes there. */
export type EnvTemplatePart = { readonly text: string } | { readonly key: string };

/** `{{KEY}}` (spaces allowed inside the braces): where a contract key's value goes in an `apps[].env` value. */
const PLACEHOLDER = /\{\{\s*([^{}\s]*)\s*\}\}/g;

/**
 * An `apps[].env` value as its parts, or why it is not one: text without braces around `{{KEY}}` placeholders (so no
 * text can read as a template action when rendered, `../secretSync/spec.ts` `esoTemplateText`), and at least one key:
 * a value of its own would be a value in the stack file, in clear.
 */
export function parseEnvTemplate(value: string): EnvTemplatePart[] | string {
    const parts: EnvTemplatePart[] = [];
    let at = 0;
    for (const match of value.matchAll(PLACEHOLDER)) {
        parts.push({ text: value.slice(at, match.index) }, { key: match[1] });
        at = match.index + match[0].length;
    }
    parts.push({ text: value.slice(at) });
    if (parts.some((p) => "text" in p && /[{}]/.test(p.text))) {
        return "no { or } outside {{KEY}} placeholders";
    }
    const keys = parts.filter((p) => "key" in p);
    if (keys.length === 0) {
        return "at least one {{KEY}} of the contract: a value of its own would be written in the stack file, in clear";
    }
    return parts.filter((p) => !("text" in p) || p.text !== "");
}

/** The parts of a checked `apps[].env` value (`appEnvRules` refused any other before anything was built). */
export function envTemplateParts(value: string): EnvTemplatePart[] {
    const parts = parseEnvTemplate(value);
    if (typeof parts === "string") {
        throw new Error(`apps[].env value ${JSON.stringify(value)}: ${parts}`);
    }
    return parts;
}

/**
 * `apps[].env`: each key a name the contract does not hold already, each value a template over exactly the keys of the
 * application's own contract (its shape and its own keys, e.g. extra Redis databases).
 */
export const appEnvRules: ConfigRule = (config, ctx) => {
    config.apps.forEach((app, i) => {
        const keys = appContractKeys(contractShape(config, app), app);
        for (const [name, value] of Object.entries(app.env)) {
            const path = `${PROJECT}:apps[${i}].env.${name}`;
            if (keys.includes(name)) {
                report(ctx, path, value, `a key the contract does not hold already (${name} is one of its own)`);
                continue;
            }
            const parts = parseEnvTemplate(value);
            const unknown =
                typeof parts === "string"
                    ? []
                    : parts.flatMap((p) => ("key" in p && !keys.includes(p.key) ? [p.key] : []));
            if (typeof parts === "string" || unknown.length > 0) {
                const why =
                    typeof parts === "string" ? parts : `unknown: ${unknown.map((k) => JSON.stringify(k)).join(", ")}`;
                report(
                    ctx,
                    path,
                    value,
                    `a template of {{KEY}} placeholders over the application's contract keys (${keys.join(", ")}); ${why}`,
                );
            }
        }
    });
};
