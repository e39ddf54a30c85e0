/** Config rules of PostgreSQL that span several keys: the connection budget and Azure Flexible Server limits. */
import { AZURE_DEFAULT_PRELOADED_LIBRARIES, azurePreloadLibraries } from "./extensions";
import { ConfigRule, PROJECT, PlatformConfig, ServerConfig } from "../config/types";
import { ParseContext, report } from "../config/issues";
import { checkPlacement } from "../config/placement";
import { postgresCaCert } from "./contract";
import { PostgresConfig, azureDefaultMaxConnections } from "../config/postgres";
import { DEFAULT_INSTANCE } from "../serviceModule";
import {
    postgresMoveOf,
    postgresNames,
    postgresServerConfig,
    postgresServerOf,
    postgresServerPath,
    postgresServerSettings,
    postgresServers,
} from "./servers";
import { pgAltCredentialId, pgAppCredentialId } from "./credentials";
import { loginJobFiles } from "./loginJobSpec";
import { PG_HBA_MAX_BYTES, pgHbaBytes, plainTextApps } from "./stackgresSpec";
import { ALT_LOGIN_SUFFIX, MONITOR_LOGIN, appLogins, loginSqlOptions } from "./sql";
import { PGBOUNCER_SETTINGS, RESERVED_CONNECTIONS, connectionBudget, largestLines } from "../../policy/lib/postgres";
import { AZURE_UNSUPPORTED_POOLER_SETTINGS, poolerPort, serverConnections } from "./pooler";

/** Role names Azure refuses as the Flexible Server administrator login (checked case-insensitively). */
export const AZURE_RESERVED_ADMIN_LOGINS = [
    "azure_superuser",
    "azure_pg_admin",
    "admin",
    "administrator",
    "root",
    "guest",
    "public",
    "azuresu",
];

/**
 * Role and database names no application may take: the login Job would take the role over (a new password; a superuser
 * role makes the application superuser) or hand the application a database the server or operator keeps.
 */
const RESERVED_LOGINS: ReadonlyArray<{ readonly names: readonly string[]; readonly by: string }> = [
    {
        names: ["postgres", "authenticator", "replicator"],
        by: "StackGres (its superuser, PgBouncer auth_user and replication roles: PatroniSecret.java, StackGresPasswordKeys.java)",
    },
    {
        names: [
            "azure_pg_admin",
            "azuresu",
            "azure_superuser",
            "replication",
            "postgres",
            "azure_maintenance",
            "azure_sys",
        ],
        by: "Azure Flexible Server (its own roles, how-to-create-users docs; every server's databases postgres, azure_maintenance, azure_sys)",
    },
    {
        names: [MONITOR_LOGIN.name],
        by: "data-platform (the monitoring login of postgres_exporter, postgres.azure.monitoring)",
    },
    {
        names: ["public", "none", "template0", "template1"],
        by: "PostgreSQL (reserved role names and template databases: CREATE ROLE, manage-ag-templatedbs docs)",
    },
];
/** PostgreSQL reserves role names starting with it for its predefined roles (docs: predefined-roles, CREATE ROLE). */
const RESERVED_ROLE_PREFIX = "pg_";

/**
 * Who keeps role or database `name` (each source, cited), or undefined when an application may take it.
 * `adminLogin`: the Azure admin login, in azure mode.
 */
export function loginReservation(name: string, adminLogin?: string): string | undefined {
    const by = RESERVED_LOGINS.filter((r) => r.names.includes(name)).map((r) => r.by);
    if (name.startsWith(RESERVED_ROLE_PREFIX)) {
        by.push(`PostgreSQL (role names starting with ${RESERVED_ROLE_PREFIX}: predefined-roles docs)`);
    }
    if (name === adminLogin) {
        by.push("the Azure admin login (postgres.azure.adminLogin)");
    }
    return by.length > 0 ? by.join("; ") : undefined;
}

/** The most the login Job's ConfigMap may hold: Kubernetes holds at most 1 MiB in a ConfigMap ("ConfigMaps" page). */
export const LOGIN_JOB_FILES_MAX_BYTES = 900_000;

/** Connections the server keeps from applications; defined in the policy pack, whose budget policy reads it too. */
export function reservedConnections(config: { readonly postgres: Pick<PostgresConfig, "mode"> }): number {
    return RESERVED_CONNECTIONS[config.postgres.mode];
}

