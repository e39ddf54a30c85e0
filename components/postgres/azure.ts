/**
 * PostgreSQL as Azure Database for PostgreSQL Flexible Server: the server, its firewall rules and parameters (ARM), and
 * an in-cluster Job that creates the application logins (ARM cannot) and databases (or ARM does: `azure.databases`).
 */
import * as pulumi from "@pulumi/pulumi";
import * as dbforpostgresql from "@pulumi/azure-native/dbforpostgresql";
import * as monitor from "@pulumi/azure-native/monitor";
import type { AppConfig } from "../config/platform";
import type { ServerConfig } from "../config/types";
import type { Env } from "../interfaces";
import { PostgresEndpoint } from "./env";
import { postgresCaCert } from "./contract";
import { azureMonitoring } from "./credentials";
import { POSTGRES_SERVER_TAG } from "../labels";
import { postgresNames } from "./servers";
import { PostgresExporter } from "./exporter";
import { azureStorageAlert } from "./exporterSpec";
import {
    armDatabases,
    AZURE_POSTGRES_PORT,
    databaseId,
    maintenanceWindow,
    serverBackup,
    serverName,
    serverNetwork,
    serverParameters,
} from "./azureSpec";
import { createLoginJob } from "./loginJob";
import { poolerPort } from "./pooler";
import { PostgresArgs, PostgresService, contractEnv } from "./service";
import { appLogins, loginSqlOptions } from "./sql";

/** An application's database on the server `serverName` (created by ARM: the logins then own it). */
export function appDatabase(
    name: string,
    config: ServerConfig,
    app: AppConfig,
    serverName: pulumi.Input<string>,
    options: pulumi.CustomResourceOptions,
): dbforpostgresql.Database {
    return new dbforpostgresql.Database(
        `${name}-db-${app.name}`,
        {
            resourceGroupName: config.azure.resourceGroupName,
            serverName,
            databaseName: app.database,
            charset: "UTF8",
            collation: "en_US.utf8",
        },
        options,
    );
}

/**
 * A database that exists (a re-added application's, retained; one moved from another stack) is imported:
 * azure-native refuses to create an existing resource (provider.go, "cannot create already existing resource").
 */
export function databaseImport(config: ServerConfig, app: AppConfig): string | undefined {
    return config.appImports[app.name]?.includes("database") ? databaseId(config, app.database) : undefined;
}

/** Where a server listens, from its FQDN output (empty: not known, as a tenant stack sees it). */
export function azureEndpoint(config: ServerConfig, fqdn: string): PostgresEndpoint {
    return {
        // The FQDN output has been seen empty (AVM note); the name-derived form is the same host.
        host: fqdn || `${serverName(config)}.postgres.database.azure.com`,
        port: AZURE_POSTGRES_PORT,
        poolerPort: poolerPort(config.postgres),
        sslMode: "require",
        caCert: postgresCaCert(config.postgres),
        // DigiCert Global Root G2 and Microsoft RSA Root CA 2017: in Mozilla's store, which Node ships.
        caIsPublic: true,
    };
}

/** Arguments of `AzurePostgres`: the shared `PostgresArgs` (config.postgres.mode is "azure"). */
export type AzurePostgresArgs = PostgresArgs;

export class AzurePostgres extends pulumi.ComponentResource implements PostgresService {
    public readonly endpoint: pulumi.Output<PostgresEndpoint>;
    public readonly ready: pulumi.Resource[];
    public readonly server: dbforpostgresql.Server;
    private readonly args: AzurePostgresArgs;

