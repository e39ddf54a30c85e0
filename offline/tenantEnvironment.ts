/**
 * A generated environment of one platform stack and tenant stacks (issue 26 item 7): prod's platform with its own
 * applications, and `tenants` tenant stacks holding `apps` generated applications between them; or the same
 * applications in the platform stack itself (`asOneStack`), to compare the two. `spread` places them with the generated
 * stacks' generator (offline/generatedStack.ts), as `npm run bench` and the 1,000-application environment test do.
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { type RunResult, runProgram } from "./mockEngine";
import { type StackConfig, loadStackConfig, mergeConfig } from "./stackConfig";
import { runTenant } from "./tenantStacks";
import { DEDICATED_GROUP, generatedPlacement } from "./generatedStack";
import { DIRECT_CONNECTIONS_PER_APP, POOLER_DEFAULTS, quotaBudget, serverSideOf } from "../policy/lib/postgres";
import { parseConfig } from "../components/config";
import type { AppConfig } from "../components/config/platform";
import type { PlatformConfig } from "../components/config/types";
import { appConnections, poolerLimits } from "../components/postgres/pooler";
import { postgresServerSettings, postgresServers } from "../components/postgres/servers";
import { DEFAULT_INSTANCE } from "../components/instanceNames";

export interface EnvironmentShape {
    /** Generated applications in all (beside the platform's own). */
    readonly apps: number;
    /** Tenant stacks they are spread over, round robin. */
    readonly tenants: number;
    /**
     * Placed as `npm run bench`'s generated stacks are (offline/generatedStack.ts: 10 x 3 pools over servers, shared
     * and dedicated Redis groups, identities over resource groups); else small ones on prod's one server and group.
     */
    readonly spread?: boolean;
}

export interface Environment {
    readonly platform: { readonly stack: string; readonly config: StackConfig };
    /** Tenant stack name to its configuration. */
    readonly tenants: Readonly<Record<string, StackConfig>>;
    /** The generated applications' entries, by tenant stack. */
    readonly appsByTenant: Readonly<Record<string, readonly Record<string, unknown>[]>>;
}

/** The platform stack the generated tenants name (prod's configuration). */
export const GENERATED_PLATFORM = "prod";

function generatedAppName(i: number): string {
    return `t-app-${String(i + 1).padStart(4, "0")}`;
}

/** A generated application: 4 connections x 2 replicas, a Redis database of its own. */
function generatedApp(i: number): Record<string, unknown> {
    const name = generatedAppName(i);
    return { name, namespace: name, redisDb: 100 + i, poolSize: 4, replicas: 2, serviceAccounts: [name] };
}

export function tenantStackName(i: number): string {
    return `tenant-${String(i + 1).padStart(2, "0")}`;
}

/**
 * prod, sized for every application of the environment (the server's connections, the group's databases): the
 * platform's budgets hold its tenants' applications too.
 */
function sizedPlatform(apps: number): StackConfig {
    const prod = loadStackConfig(GENERATED_PLATFORM);
    const postgres = JSON.parse(prod.config["data-platform:postgres"]);
    const redis = JSON.parse(prod.config["data-platform:redis"]);
    // What each generated application costs the server through Azure's PgBouncer (policy/lib/postgres.ts): 17.
    const { poolSize, replicas } = generatedApp(0) as { poolSize: number; replicas: number };
    const app = { name: "", clients: poolSize * replicas, pooled: true, direct: DIRECT_CONNECTIONS_PER_APP };
    const needed = 859 + apps * serverSideOf(app, POOLER_DEFAULTS.azure);
    return mergeConfig(prod, {
        // Above the SKU's default max_connections Azure needs a restart, which a generated stack acknowledges.
        "data-platform:postgres": {
            ...postgres,
            maxConnections: needed,
            azure: { ...postgres.azure, acknowledgeRestart: true },
        },
        "data-platform:redis": { ...redis, databases: 100 + apps + 1 },
    });
}

/**
 * The generated applications and the platform sized for them: placed by generatedStack's generator (servers sized
 * through PgBouncer, as the tenants' quotas count them); the platform keeps its own applications (their Redis databases
 * and connections stay theirs).
 */
function spreadPlatform(apps: number): { platform: StackConfig; apps: Record<string, unknown>[] } {
    const prod = loadStackConfig(GENERATED_PLATFORM);
    const own = JSON.parse(prod.config["data-platform:apps"]);
    const placed = generatedPlacement(prod, apps, { name: generatedAppName, own });
    // A dedicated group's application is the platform's: a tenant may not use one (config/tenant.ts).
    const dedicated = (app: Record<string, any>) => app.redis?.group === DEDICATED_GROUP;
    return {
        platform: mergeConfig(prod, {
            ...placed.sections,
            "data-platform:apps": [...own, ...placed.apps.filter(dedicated)],
        }),
        apps: placed.apps.filter((app) => !dedicated(app)),
    };
}