/**
 * Words the default server's own names use after `postgres-` and `pg-` (`postgres-logins`, `pg-admin`, `pg-app-<app>`,
 * ...): a server named like one would take another's object, credential or Key Vault secret name.
 * `tests/unit/postgres/postgresServers.test.ts` checks every name of recorded plans against it.
 */
export const RESERVED_SERVER_NAMES: readonly string[] = [
    DEFAULT_INSTANCE,
    "admin",
    "alerts",
    "alt",
    "app",
    "authenticator",
    "backup",
    "cert",
    "credentials",
    "dashboard",
    "db",
    "exporter",
    "fw",
    "ingress",
    "login",
    "logins",
    "monitor",
    "operator",
    "param",
    "pooling",
    "postgres",
    "profile",
    "replication",
    "server",
    "sgcluster",
    "sginstanceprofile",
    "sgpoolingconfig",
    "sgpostgresconfig",
    "storage",
    "tls",
];

/**
 * A move happens in a platform stack (its copy Job runs as both servers' admins, whose passwords a tenant stack does
 * not hold), with the target's client image: pg_restore cannot read a dump of a newer pg_dump, and pg_dump refuses a
 * server of a newer major ("server version mismatch", pg_dump docs), so the target's major is at least the source's.
 */
function checkMoves(config: PlatformConfig, ctx: ParseContext): void {
    const servers = postgresServers(config.postgres);
    config.apps.forEach((app, i) => {
        const from = postgresMoveOf(app)?.from;
        const to = postgresServerOf(app);
        if (from !== undefined && config.tenantStack !== undefined) {
            report(
                ctx,
                `${PROJECT}:apps[${i}].postgres.movedFrom`,
                from,
                "nothing in a tenant stack: its platform stack moves databases between servers (the copy Job runs as both servers' admins)",
            );
            return;
        }
        if (from === undefined || from === to || !servers.includes(from) || !servers.includes(to)) {
            return;
        }
        const [source, target] = [from, to].map((s) => postgresServerSettings(config.postgres, s).version);
        if (Number(target) < Number(source)) {
            report(
                ctx,
                `${PROJECT}:apps[${i}].postgres.server`,
                to,
                `a server of PostgreSQL ${source} or newer to move from ${from} (${to} runs ${target}: pg_restore cannot read a newer dump)`,
            );
        }
    });
}

export const postgresConfigRules: ConfigRule = (config, ctx) => {
    const before = ctx.issues.length;
    checkPlacement(
        config.apps,
        {
            kind: "server",
            mapKey: "postgres.servers",
            appKey: "postgres.server",
            named: config.postgres.servers,
            reserved: RESERVED_SERVER_NAMES,
            of: postgresServerOf,
            move: postgresMoveOf,
        },
        ctx,
    );
    // A tenant stack sees neither its platform's applications nor other tenants': on a dedicated server another
    // stack's application would pass every check and share it. Only the platform places there.
    if (config.tenantStack !== undefined) {
        config.apps.forEach((app, i) => {
            const server = postgresServerOf(app);
            if (config.postgres.servers[server]?.dedicated) {
                report(
                    ctx,
                    `${PROJECT}:apps[${i}].postgres.server`,
                    server,
                    `a shared server of platform stack ${config.stack} (a dedicated server holds one application of the platform stack itself, which alone sees who else is on it)`,
                );
            }
        });
    }
    checkOperatorInstalls(config, ctx);
    checkMoves(config, ctx);
    checkPlainText(config, ctx);
    loginRules(config, ctx);
    // Each server's checks need every application on an existing server.
    if (ctx.issues.length > before) {
        return;
    }
    for (const server of postgresServers(config.postgres)) {
        checkServer(postgresServerConfig(config, server), postgresServerPath(server), ctx);
    }
};

/**
 * `apps[].postgres.tls: false` opens the server's PgBouncer to plain clients (its TLS requirement is server-wide) and
 * its pg_hba to the application's logins: the platform stack renders both, on StackGres (Azure requires TLS, and its
 * public roots need no such escape), and in production on a server the application has alone.
 */
