/**
 * The application contract as data: which environment variables every application gets, where they come
 * from, and how they are assembled, checked and stored. README, tests and components all use these lists.
 * Each service's part (its keys, their docs, what decides them) is its module's `contract`; this file puts the parts
 * of the catalog's services together. No resource code here.
 */
import * as pulumi from "@pulumi/pulumi";
import type { Env } from "./interfaces";
import type { AppConfig } from "./config/platform";
import type { PlatformConfig } from "./config/types";
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