/**
 * Each tenant's quota on each server: exactly what its applications cost there, counted as the tenant's own check
 * counts them (policy/lib/postgres.ts `quotaBudget`, through the server's PgBouncer).
 */
function quota(platform: PlatformConfig, apps: readonly Record<string, any>[]) {
    const connections: Record<string, number> = {};
    const clients: Record<string, number> = {};
    for (const server of postgresServers(platform.postgres)) {
        const pooler = poolerLimits(postgresServerSettings(platform.postgres, server));
        const on = apps.filter((app) => (app.postgres?.server ?? DEFAULT_INSTANCE) === server);
        if (on.length === 0) {
            continue;
        }
        const used = quotaBudget(
            on.map((app) => appConnections(app as AppConfig, pooler, false)),
            pooler,
            { clients: 0, connections: 0 },
        );
        connections[server] = used.server.sum;
        if (used.client !== undefined) {
            clients[server] = used.client.sum;
        }
    }
    return { connections, clients };
}

export function generateEnvironment(shape: EnvironmentShape): Environment {
    const { platform: sized, apps } = shape.spread
        ? spreadPlatform(shape.apps)
        : { platform: sizedPlatform(shape.apps), apps: Array.from({ length: shape.apps }, (_, i) => generatedApp(i)) };
    const appsByTenant: Record<string, Record<string, unknown>[]> = {};
    apps.forEach((app, i) => (appsByTenant[tenantStackName(i % shape.tenants)] ??= []).push(app));
    const parsed = parseConfig(sized.config, GENERATED_PLATFORM, sized.secretKeys);
    const platform = mergeConfig(sized, {
        "data-platform:tenants": Object.fromEntries(
            Object.entries(appsByTenant).map(([stack, apps]) => [stack, quota(parsed, apps)]),
        ),
    });
    const tenants = Object.fromEntries(
        Object.entries(appsByTenant).map(([stack, apps]) => [
            stack,
            mergeConfig(
                { config: {}, secretKeys: [] },
                {
                    "data-platform:profile": "production",
                    "data-platform:tenant": {
                        platformStack: `acme/data-platform/${GENERATED_PLATFORM}`,
                        owners: [`@acme/${stack}`],
                    },
                    "data-platform:apps": apps,
                },
            ),
        ]),
    );
    return { platform: { stack: GENERATED_PLATFORM, config: platform }, tenants, appsByTenant };
}

/** The same environment as one stack: the platform with every tenant's applications after its own. */
export function asOneStack(env: Environment): StackConfig {
    const own = JSON.parse(env.platform.config.config["data-platform:apps"]);
    return mergeConfig(env.platform.config, {
        "data-platform:apps": [...own, ...Object.values(env.appsByTenant).flat()],
        "data-platform:tenants": {},
    });
}

/** Every stack of the environment planned: the platform once, each tenant against its outputs. */
export async function runEnvironment(
    env: Environment,
): Promise<{ platform: RunResult; tenants: Record<string, RunResult> }> {
    const platform = await runProgram({ stack: env.platform.stack, ...env.platform.config });
    const tenants: Record<string, RunResult> = {};
    for (const [stack, config] of Object.entries(env.tenants)) {
        tenants[stack] = await runTenant(stack, config, platform);
    }
    return { platform, tenants };
}

/** Writes the tenant stacks' files (`Pulumi.<stack>.yaml`, as a team commits one) into `dir`. */
export function writeTenantFiles(env: Environment, dir: string): void {
    for (const [stack, config] of Object.entries(env.tenants)) {
        const values = Object.fromEntries(Object.entries(config.config).map(([k, v]) => [k, decoded(v)]));
        fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), YAML.stringify({ config: values }));
    }
}

/** Writes the platform stack's file (`Pulumi.<stack>.yaml`, its tenants admitted) into `dir`, secrets as `secure:`. */
export function writePlatformFile(env: Environment, dir: string): void {
    const { config, secretKeys } = env.platform.config;
    const values = Object.fromEntries(
        Object.entries(config).map(([k, v]) => [k, secretKeys.includes(k) ? { secure: "v1:stand-in" } : decoded(v)]),
    );
    fs.writeFileSync(path.join(dir, `Pulumi.${env.platform.stack}.yaml`), YAML.stringify({ config: values }));
}

function decoded(value: string): unknown {
    return /^[[{]/.test(value) ? JSON.parse(value) : value;
}
