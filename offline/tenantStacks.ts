/**
 * Runs a stack of either role under the mock engine: a tenant stack (`data-platform:tenant`) reads its platform's
 * outputs through a StackReference, which the mock engine answers from the platform's own run, planned first from
 * the platform's configuration (`platformConfig`, else its `Pulumi.<stack>.yaml`).
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { type RunOptions, type RunResult, runProgram } from "./mockEngine";
import { ROOT, type StackConfig, loadStackConfig } from "./stackConfig";
import { stackNames } from "./stacks";
import { appRedisUserNames } from "../components/redis/acl";
import { DEFAULT_INSTANCE } from "../components/serviceModule";

/** The platform stack a tenant stack's configuration names, as a stack name (the last part of `org/project/stack`). */
export function platformStackOf(config: Readonly<Record<string, string>>): string | undefined {
    const tenant = config["data-platform:tenant"];
    if (tenant === undefined) {
        return undefined;
    }
    const reference: unknown = JSON.parse(tenant)?.platformStack;
    return typeof reference === "string" ? (reference.split("/").pop() as string) : undefined;
}

/**
 * Runs `stack` with `config`; a tenant's platform is run first (from `platforms`, by stack name, or its own file) and
 * answers the StackReference. The platform's run is returned beside the tenant's.
 */
export async function runStack(
    stack: string,
    config: StackConfig,
    platforms: Readonly<Record<string, StackConfig>> = {},
    options: Partial<RunOptions> = {},
): Promise<{ result: RunResult; platform?: RunResult }> {
    const platformStack = platformStackOf(config.config);
    if (platformStack === undefined) {
        return { result: await runProgram({ ...options, stack, ...config }) };
    }
    const platformConfig = platforms[platformStack] ?? loadStackConfig(platformStack);
    const platform = await runProgram({ stack: platformStack, ...platformConfig });
    return { result: await runTenant(stack, config, platform, options), platform };
}

/** Runs tenant stack `stack` (a preview unless `options` say otherwise), its StackReference answered by `platform`'s run. */
export function runTenant(
    stack: string,
    config: StackConfig,
    platform: RunResult,
    options: Partial<RunOptions> = {},
): Promise<RunResult> {
    return runProgram({
        preview: true,
        ...options,
        stack,
        ...config,
        stackOutputs: (name) => (name.split("/").pop() === platform.stack ? platform.outputs : undefined),
    });
}

/**
 * Applications that two stacks of one platform (the platform itself and its tenants) both hold, by name or namespace:
 * one Kubernetes namespace, one set of Key Vault secrets (named by the application) in the platform's vault. A run sees
 * one stack, so the repository checks its stack files (`npm run stacks`, which CI's matrices come from).
 */
export function tenantCollisionProblems(dir: string = ROOT): string[] {
    const docs = stackNames(dir).map((stack) => ({
        stack,
        config: (YAML.parse(fs.readFileSync(path.join(dir, `Pulumi.${stack}.yaml`), "utf8")) ?? {}).config ?? {},
    }));
    const platformOf = (config: Record<string, any>, stack: string): string =>
        String(config["data-platform:tenant"]?.platformStack ?? stack)
            .split("/")
            .pop() as string;
    const holders = new Map<string, string>();
    const problems: string[] = [];
    for (const { stack, config } of docs) {
        for (const app of config["data-platform:apps"] ?? []) {
            for (const [what, value] of [
                ["application", app.name],
                ["namespace", app.namespace],
                // Every stack's users load into one users file per group (components/redis/tenant.ts), and a server
                // refuses a file naming a user twice ("Duplicate user") at start: an extra database's user
                // (`<app>-<name>`) must not be another stack's application's, nor the reverse.
                ...redisUserNames(app).map((user) => ["Redis user", user]),
                // A database index is what keeps one application's keys from another's on a shared group (ACLs limit
                // SELECT to it): two stacks' applications on one index would share every key.
                ...redisDatabases(app).map((db) => ["Redis database", db]),
            ]) {
                const key = `${platformOf(config, stack)}: ${what} ${value}`;
                const first = holders.get(key);
                if (first !== undefined) {
                    problems.push(
                        `stacks ${first} and ${stack} of platform ${key} both hold it; move it to one of them`,
                    );
                } else {
                    holders.set(key, stack);
                }
            }
        }
    }
    return problems;
}

/** The Redis ACL users an application's raw entry names (`appRedisUserNames`, before validation). */
function redisUserNames(app: Record<string, any>): string[] {
    const extras: unknown[] = Array.isArray(app.redisExtraDatabases) ? app.redisExtraDatabases : [];
    return appRedisUserNames({
        name: String(app.name),
        redisExtraDatabases: extras.map((x) => ({ name: String((x as { name?: unknown })?.name) })),
    });
}

/** The Redis databases an application's raw entry uses, as `<group>/<index>` (`redisGroupOf`, before validation). */
function redisDatabases(app: Record<string, any>): string[] {
    const group = String(app.redis?.group ?? DEFAULT_INSTANCE);
    const extras: unknown[] = Array.isArray(app.redisExtraDatabases) ? app.redisExtraDatabases : [];
    return [app.redisDb, ...extras.map((x) => (x as { db?: unknown })?.db)].map((db) => `${group}/${String(db)}`);
}
