/**
 * The validated stack configuration's types: a leaf module, so every service can read the config it is
 * given without importing the parser (which imports each service's config rules). The section types are
 * inferred from their schemas.
 */
import type { Profile } from "./fields";
import type { ParseContext } from "./issues";
import type { BackupsConfig } from "./backups";
import type { KeyVaultConfig } from "./keyVault";
import type { AppConfig, AppImport, AzureConfig, ClusterConfig } from "./platform";
import type { PostgresConfig, PostgresSection } from "./postgres";
import type { RedisSection } from "./redis";

/** The Pulumi project name: the namespace of every config key (`data-platform:<key>`). */
export const PROJECT = "data-platform";

/** Everything the program needs to know about one stack, validated and with defaults applied. */
export interface PlatformConfig {
    readonly project: string;
    readonly stack: string;
    readonly profile: Profile;
    /** `protect` stateful resources (always retained on delete regardless). */
    readonly protect: boolean;
    readonly azure: AzureConfig;
    readonly cluster: ClusterConfig;
    readonly keyVault: KeyVaultConfig & { readonly name: string };
    readonly postgres: PostgresSection;
    readonly redis: RedisSection;
    /** Where scheduled exports go; unset: none. */
    readonly backups?: BackupsConfig;
    /** The applications, without the retired ones. */
    readonly apps: AppConfig[];
    /** Existing objects to import, by resource name (see components/imports.ts). */
    readonly imports: Readonly<Record<string, string>>;
    /** Tenant stacks a platform stack admits, with their quotas per server: server and client connections (`tenants`). */
    readonly tenants: Readonly<
        Record<
            string,
            {
                readonly connections: Readonly<Record<string, number>>;
                readonly clients: Readonly<Record<string, number>>;
            }
        >
    >;
    /** In a tenant stack: its own name (`config.stack` is its platform's). */
    readonly tenantStack?: string;
    /**
     * Applications being removed (`apps[].retired`): the program treats them as gone, except that their protected
     * resources stay registered, unprotected, for one `up` (so the next change may drop them).
     */
    readonly retiredApps: AppConfig[];
    /**
     * One instance's view only (set by `platform.ts` for each instance it builds): applications moved off it whose old
     * copy it keeps, protected as before, until `retireOld` puts them among `retiredApps` (README "Moving an
     * application").
     */
    readonly movedOutApps?: AppConfig[];
    /** What of each application is imported (`apps[].import`), by application name; absent: nothing. */
    readonly appImports: Readonly<Record<string, readonly AppImport[]>>;
    /** `azure-native:subscriptionId`: the stack's Azure subscription; unset, the provider's environment decides. */
    readonly subscriptionId?: string;
}

/**
 * The stack's configuration as one PostgreSQL server's resources see it: `postgres` is that server's settings and
 * `apps` the applications whose databases it holds (`components/postgres/servers.ts`, `postgresServerConfig`).
 */
export type ServerConfig = Omit<PlatformConfig, "postgres"> & { readonly postgres: PostgresConfig };

/** A rule over several keys of a section (or several sections); run only on an otherwise valid config. */
export type ConfigRule = (config: PlatformConfig, ctx: ParseContext) => void;