    constructor(name: string, args: AzurePostgresArgs, opts?: pulumi.ComponentResourceOptions) {
        const { config } = args;
        const pg = config.postgres;
        const azure = pg.azure;
        super(
            "data-platform:postgres:AzurePostgres",
            name,
            { serverName: serverName(config), apps: config.apps.map((a) => a.name) },
            opts,
        );
        this.args = args;
        const stateful = { parent: this, protect: config.protect, retainOnDelete: true };

        this.server = new dbforpostgresql.Server(
            `${name}-server`,
            {
                resourceGroupName: config.azure.resourceGroupName,
                location: config.azure.location,
                // A named server says which it is, for the budget policy (the namespaces of its applications too).
                tags:
                    pg.server === undefined
                        ? config.azure.tags
                        : { ...config.azure.tags, [POSTGRES_SERVER_TAG]: postgresNames(pg).prefix },
                serverName: serverName(config),
                version: pg.version,
                sku: { name: azure.skuName, tier: azure.skuTier },
                // A plain role name (Flexible Server; `user@server` was Single Server's form).
                administratorLogin: azure.adminLogin,
                administratorLoginPassword: args.credentials.password(postgresNames(config.postgres).credentials.admin),
                authConfig: { passwordAuth: "Enabled", activeDirectoryAuth: "Disabled" },
                storage: { storageSizeGB: azure.storageSizeGB, autoGrow: azure.autoGrow ? "Enabled" : "Disabled" },
                backup: serverBackup(config),
                highAvailability: { mode: azure.highAvailability },
                maintenanceWindow: maintenanceWindow(config),
                network: serverNetwork(config),
            },
            {
                ...stateful,
                // Azure places the primary in a zone of its choosing and swaps primary and standby zones on an HA
                // failover; a refresh writes those into the inputs, and availabilityZone is create-only: without this
                // the next `up` would replace (delete, then re-create) the server.
                // With auto-grow Azure enlarges the disk itself; a refresh records the new size, and without ignoring
                // it the next `up` would try to shrink the disk back to the configured size, which Azure refuses.
                // The configured size is then the initial one.
                ignoreChanges: [
                    "availabilityZone",
                    "highAvailability.standbyAvailabilityZone",
                    ...(azure.autoGrow ? ["storage.storageSizeGB"] : []),
                ],
            },
        );
        const serverArgs = { resourceGroupName: config.azure.resourceGroupName, serverName: this.server.name };

        // Every ARM write below the server goes one at a time. Microsoft documents no concurrency for them, and a write
        // while another runs on the server is refused: "Server '...' is busy with another operation" (ServerBusy,
        // Azure/bicep-registry-modules#4451; ServerIsBusy, Azure/azure-postgresql#134, confirmed by Microsoft support),
        // which is why Azure's own module applies server parameters @batchSize(1) (Azure/ResourceModules#4071). Its
        // databases it creates side by side (avm/res/db-for-postgre-sql/flexible-server main.bicep, two in its tests),
        // with no documented bound. So the chain holds only what is bounded per server (firewall rules, parameters);
        // the login Job creates the applications' databases in one SQL run (`postgres.azure.databases: sql`), unless
        // ARM keeps them (`arm`).
        let previous: pulumi.Resource = this.server;
        const serial = <T extends pulumi.Resource>(make: (after: pulumi.Resource) => T): T => {
            const r = make(previous);
            previous = r;
            return r;
        };
        for (const rule of azure.firewallRules) {
            serial(
                (after) =>
                    new dbforpostgresql.FirewallRule(
                        `${name}-fw-${rule.name}`,
                        {
                            ...serverArgs,
                            firewallRuleName: rule.name,
                            startIpAddress: rule.startIpAddress,
                            endIpAddress: rule.endIpAddress,
                        },
                        { parent: this, dependsOn: [after] },
                    ),
            );
        }
        for (const p of serverParameters(config)) {
            serial(
                (after) =>
                    new dbforpostgresql.Configuration(
                        `${name}-param-${p.name.replace(/[._]/g, "-")}`,
                        {
                            ...serverArgs,
                            configurationName: p.name,
                            value: p.value,
                            source: "user-override",
                        },
                        { parent: this, dependsOn: [after] },
                    ),
            );
        }
        const database = (app: AppConfig, options: pulumi.CustomResourceOptions) =>
            appDatabase(name, config, app, this.server.name, options);
        const arm = armDatabases(config);
        const databases = (arm ? config.apps : []).map((app) =>
            serial((after) =>
                database(app, {
                    ...stateful,
                    protect: arm?.protect,
                    dependsOn: [after],
                    import: databaseImport(config, app),
                }),
            ),
        );
        // An application moved to another server keeps its old copy here, as protected as before, until `retireOld`.
        for (const app of arm ? (config.movedOutApps ?? []) : []) {
            database(app, { ...stateful, protect: arm?.protect });
        }
        // A retired application's database stays registered, unprotected, for one `up`, so the next may drop it:
        // Pulumi refuses to delete a protected resource, retainOnDelete or not (Pulumi docs, "protect"). Unchanged
        // inputs: no call to Azure, only the state's protect flag changes.
        for (const app of arm ? config.retiredApps : []) {
            database(app, { parent: this, protect: false, retainOnDelete: true });
        }

        const caCert = postgresCaCert(pg);
        this.endpoint = this.server.fullyQualifiedDomainName.apply((fqdn) => azureEndpoint(config, fqdn));

        // ARM cannot create logins: the login Job does, as the admin, after the ARM writes (and ARM's databases).
        const job = createLoginJob(this, name, {
            ...args,
            logins: appLogins(config.apps, config.keyVault.rotations),
            sqlOptions: loginSqlOptions(config),
            host: this.endpoint.host,
            port: AZURE_POSTGRES_PORT,
            adminLogin: azure.adminLogin,
            caCert,
            after: [previous, ...databases],
        });
        this.ready = [job];

        if (azureMonitoring(config.postgres)) {
            new PostgresExporter(
                `${name}-exporter`,
                { ...args, host: this.endpoint.host, after: [job] },
                { parent: this },
            );
            new monitor.MetricAlert(
                `${name}-storage-alert`,
                { ruleName: `${serverName(config)}-storage`, ...azureStorageAlert(config, this.server.id) },
                { parent: this },
            );
        }
        this.registerOutputs({ serverName: this.server.name, host: this.endpoint.host });
    }

    env(app: AppConfig): Env {
        return contractEnv(this.endpoint, this.args, app);
    }
}
