/**
 * A tenant stack's part of a PostgreSQL server of its platform stack: its applications' ARM databases (Azure with
 * `azure.databases` arm or release; else the login SQL creates them) and their contract, from the server's settings.
 */
import * as pulumi from "@pulumi/pulumi";
import type { AppConfig } from "../config/platform";
import type { Env } from "../interfaces";
import { appDatabase, azureEndpoint, databaseImport } from "./azure";
import type { PostgresEndpoint } from "./env";
import { armDatabases, serverName } from "./azureSpec";
import { PostgresArgs, PostgresService, contractEnv } from "./service";
import { stackGresEndpoint } from "./stackgres";

export class TenantPostgres extends pulumi.ComponentResource implements PostgresService {
    public readonly endpoint: pulumi.Output<PostgresEndpoint>;
    public readonly ready: pulumi.Resource[];
    private readonly args: PostgresArgs;

    constructor(name: string, args: PostgresArgs, opts?: pulumi.ComponentResourceOptions) {
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
        this.ready = (arm ? config.apps : []).map((app) => {
            const db = database(app, { ...stateful, dependsOn: previous, import: databaseImport(config, app) });
            previous = [db];
            return db;
        });
        for (const app of arm ? config.retiredApps : []) {
            database(app, { parent: this, protect: false, retainOnDelete: true });
        }
        this.registerOutputs({ apps: config.apps.map((a) => a.name) });
    }

    env(app: AppConfig): Env {
        return contractEnv(this.endpoint, this.args, app);
    }
}