function checkPlainText(config: PlatformConfig, ctx: ParseContext): void {
    config.apps.forEach((app, i) => {
        if (app.postgres?.retirePlain && app.postgres.tls !== false) {
            report(
                ctx,
                `${PROJECT}:apps[${i}].postgres.retirePlain`,
                true,
                `only with apps[${i}].postgres.tls: false (step 1 of going back to TLS; then remove both)`,
            );
        }
        if (app.postgres?.tls !== false) {
            return;
        }
        const settings = postgresServerSettings(config.postgres, postgresServerOf(app));
        const allowed =
            config.tenantStack !== undefined
                ? "true in a tenant stack (its platform stack renders the server's pg_hba and PgBouncer settings)"
                : settings.mode === "azure"
                  ? "true with postgres mode azure (Azure requires TLS; its roots are public, which node-postgres verifies with apps[].postgres.urlFormat node-postgres)"
                  : config.profile === "production" && !settings.dedicated
                    ? "true in production on a shared server, or the application on a dedicated one (postgres.servers.<name>.dedicated) (its PgBouncer would take plain connections from every application's clients)"
                    : undefined;
        if (allowed !== undefined) {
            report(ctx, `${PROJECT}:apps[${i}].postgres.tls`, false, allowed);
        }
    });
}

/** One operator per cluster: its Helm release is the stack's, installed with the section's own server. */
function checkOperatorInstalls(config: PlatformConfig, ctx: ParseContext): void {
    for (const [server, settings] of Object.entries(config.postgres.servers)) {
        if (settings.stackgres.installOperator) {
            report(
                ctx,
                `${PROJECT}:postgres.servers.${server}.stackgres.installOperator`,
                true,
                "false: the operator is installed once per cluster, with postgres.stackgres.installOperator",
            );
        }
    }
}

