/**
 * A tenant stack's part of a Redis group of its platform stack: its applications' contract, from the group's settings
 * alone. The Sentinels' client password is the platform's: the application's ExternalSecret reads it from the
 * platform's Key Vault secret (`platformKeys`), so no credential crosses stacks through Pulumi.
 */
import * as pulumi from "@pulumi/pulumi";
import type { AppConfig } from "../config/platform";
import type { RedisConfig } from "../config/redis";
import type { CredentialSource, DataService, Env } from "../interfaces";
import { credentialSecretName, prefixedSecretName } from "../vault/secretNames";
import { redisRoleCredentials } from "./credentials";
import { redisEnvKeys, redisExtraEnvKeys } from "./env";
import { kubernetesLayout } from "./layout";
import { redisAppEnv } from "./redis";

/** The contract key whose value is the Sentinels' client password (one per extra database too). */
const SENTINEL_PASSWORD_KEY = "REDIS_SENTINEL_PASSWORD";

export interface TenantRedisArgs {
    /** The group's settings, as its platform stack has them. */
    readonly config: RedisConfig;
    /** The platform namespace, where the group runs (its hosts are named in it). */
    readonly namespace: string;
    /** This stack's applications on the group. */
    readonly apps: readonly AppConfig[];
    /** Their users' passwords (this stack's own credentials). */
    readonly credentials: CredentialSource;
    /** The platform vault's secret prefix (`keyVault.secretPrefix`). */
    readonly secretPrefix: string;
}

export class TenantRedis extends pulumi.ComponentResource implements DataService {
    private readonly args: TenantRedisArgs;

    constructor(name: string, args: TenantRedisArgs, opts?: pulumi.ComponentResourceOptions) {
        super(
            "data-platform:redis:TenantRedis",
            name,
            { group: args.config.group, apps: args.apps.map((a) => a.name) },
            opts,
        );
        this.args = args;
        this.registerOutputs({ apps: args.apps.map((a) => a.name) });
    }

    env(app: AppConfig): Env {
        const { config: redis, namespace, credentials } = this.args;
        // Stands for the platform's password, which `platformKeys` sources from Key Vault instead.
        const sentinelPassword = pulumi.secret("");
        return redisAppEnv({ redis, layout: kubernetesLayout(redis, namespace), credentials, sentinelPassword }, app);
    }

    /** Keys whose values the platform holds, by the Key Vault secret that holds each. */
    platformKeys(app: AppConfig): Record<string, string> {
        const redis = this.args.config;
        if (redis.mode !== "sentinel") {
            return {};
        }
        const secret = prefixedSecretName(
            this.args.secretPrefix,
            credentialSecretName(redisRoleCredentials(redis).sentinelClient),
        );
        const keys = [...redisEnvKeys(redis).map((key) => ({ key, base: key })), ...redisExtraEnvKeys(redis.mode, app)];
        return Object.fromEntries(keys.filter((k) => k.base === SENTINEL_PASSWORD_KEY).map((k) => [k.key, secret]));
    }
}
