/** What both PostgreSQL implementations offer the platform: the DataService contract plus their endpoint. */
import * as pulumi from "@pulumi/pulumi";
import type { ServerConfig } from "../config/types";
import type { AppConfig } from "../config/platform";
import type { CredentialSource, DataService, Env, SecretSyncer, VaultWriter } from "../interfaces";
import {
    POSTGRES_SECRET_ENV_KEYS,
    PostgresEndpoint,
    PostgresEnv,
    PostgresEnvKey,
    postgresEnv,
    postgresEnvKeys,
} from "./env";
import { postgresHandsOutCa } from "./contract";
import { appLogins } from "./sql";

/** Arguments shared by both implementations. */
export interface PostgresArgs {
    /** The stack's configuration (`postgres`, `apps`, `azure`, `cluster`, `protect` are read). */
    readonly config: ServerConfig;
    /** Generated passwords (ids from `postgresCredentialIds`). */
    readonly credentials: CredentialSource;
    /** Writes secrets rendered here (StackGres role SQL) into Key Vault. */
    readonly vault: VaultWriter;
    /** Syncs Key Vault secrets into the platform namespace. */
    readonly secretSync: SecretSyncer;
    /** The platform namespace (must exist): the login Job (Azure) or the SGCluster (StackGres) lives there. */
    readonly namespace: pulumi.Input<string>;
}

export interface PostgresService extends DataService {
    /** Where the service listens (host known once the server exists). */
    readonly endpoint: pulumi.Output<PostgresEndpoint>;
    /** Resources after which every application login and database exists. */
    readonly ready: pulumi.Resource[];
}

/**
 * The application's contract as Pulumi values: keys without the password are plain, `DB_PASSWORD` and the URLs
 * are secret. Rendered by the pure `postgresEnv`, so the Secret and the tests agree byte for byte.
 * The key set follows the configuration (`postgresHandsOutCa`): it must be known before the endpoint is.
 */
export function contractEnv(
    endpoint: pulumi.Output<PostgresEndpoint>,
    { config, credentials }: Pick<PostgresArgs, "config" | "credentials">,
    app: AppConfig,
): Env {
    // The login of the current generation: the previous one keeps working for pods that still hold it.
    const { database, current } = appLogins([app], config.keyVault.rotations)[0];
    const render = (password: string) => (e: PostgresEndpoint) =>
        postgresEnv(e, { database, user: current.name, password }, app.poolSize, app.postgres);
    // Without the password: nothing secret in it, so these keys stay readable in plans.
    const open = endpoint.apply(render(""));
    const full = pulumi.secret(
        pulumi.all([endpoint, credentials.password(current.credentialId)]).apply(([e, pw]) => render(pw)(e)),
    );
    return Object.fromEntries(
        postgresEnvKeys(postgresHandsOutCa(config.postgres)).map((key) => [
            key,
            (POSTGRES_SECRET_ENV_KEYS.includes(key) ? full : open).apply((env) => valueOf(env, key)),
        ]),
    );
}

function valueOf(env: PostgresEnv, key: PostgresEnvKey): string {
    const value = env[key];
    if (value === undefined) {
        throw new Error(`the PostgreSQL endpoint gives no ${key}`);
    }
    return value;
}
