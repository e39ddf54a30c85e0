/** Stack-wide invariants: stateful resources protected in production, password lengths, the PostgreSQL connection budget. */
import type {
    ReportViolation,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import { TYPES, keepsPodsAndVolumes } from "../lib/k8s";
import { EnvironmentSettings, isProduction, schema, settingsOf } from "../lib/settings";
import { CONNECTION_DEMAND_ANNOTATION, POSTGRES_SERVER_ANNOTATION, POSTGRES_SERVER_TAG } from "../lib/contract";
import {
    BudgetLine,
    DIRECT_CONNECTIONS_PER_APP,
    EXPORT_CONNECTIONS,
    PLATFORM_CONNECTIONS,
    POOLER_DEFAULTS,
    PoolerLimits,
    RESERVED_CONNECTIONS,
    connectionBudget as budgetOf,
    largestLines,
    poolerFromSettings,
} from "../lib/postgres";
import { AZURE_TYPES } from "./azure";

const protectSchema = schema({}, true);

/**
 * Resources whose deletion loses data; a StatefulSet only when it claims volumes, and its delete (or replacement) does
 * not keep both its pods and its claims (`keepsPodsAndVolumes`: then it holds neither, and must stay replaceable for a
 * larger volume).
 */
function isStateful(type: string, props: Record<string, any>): boolean {
    switch (type) {
        case AZURE_TYPES.pgServer:
        case AZURE_TYPES.vault:
        case TYPES.sgCluster:
        case TYPES.pvc:
            return true;
        case TYPES.statefulSet:
            return (props.spec?.volumeClaimTemplates ?? []).length > 0 && !keepsPodsAndVolumes(props);
        default:
            return false;
    }
}

/** CrossGuard sees `protect` but not `retainOnDelete`; the unit tests check the latter. */
export const statefulProtected: ResourceValidationPolicy = {
    name: "stateful-resources-protected",
    description:
        "In production every stateful resource (database server, SGCluster, Key Vault, PVC, StatefulSet with volume claims unless its delete orphans its pods and keeps its claims) is protected against deletion.",
    enforcementLevel: "mandatory",
    severity: "critical",
    configSchema: protectSchema,
    validateResource: (args, report) => {
        if (!isStateful(args.type, args.props)) {
            args.notApplicable("not a stateful resource");
        }
        if (!isProduction(args, settingsOf<EnvironmentSettings>(args, protectSchema), args.urn)) {
            args.notApplicable("not a production stack");
        }
        if (!args.opts.protect) {
            report(
                `${args.type} ${args.name} is not protected; in production a stateful resource needs protect: true (a replace or delete would lose its data).`,
            );
        }
    },
};

const passwordSchema = schema({
    minPasswordLength: {
        type: "integer",
        minimum: 16,
        default: 32,
        description: "Minimum length of every generated password.",
    },
});

export const passwordLength: ResourceValidationPolicy = {
    name: "password-min-length",
    description: "Every generated password (random.RandomPassword) is at least the minimum length.",
    enforcementLevel: "mandatory",
    severity: "high",
    configSchema: passwordSchema,
    validateResource: (args, report) => {
        if (args.type !== "random:index/randomPassword:RandomPassword") {
            args.notApplicable("not a RandomPassword");
        }
        const { minPasswordLength } = settingsOf<{ minPasswordLength: number }>(args, passwordSchema);
        const length = Number(args.props.length);
        if (!(length >= minPasswordLength)) {
            report(
                `Password ${args.name} is ${args.props.length} characters long; the minimum is ${minPasswordLength}.`,
            );
        }
    },
};

/** max_connections Azure sets at provisioning per SKU size when the server has no `max_connections` override. */
const AZURE_DEFAULT_MAX_CONNECTIONS: Record<string, number> = {
    Standard_B1ms: 50,
    Standard_B2s: 429,
    Standard_B2ms: 859,
    Standard_D2s_v3: 859,
    Standard_D2ds_v4: 859,
    Standard_D2ds_v5: 859,
    Standard_D4s_v3: 1718,
    Standard_D4ds_v4: 1718,
    Standard_D4ds_v5: 1718,
    Standard_D8s_v3: 3437,
    Standard_D8ds_v4: 3437,
    Standard_D8ds_v5: 3437,
};

const budgetSchema = schema({
    reservedConnectionsAzure: {
        type: "integer",
        minimum: 0,
        default: RESERVED_CONNECTIONS.azure,
        description: "Connections Azure keeps (reserved_connections + superuser_reserved_connections).",
    },
    reservedConnectionsStackGres: {
        type: "integer",
        minimum: 0,
        default: RESERVED_CONNECTIONS.stackgres,
        description: "Connections StackGres keeps (superuser, Patroni, monitoring).",
    },
});

interface BudgetSettings {
    readonly reservedConnectionsAzure: number;
    readonly reservedConnectionsStackGres: number;
}

export const connectionBudget: StackValidationPolicy = {
    name: "postgres-connection-budget",
    description:
        `Each PostgreSQL server's connections fit, computed as the config rule does (policy/lib/postgres.ts): the ` +
        `applications' clients (annotation ${CONNECTION_DEMAND_ANNOTATION}) into its PgBouncer's max_client_conn, and ` +
        "what reaches PostgreSQL (through PgBouncer at most each application's pools, plus direct, platform and " +
        "reserved connections) into max_connections.",
    enforcementLevel: "mandatory",
    severity: "high",
    configSchema: budgetSchema,
    validateStack: (args: StackValidationArgs, report: ReportViolation) => {
        const settings = settingsOf<BudgetSettings>(args, budgetSchema);
        const ofType = (type: string) => args.resources.filter((r) => r.type === type);
        // Each server's capacity and PgBouncer, keyed by the server it is (a named one's prefix; the stack's own: none).
        const capacities = new Map<string | undefined, Capacity>();
        for (const server of ofType(AZURE_TYPES.pgServer)) {
            const parameters = ofType(AZURE_TYPES.pgConfiguration).filter(
                (c) => c.props.serverName === server.props.serverName,
            );
            const parameter = (name: string) => parameters.find((c) => c.props.configurationName === name)?.props.value;
            const override = parameter("max_connections");
            const value =
                override !== undefined ? Number(override) : AZURE_DEFAULT_MAX_CONNECTIONS[server.props.sku?.name];
            if (value) {
                capacities.set(server.props.tags?.[POSTGRES_SERVER_TAG], {
                    maxConnections: value,
                    reserved: settings.reservedConnectionsAzure,
                    where: `server ${server.props.serverName ?? server.name}`,
                    // The built-in PgBouncer: on with pgbouncer.enabled, its limits Azure's defaults unless set.
                    pooler:
                        String(parameter("pgbouncer.enabled")) === "true"
                            ? poolerFromSettings(POOLER_DEFAULTS.azure, (name) => parameter(`pgbouncer.${name}`))
                            : undefined,
                });
            }
        }
        const poolingConfigs = ofType(TYPES.sgPoolingConfig);
        for (const sgConfig of ofType(TYPES.sgPostgresConfig)) {
            const value = Number(sgConfig.props.spec?.["postgresql.conf"]?.max_connections);
            const server = sgConfig.props.metadata?.labels?.[POSTGRES_SERVER_ANNOTATION];
            // The PgBouncer sidecar: StackGres' defaults under what the SGPoolingConfig's pgbouncer.ini sets.
            const ini = poolingConfigs.find((c) => c.props.metadata?.labels?.[POSTGRES_SERVER_ANNOTATION] === server)
                ?.props.spec?.pgBouncer?.["pgbouncer.ini"]?.pgbouncer;
            if (value) {
                capacities.set(server, {
                    maxConnections: value,
                    reserved: settings.reservedConnectionsStackGres,
                    where: `SGPostgresConfig ${sgConfig.props.metadata?.name}`,
                    pooler: poolerFromSettings(POOLER_DEFAULTS.stackgres, (name) => ini?.[name]),
                });
            }
        }
        if (capacities.size === 0) {
            args.notApplicable("no PostgreSQL server with a known max_connections");
        }
        const demands = args.resources
            .filter((r) => r.props.metadata?.annotations?.[CONNECTION_DEMAND_ANNOTATION] !== undefined)
            .map((r) => ({
                namespace: r.props.metadata.name as string | undefined,
                ref: `${r.props.metadata.namespace ?? ""}/${r.props.metadata.name ?? r.name}`.replace(/^\//, ""),
                n: Number(r.props.metadata.annotations[CONNECTION_DEMAND_ANNOTATION]),
                server: r.props.metadata.annotations[POSTGRES_SERVER_ANNOTATION] as string | undefined,
            }));
        if (demands.length === 0) {
            args.notApplicable(`no application declares its connections (annotation ${CONNECTION_DEMAND_ANNOTATION})`);
        }
        for (const d of demands.filter((d) => !Number.isInteger(d.n) || d.n < 0)) {
            report(`${d.ref}: ${CONNECTION_DEMAND_ANNOTATION} must be a whole number.`);
        }
        const exportsIn = new Set(
            ofType(TYPES.cronJob)
                .filter((c) => String(c.props.metadata?.name ?? "").endsWith(EXPORT_CRONJOB_SUFFIX))
                .map((c) => c.props.metadata?.namespace),
        );
        // The platform's own connections past the pooler, by the server prefix their names start with.
        const platform = (server: string | undefined): BudgetLine[] =>
            [...ofType(TYPES.job), ...ofType(TYPES.deployment)].flatMap((r) => {
                const match = PLATFORM_OBJECT.exec(String(r.props.metadata?.name ?? ""));
                const prefix = match?.[1] === DEFAULT_SERVER_PREFIX ? undefined : match?.[1];
                const holder = match?.[2] as keyof typeof PLATFORM_CONNECTIONS | undefined;
                return holder !== undefined && prefix === server
                    ? [{ name: `${match![1]}-${holder}`, connections: PLATFORM_CONNECTIONS[holder] }]
                    : [];
            });
        for (const [server, capacity] of capacities) {
            const { client, server: side } = budgetOf({
                maxConnections: capacity.maxConnections,
                reserved: capacity.reserved,
                pooler: capacity.pooler,
                // The program hands every application of a server with a PgBouncer that PgBouncer's port (pooler.ts).
                apps: demands
                    .filter((d) => d.server === server)
                    .map((d) => ({
                        name: d.ref,
                        clients: Number.isInteger(d.n) ? d.n : 0,
                        pooled: capacity.pooler !== undefined,
                        direct: DIRECT_CONNECTIONS_PER_APP + (exportsIn.has(d.namespace) ? EXPORT_CONNECTIONS : 0),
                    })),
                platform: platform(server),
            });
            if (client !== undefined && client.sum > client.limit) {
                report(
                    `Applications open ${client.sum} client connections to the PgBouncer of ${capacity.where} ` +
                        `(${largestLines(client.apps)}), but its max_client_conn is ${client.limit}; raise it, or lower pool sizes or replicas.`,
                );
            }
            if (side.sum > side.limit) {
                report(
                    `${side.sum} connections reach ${capacity.where} (applications: ${largestLines(side.apps)}; ` +
                        `platform and reserved: ${largestLines(side.fixed)}), but it allows ${side.limit} (max_connections); ` +
                        "lower pool sizes, default_pool_size or replicas, or raise max_connections.",
                );
            }
        }
        for (const d of demands.filter((d) => !capacities.has(d.server))) {
            report(
                `${d.ref}: its ${POSTGRES_SERVER_ANNOTATION} ${d.server ?? "(the stack's own)"} names no server of the stack with a known max_connections.`,
            );
        }
    },
};

/** The prefix of the stack's own server's names; a named server's is `postgres-<server>` (its annotation's value). */
const DEFAULT_SERVER_PREFIX = "postgres";
/** The login Job (`<prefix>-logins-<hash>`) and Azure's exporter Deployment (`<prefix>-exporter`). */
const PLATFORM_OBJECT = /^(postgres(?:-[a-z][a-z0-9]*)?)-(logins|exporter)(?:-[0-9a-f]+)?$/;
/** An application's scheduled export CronJob (`<app>-pg-export`, components/postgres/export.ts) in its namespace. */
const EXPORT_CRONJOB_SUFFIX = "-pg-export";

/** What one server holds for applications: max_connections, the connections it keeps, its PgBouncer, where that is set. */
interface Capacity {
    readonly maxConnections: number;
    readonly reserved: number;
    readonly where: string;
    readonly pooler?: PoolerLimits;
}

export const stackPolicies = [statefulProtected, passwordLength, connectionBudget];