/** One server's rules: its connection budgets (naming the applications that fill them), its login Job, Azure's limits. */
function checkServer(config: ServerConfig, path: string, ctx: ParseContext): void {
    const { azure } = config.postgres;
    checkPoolerSettings(config, path, ctx);
    const connections = serverConnections(config);
    const { client, server } = connectionBudget(connections);
    // Tenant stacks' quotas are lines among the applications' (`tenant stack <name>`): say where they are set.
    const quotas =
        (connections.quotas ?? []).length > 0 ? " and its tenant stacks' quotas (data-platform:tenants)" : "";
    if (client !== undefined && client.sum > client.limit) {
        report(
            ctx,
            `${path}.pooler.maxClientConnections`,
            client.limit,
            `at least ${client.sum}: its applications${quotas} open ${client.sum} client connections to PgBouncer ` +
                `(replicas x poolSize: ${largestLines(client.apps)}); raise pooler.maxClientConnections (Azure allows ` +
                "at most 50000), " +
                "lower apps[].poolSize or apps[].replicas, or place applications on another server (postgres.servers)",
        );
    }
    if (server.sum > server.limit) {
        report(
            ctx,
            `${path}.maxConnections`,
            server.limit,
            `at least ${server.sum}: ${server.sum} connections reach PostgreSQL: its applications' (through PgBouncer ` +
                "min(replicas x poolSize, its pools' cap) and auth_query's pool, else replicas x poolSize; plus their " +
                `direct ones${quotas}: ${largestLines(server.apps)}), the platform's and the reserved ones ` +
                `(${largestLines(server.fixed)}); lower pooler.defaultPoolSize, apps[].poolSize ` +
                "or apps[].replicas, raise maxConnections, or place applications on another server (postgres.servers)",
        );
    }
    const loginFiles = Object.values(
        loginJobFiles(appLogins(config.apps), loginSqlOptions(config), postgresCaCert(config.postgres)),
    ).reduce((sum, text) => sum + Buffer.byteLength(text), 0);
    if (loginFiles > LOGIN_JOB_FILES_MAX_BYTES) {
        report(
            ctx,
            `${PROJECT}:apps`,
            `${config.apps.length} applications (a login Job ConfigMap of ${loginFiles} bytes)`,
            `a login Job ConfigMap of at most ${LOGIN_JOB_FILES_MAX_BYTES} bytes: the ConfigMap ${postgresNames(config.postgres).logins} ` +
                "holds every application's login SQL, and Kubernetes holds at most 1 MiB in a ConfigMap; fewer " +
                "applications (or shorter names) on this server, or another server (postgres.servers)",
        );
    }
    if (config.postgres.mode !== "azure") {
        const hba = pgHbaBytes(config.apps);
        if (hba > PG_HBA_MAX_BYTES) {
            report(
                ctx,
                `${PROJECT}:apps`,
                `${plainTextApps(config.apps).length} applications without TLS (pg_hba rules of ${hba} bytes)`,
                `pg_hba rules of at most ${PG_HBA_MAX_BYTES} bytes on server ${postgresNames(config.postgres).prefix}: ` +
                    "Patroni keeps them in its config object's annotations, which Kubernetes caps at 256 KiB together; " +
                    "fewer applications with apps[].postgres.tls false (or shorter database names) on this server",
            );
        }
        return;
    }
    // Static on Azure: a new value is live only after a restart, which nothing here performs. A value below the SKU's
    // default is safe meanwhile (the live one is higher); one above it would leave the budget checked against a value
    // the server does not have.
    const skuDefault = azureDefaultMaxConnections(azure.skuName);
    if (!azure.acknowledgeRestart && (skuDefault === undefined || config.postgres.maxConnections > skuDefault)) {
        report(
            ctx,
            `${path}.maxConnections`,
            config.postgres.maxConnections,
            skuDefault === undefined
                ? `no default max_connections is known for ${azure.skuName}; set postgres.azure.acknowledgeRestart: true ` +
                      "and restart the server after each change (az postgres flexible-server restart)"
                : `at most ${skuDefault}, the default of ${azure.skuName}: max_connections is static on Azure and a higher ` +
                      "value is live only after a server restart; set postgres.azure.acknowledgeRestart: true to restart it yourself",
        );
    }
    // Static too: the libraries some extensions need load only at a restart; until then their CREATE EXTENSION fails.
    const preload = azurePreloadLibraries(config.postgres.extensions);
    if (preload !== undefined && !azure.acknowledgeRestart) {
        report(
            ctx,
            `${path}.extensions`,
            config.postgres.extensions,
            `extensions whose libraries Azure preloads by default (${AZURE_DEFAULT_PRELOADED_LIBRARIES.join(", ")}), ` +
                `or postgres.azure.acknowledgeRestart: true: shared_preload_libraries becomes ${preload}, live only ` +
                "after a server restart (az postgres flexible-server restart)",
        );
    }
    const login = azure.adminLogin.toLowerCase();
    if (AZURE_RESERVED_ADMIN_LOGINS.includes(login) || login.startsWith("pg_")) {
        report(
            ctx,
            `${path}.azure.adminLogin`,
            azure.adminLogin,
            `a login other than ${AZURE_RESERVED_ADMIN_LOGINS.join(", ")} and not starting with pg_`,
        );
    }
    if (azure.skuTier === "Burstable" && azure.pgBouncer) {
        report(
            ctx,
            `${path}.azure.pgBouncer`,
            true,
            "false on a Burstable SKU (the built-in PgBouncer needs GeneralPurpose or MemoryOptimized)",
        );
    }
    if (azure.skuTier === "Burstable" && azure.highAvailability !== "Disabled") {
        report(
            ctx,
            `${path}.azure.highAvailability`,
            azure.highAvailability,
            `"Disabled" on a Burstable SKU (HA needs GeneralPurpose or MemoryOptimized)`,
        );
    }
    const tierPrefix = { Burstable: /^Standard_B/, GeneralPurpose: /^Standard_D/, MemoryOptimized: /^Standard_E/ }[
        azure.skuTier
    ];
    if (!tierPrefix.test(azure.skuName)) {
        report(
            ctx,
            `${path}.azure.skuName`,
            azure.skuName,
            `a ${azure.skuTier} SKU (${tierPrefix.source.slice(1)}...)`,
        );
    }
    const privateAccess = azure.delegatedSubnetId !== undefined || azure.privateDnsZoneId !== undefined;
    if (privateAccess && (azure.delegatedSubnetId === undefined || azure.privateDnsZoneId === undefined)) {
        report(
            ctx,
            `${path}.azure.${azure.delegatedSubnetId === undefined ? "delegatedSubnetId" : "privateDnsZoneId"}`,
            undefined,
            "both delegatedSubnetId and privateDnsZoneId for private access",
        );
    }
    if (!privateAccess && azure.firewallRules.length === 0) {
        report(
            ctx,
            `${path}.azure.firewallRules`,
            [],
            "at least one rule with public access (the cluster's egress addresses), or delegatedSubnetId and privateDnsZoneId for private access",
        );
    }
    if (privateAccess && azure.firewallRules.length > 0) {
        report(
            ctx,
            `${path}.azure.firewallRules`,
            azure.firewallRules.map((r) => r.name),
            "no firewall rules with private access (VNet-injected servers use NSGs)",
        );
    }
    azure.firewallRules.forEach((rule, i) => {
        const rulePath = `${path}.azure.firewallRules[${i}]`;
        if (ipToNumber(rule.startIpAddress) > ipToNumber(rule.endIpAddress)) {
            report(
                ctx,
                `${rulePath}.endIpAddress`,
                rule.endIpAddress,
                `an address not below startIpAddress ${rule.startIpAddress}`,
            );
        }
        if (rule.startIpAddress === "0.0.0.0" && rule.endIpAddress === "255.255.255.255") {
            report(ctx, rulePath, `${rule.startIpAddress}-${rule.endIpAddress}`, "a rule narrower than allow-all");
        }
    });
}

