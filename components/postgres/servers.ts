/**
 * PostgreSQL servers: the section's own (`default`) and the named ones of `postgres.servers`, and which one holds each
 * application's database (`apps[].postgres.server`). Pure; the module, the config rules and the credential ids read
 * servers through here.
 */
import type { AppConfig } from "../config/platform";
import { type Move, sectionMove } from "../config/placement";
import type { PostgresConfig, PostgresSection } from "../config/postgres";
import { PROJECT, PlatformConfig, ServerConfig } from "../config/types";
import { DEFAULT_INSTANCE, instancePrefix } from "../serviceModule";

/** Every server of the stack, the default first. */
export function postgresServers(postgres: PostgresSection): string[] {
    return [DEFAULT_INSTANCE, ...Object.keys(postgres.servers)];
}

/** The server an application's database lives on. */
export function postgresServerOf(app: AppConfig): string {
    return app.postgres?.server ?? DEFAULT_INSTANCE;
}

/**
 * The server an application's database is being moved from (`apps[].postgres.movedFrom`), and whether that old copy is
 * being dropped (`retireOld`); undefined when it is not moving.
 */
export function postgresMoveOf(app: AppConfig): Move | undefined {
    return sectionMove(app.postgres && { from: app.postgres.movedFrom, retireOld: app.postgres.retireOld });
}

/** The first word of a server's names (its component, Kubernetes objects, credentials, SGCluster). */
export function postgresPrefix(postgres: Pick<PostgresConfig, "server">): string {
    return instancePrefix("postgres", postgres.server ?? DEFAULT_INSTANCE);
}

/**
 * The settings of one server: the section's own (without `servers`: what a stack had before servers) or a named one,
 * its SGCluster named by its prefix unless given.
 */
export function postgresServerSettings(postgres: PostgresSection, server: string): PostgresConfig {
    const { servers, ...own } = postgres;
    const settings = server === DEFAULT_INSTANCE ? own : { ...servers[server], server };
    if (settings === undefined || (server !== DEFAULT_INSTANCE && servers[server] === undefined)) {
        throw new Error(`no PostgreSQL server ${server}`);
    }
    const named = server === DEFAULT_INSTANCE ? {} : { server };
    return {
        ...settings,
        ...named,
        stackgres: {
            ...settings.stackgres,
            clusterName: settings.stackgres.clusterName ?? postgresPrefix(named),
        },
    };
}

/** The stack's configuration as one server sees it: its settings, and the applications whose databases it holds. */
export function postgresServerConfig(config: PlatformConfig, server: string): ServerConfig {
    return {
        ...config,
        postgres: postgresServerSettings(config.postgres, server),
        apps: config.apps.filter((app) => postgresServerOf(app) === server),
    };
}

/** The config key of a server's settings, as errors name it. */
export function postgresServerPath(server: string): string {
    return server === DEFAULT_INSTANCE ? `${PROJECT}:postgres` : `${PROJECT}:postgres.servers.${server}`;
}

/**
 * A server's names: its Kubernetes objects and Key Vault secrets (`postgres-<server>-...`), its credential ids
 * (`pg-<server>-...`), from its prefix; the default server's are those of every stack before named servers.
 */
export function postgresNames(postgres: Pick<PostgresConfig, "server">) {
    const prefix = postgresPrefix(postgres);
    const ids = postgres.server === undefined ? "pg" : `pg-${postgres.server}`;
    return {
        prefix,
        /** The login Job's ConfigMap, synced Secret, service account, and its name's prefix. */
        logins: `${prefix}-logins`,
        /** Key Vault secret of the logins' SCRAM verifiers (in parts: `partSecretName`). */
        loginVerifiers: `${prefix}-login-verifiers`,
        /** Azure mode's postgres_exporter Deployment (and Service, ServiceMonitor, NetworkPolicy). */
        exporter: `${prefix}-exporter`,
        /** The synced Secret of the monitoring login's password. */
        monitorSecret: `${prefix}-monitor`,
        exporterCa: `${prefix}-exporter-ca`,
        alerts: `${prefix}-alerts`,
        credentials: {
            /** The administrator: Azure's admin login, or the StackGres superuser. */
            admin: `${ids}-admin`,
            /** StackGres' streaming-replication role. */
            replication: `${ids}-replication`,
            /** StackGres' PgBouncer `auth_user`. */
            authenticator: `${ids}-authenticator`,
            /** The monitoring login postgres_exporter connects as (azure mode, `postgres.azure.monitoring`). */
            monitor: `${ids}-monitor`,
        },
    } as const;
}
