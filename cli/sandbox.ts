/**
 * `npm run sandbox -- --stack <name> [--config-file <file>] [--out <dir>] [--postgres-port N] [--redis-port N]`
 *
 * Starts the stack's PostgreSQL and Redis on loopback from the same rendered SQL and config files the
 * program deploys (the mock run of the stack supplies them and its generated passwords), writes each
 * application's environment to `<out>/<stack>/sandbox/<app>.env`, prints one JSON line describing what
 * runs, and stops everything on SIGTERM or Ctrl-C.
 */
import * as fs from "fs";
import * as path from "path";
import { ConfigError, parseConfig } from "../components/config";
import type { AppConfig } from "../components/config/platform";
import { envTemplateParts } from "../components/envContract";
import { CREDENTIALS_COMPONENT_TYPE } from "../components/vault/credentials";
import { RunResult, runProgram } from "../offline/mockEngine";
import { loadStackConfig, stackFile } from "../offline/stackConfig";
import { parseFlags } from "./args";
import { startPostgres } from "../testbed/servers/postgresLogins";
import { startRedis } from "../testbed/servers/redisStack";

const PASSWORD_TYPE = "random:index/randomPassword:RandomPassword";

/** The generated password of every credential id in a mock run (`credentials-<id>` under the Credentials component). */
export function credentialPasswords(run: RunResult): Record<string, string> {
    const credentials = run.resources.find((r) => r.type === CREDENTIALS_COMPONENT_TYPE);
    if (!credentials) {
        throw new Error(`the run has no ${CREDENTIALS_COMPONENT_TYPE}`);
    }
    const prefix = `${credentials.name}-`;
    return Object.fromEntries(
        run.resources
            .filter((r) => r.type === PASSWORD_TYPE && r.parent === credentials.urn)
            .map((r) => [r.name.slice(prefix.length), r.outputs.result as string]),
    );
}

/**
 * One `KEY='value'` entry per variable, as `sh` reads it (`set -a; . file`); values never contain a single quote
 * (see SAFE_SPECIAL_CHARACTERS). A PEM value (`DB_CA_CERT`, `REDIS_CA_CERT`) spans lines inside its quotes. A Secret
 * key that is no shell name (`apps[].env` may name `postgres-password`, read through `secretKeyRef`) is written as
 * well; `sh` skips that line.
 */
export function renderEnvFile(env: Readonly<Record<string, string>>): string {
    return Object.keys(env)
        .sort()
        .map((key) => {
            const value = env[key];
            if (value.includes("'")) {
                throw new Error(`${key} cannot be written to an env file safely`);
            }
            return `${key}='${value}'\n`;
        })
        .join("");
}

/**
 * An application's own key names (`apps[].env`) over its contract, as External Secrets' template renders them in the
 * cluster (each `{{KEY}}` the key's value, the text around it as written).
 */
export function renderAppEnv(app: Pick<AppConfig, "name" | "env">, contract: Readonly<Record<string, string>>) {
    return Object.fromEntries(
        Object.entries(app.env).map(([name, value]) => [
            name,
            envTemplateParts(value)
                .map((part) => {
                    if ("text" in part) {
                        return part.text;
                    }
                    const got = contract[part.key];
                    if (got === undefined) {
                        throw new Error(`${app.name}: env.${name} names ${part.key}, which its contract lacks`);
                    }
                    return got;
                })
                .join(""),
        ]),
    );
}

async function main(): Promise<void> {
    const { flags } = parseFlags(process.argv.slice(2), ["stack", "config-file", "out", "postgres-port", "redis-port"]);
    const stack = flags.stack;
    if (!stack) {
        throw new Error(
            "usage: npm run sandbox -- --stack <name> [--config-file <file>] [--out <dir>] [--postgres-port N] [--redis-port N]",
        );
    }
    const raw = loadStackConfig(stack, flags["config-file"] ?? stackFile(stack));
    const config = parseConfig(raw.config, stack, raw.secretKeys);
    const run = await runProgram({ stack, ...raw });
    const passwords = credentialPasswords(run);

    const postgres = await startPostgres({
        config,
        passwords,
        run,
        port: flags["postgres-port"] ? Number(flags["postgres-port"]) : undefined,
    });
    const stops: (() => Promise<void>)[] = [() => postgres.stop()];
    const stopAll = async () => {
        for (const stop of stops.reverse()) {
            await stop().catch((err) => console.error(`stopping: ${err instanceof Error ? err.message : err}`));
        }
    };
    // Installed before anything is announced: a caller may signal as soon as it reads the JSON line.
    let stopping = false;
    const shutdown = (signal: string) => {
        if (stopping) {
            return;
        }
        stopping = true;
        console.error(`${signal}: stopping the sandbox`);
        stopAll().then(
            () => process.exit(0),
            () => process.exit(1),
        );
    };
    process.on("SIGTERM", () => shutdown("SIGTERM"));
    process.on("SIGINT", () => shutdown("SIGINT"));
    try {
        const redis = await startRedis({
            run,
            apps: config.apps,
            passwords,
            basePort: flags["redis-port"] ? Number(flags["redis-port"]) : undefined,
        });
        stops.push(() => redis.stop());

        const dir = path.resolve(flags.out ?? "out", stack, "sandbox");
        fs.mkdirSync(dir, { recursive: true });
        const envFiles: Record<string, string> = {};
        for (const app of config.apps) {
            // node-postgres verifies the server certificate with sslmode=require: trust the sandbox's CA.
            const contract = { ...postgres.env[app.name], ...redis.env[app.name] };
            const env = {
                ...contract,
                ...renderAppEnv(app, contract),
                NODE_EXTRA_CA_CERTS: postgres.caFile,
                ...(redis.tlsCaFiles[app.name] ? { REDIS_TLS_CA_FILE: redis.tlsCaFiles[app.name] } : {}),
            };
            envFiles[app.name] = path.join(dir, `${app.name}.env`);
            fs.writeFileSync(envFiles[app.name], renderEnvFile(env), { mode: 0o600 });
        }
        console.log(
            JSON.stringify({
                stack,
                postgresMode: config.postgres.mode,
                redisMode: config.redis.mode,
                processes: [
                    ...postgres.processes.map((p) => ({ service: "postgres", ...p })),
                    ...redis.processes.map((p) => ({ service: "redis", ...p })),
                ],
                envFiles,
            }),
        );
    } catch (err) {
        await stopAll();
        throw err;
    }
}

if (require.main === module) {
    main().catch((err) => {
        console.error(err instanceof ConfigError || !(err instanceof Error) ? String(err.message ?? err) : err.stack);
        process.exit(1);
    });
}