/** Pooler settings the server's PgBouncer cannot take: none at all, or one Azure's built-in PgBouncer lacks. */
function checkPoolerSettings(config: ServerConfig, path: string, ctx: ParseContext): void {
    const pg = config.postgres;
    if (pg.mode !== "azure") {
        return;
    }
    for (const key of Object.keys(PGBOUNCER_SETTINGS) as Array<keyof typeof PGBOUNCER_SETTINGS>) {
        const value = pg.pooler[key];
        if (value === undefined) {
            continue;
        }
        if (poolerPort(pg) === undefined) {
            report(
                ctx,
                `${path}.pooler.${key}`,
                value,
                "unset: the server has no PgBouncer (azure.pgBouncer is false)",
            );
        } else if (AZURE_UNSUPPORTED_POOLER_SETTINGS.includes(key)) {
            report(
                ctx,
                `${path}.pooler.${key}`,
                value,
                `unset: Azure's built-in PgBouncer has no pgbouncer.${PGBOUNCER_SETTINGS[key]} parameter (server-parameters-table-pgbouncer)`,
            );
        }
    }
}

function ipToNumber(ip: string): number {
    return ip.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

/** The alternate logins follow their application's generation, fit and clash with no other application's role or a reserved one. */
const loginRules: ConfigRule = (config, ctx) => {
    const rotations = config.keyVault.rotations;
    const roles = new Set(config.apps.map((a) => a.database));
    config.apps.forEach((app, i) => {
        const id = pgAppCredentialId(app.name);
        const alt = pgAltCredentialId(app.name);
        if (rotations[alt] !== undefined) {
            report(
                ctx,
                `${PROJECT}:keyVault.rotations.${alt} (key)`,
                alt,
                `no rotation of its own: it follows the generation in keyVault.rotations.${id}`,
            );
        }
        const altLogin = `${app.database}${ALT_LOGIN_SUFFIX}`;
        if (altLogin.length > 63) {
            report(
                ctx,
                `${PROJECT}:apps[${i}].database`,
                app.database,
                `at most ${63 - ALT_LOGIN_SUFFIX.length} characters (its alternate login ${ALT_LOGIN_SUFFIX} must fit 63)`,
            );
        }
        const server = config.postgres.servers[postgresServerOf(app)] ?? config.postgres;
        const adminLogin = server.mode === "azure" ? server.azure.adminLogin : undefined;
        const reserved = [app.database, altLogin]
            .map((login) => ({ login, by: loginReservation(login, adminLogin) }))
            .find((r) => r.by !== undefined);
        if (reserved) {
            report(
                ctx,
                `${PROJECT}:apps[${i}].database`,
                app.database,
                `a name whose logins ${app.database} and ${altLogin} no one else holds: ${reserved.login} is kept by ${reserved.by}`,
            );
        }
        if (roles.has(altLogin)) {
            report(
                ctx,
                `${PROJECT}:apps[${i}].database`,
                app.database,
                `a name whose alternate login ${altLogin} is not another application's database`,
            );
        }
    });
};
