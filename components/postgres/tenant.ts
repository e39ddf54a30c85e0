/**
 * A tenant stack's part of a PostgreSQL server of its platform stack: its applications' ARM databases (Azure with
 * `azure.databases` arm or release; else the login SQL creates them), their logins and databases by a login Job of its
 * own, and their contract, from the server's settings.
 *
 * The login Job runs in the platform namespace, its Secret synced through the platform's store: the admin's password
 * (which a CREATE ROLE/DATABASE needs there) stays in that namespace and is never read by this stack, whose digests and
 * salts are keyed by its own key (`TenantContext.loginKeyId`). Its logins carry the tenant's comment, so the
 * platform's Job and each tenant's manage only their own (`managedLoginComment`).
 */
import * as pulumi from "@pulumi/pulumi";
import type { AppConfig } from "../config/platform";
import type { Env } from "../interfaces";
import { appDatabase, azureEndpoint, databaseImport } from "./azure";
import type { PostgresEndpoint } from "./env";
import { armDatabases, serverName } from "./azureSpec";
import { PostgresArgs, PostgresService, contractEnv } from "./service";
import { stackGresEndpoint } from "./stackgres";
import type { TenantContext } from "../serviceModule";
import { createLoginJob } from "./loginJob";
import { appLogins, loginSqlOptions } from "./sql";
import { postgresCaCert } from "./contract";
import { AZURE_POSTGRES_PORT } from "./azureSpec";
import { STACKGRES_SUPERUSER } from "./stackgresSpec";

export interface TenantPostgresArgs extends PostgresArgs {
    readonly tenant: TenantContext;
}

export class TenantPostgres extends pulumi.ComponentResource implements PostgresService {
    public readonly endpoint: pulumi.Output<PostgresEndpoint>;
    public readonly ready: pulumi.Resource[];
    private readonly args: PostgresArgs;

    constructor(name: string, args: TenantPostgresArgs, opts?: pulumi.ComponentResourceOptions) {
        const { config } = args;
        const azure = config.postgres.mode === "azure";
        super(
            "data-platform:postgres:TenantPostgres",
            name,
            {
                server: azure ? serverName(config) : config.postgres.stackgres.clusterName,
                apps: config.apps.map((a) => a.name),
            },
            opts,
        );
        this.args = args;
        // The host is the name-derived form, the one the platform hands out when the FQDN output is empty.
        this.endpoint = pulumi.output(azure ? azureEndpoint(config, "") : stackGresEndpoint(config));
        // ARM's databases (`azure.databases` arm or release; with sql, the default, the login SQL creates them), one at a
        // time as on the platform: concurrent operations on one server fail with ServerBusy.
        const arm = azure ? armDatabases(config) : undefined;
        let previous: pulumi.Resource[] = [];
        const stateful = { parent: this, protect: arm?.protect, retainOnDelete: true };
        const database = (app: AppConfig, options: pulumi.CustomResourceOptions) =>
            appDatabase(name, config, app, serverName(config), options);
        const databases = (arm ? config.apps : []).map((app) => {
            const db = database(app, { ...stateful, dependsOn: previous, import: databaseImport(config, app) });
            previous = [db];
            return db;
        });
        for (const app of arm ? config.retiredApps : []) {
            database(app, { parent: this, protect: false, retainOnDelete: true });
        }
        // Its applications' logins (and, but for ARM's, databases): the platform's Job as the admin, keyed by the tenant.
        const endpoint = azure ? azureEndpoint(config, "") : stackGresEndpoint(config);
        // The monitoring login is the platform's, and so is turning off the logins of tenants it no longer admits.
        const { monitor: _platforms, tenants: _admitted, ...sqlOptions } = loginSqlOptions(config);
        const job = createLoginJob(this, name, {
            ...args,
            logins: appLogins(config.apps, config.keyVault.rotations),
            sqlOptions: { ...sqlOptions, tenant: args.tenant.stack },
            host: pulumi.output(endpoint.host),
            port: azure ? AZURE_POSTGRES_PORT : endpoint.port,
            adminLogin: azure ? config.postgres.azure.adminLogin : STACKGRES_SUPERUSER,
            caCert: postgresCaCert(config.postgres),
            after: databases,
            tenant: { keyId: args.tenant.loginKeyId, store: args.tenant.platformStore },
        });
        this.ready = [job];
        this.registerOutputs({ apps: config.apps.map((a) => a.name) });
    }

    env(app: AppConfig): Env {
        return contractEnv(this.endpoint, this.args, app);
    }
}
