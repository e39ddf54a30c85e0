/**
 * What a data service module is: everything the platform needs to know about one service (PostgreSQL, Redis, ...),
 * behind one interface that each service folder implements once (`<service>/module.ts`), the way aws-cdk's `aws-rds`
 * has each engine implement `IInstanceEngine`. The catalog (`services.ts`) lists the modules; the config loader, the
 * credential registry, the env contract and `platform.ts` iterate it and name no service.
 * A leaf: the modules import this file, and the catalog imports the modules (madge counts type imports as edges).
 */
import type * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import type { Profile } from "./config/fields";
import type { Rotations } from "./config/keyVault";
import type { AppConfig } from "./config/platform";
import type { Move } from "./config/placement";
import type { ConfigRule, PlatformConfig } from "./config/types";
import type { CredentialSource, DataService, SecretStoreRef, SecretSyncer, VaultWriter } from "./interfaces";
import type { PodSecurityLevel } from "./namespace";

export { DEFAULT_INSTANCE, instancePrefix } from "./instanceNames";

/** One key of the application contract, as the README documents it. */
export interface ContractKey {
    readonly key: string;
    /** The service (catalog name) that hands it out. */
    readonly service: string;
    /** Holds a password (or a URL containing one): always a secret value. */
    readonly secret: boolean;
    readonly description: string;
    readonly example: string;
}

/** What the README says about a key. */
export type KeyDocs = Pick<ContractKey, "description" | "example">;

/** The README's example of a PEM value. */
export const PEM_EXAMPLE = "-----BEGIN CERTIFICATE-----\\n...";

/**
 * A service's part of the application contract. A shape is what decides its key set for a stack (a mode, whether a
 * CA is handed out); the stack's whole shape is every service's part side by side, so part fields carry the service
 * in their names (`postgresCaCert`, `redisMode`).
 */
export interface ServiceContract<Shape extends object> {
    /** Every shape the service can take, widest first (the README's table lists each key at its first appearance). */
    readonly shapes: readonly Shape[];
    /** The shape of one instance, from the stack's configuration. */
    shape(config: PlatformConfig, instance: string): Shape;
    /** The keys every application gets in a shape, in documented order. */
    keys(shape: Shape): readonly ContractKey[];
    /** Keys that depend on the application's own config (e.g. one set per extra Redis database). Default: none. */
    appKeys?(shape: Shape, app: AppConfig): readonly ContractKey[];
    /**
     * The README rows of `appKeys`: a key pattern each, with where it is present. Default: none.
     */
    readonly appKeyRows?: readonly { readonly key: ContractKey; readonly present: string }[];
    /** Conditions the README's "Present" column names: a key present only in shapes that all meet one says so. */
    readonly conditions: readonly { readonly present: string; holds(shape: Shape): boolean }[];
    /** How an error names the shape, e.g. `sentinel mode`. Default: nothing. */
    label?(shape: Shape): string;
}

/** What `create` is given: the stack's configuration and the platform's shared components. */
export interface ServiceArgs {
    /** The stack's configuration, `apps` narrowed to the applications this instance serves. */
    readonly config: PlatformConfig;
    /** Generated passwords (the ids of `credentials.ids`). */
    readonly credentials: CredentialSource;
    readonly vault: VaultWriter;
    readonly secretSync: SecretSyncer;
    /** The platform namespace (created before any Kubernetes object of the service). */
    readonly namespace: string;
    /** The cluster's service-account token issuer, for identities federated with the service's own Jobs. */
    readonly oidcIssuerUrl?: pulumi.Input<string>;
    /**
     * Set in a tenant stack: the instance runs in the platform stack `platformStack`; build only what this stack's
     * applications need on it (their credentials' consumers, databases), nothing of the instance itself.
     */
    readonly tenant?: TenantContext;
}

/** A tenant stack's place beside its platform stack (`ServiceArgs.tenant`). */
export interface TenantContext {
    readonly stack: string;
    readonly platformStack: string;
    /** The platform's store, read through in the platform namespace (a tenant's login Jobs' Secrets). */
    readonly platformStore: SecretStoreRef;
    /** The credential keying this stack's login Jobs' digests and salts (`pgTenantKeyCredentialId`). */
    readonly loginKeyId: string;
}

/** One running instance of a service, as the applications' bundles see it. */
export interface ServiceInstance extends DataService {
    /**
     * Resources after which an application's credentials work (logins created, ACL users loaded): its bundle and
     * Secret wait for them, so no pod gets a password the server does not know yet.
     */
    readonly ready: readonly pulumi.Resource[];
    /**
     * Contract keys whose values only the platform stack holds (a tenant stack's part of a shared instance), by the
     * Key Vault secret (its name in the vault) that holds each: the application's Secret reads them from there, not
     * from its bundle. Default: none.
     */
    platformKeys?(app: AppConfig): Readonly<Record<string, string>>;
    /**
     * What one application's bundle waits for, when more than `ready` (an application moved here: the copy of its data).
     * Default: `ready`.
     */
    readyFor?(app: AppConfig): readonly pulumi.Resource[];
    /** Stack outputs of this instance (names only, never secrets). Default: none. */
    readonly outputs?: Readonly<Record<string, pulumi.Output<string>>>;
}

/** Everything the platform knows about one data service. */
export interface DataServiceModule<Name extends string, Shape extends object, Section extends z.ZodType> {
    /** Its config section (`data-platform:<name>`), its contract keys' service, its resources' name. */
    readonly name: Name;
    /** The section's schema for a profile (defaults per profile), with its README description. */
    configSchema(profile: Profile): Section;
    /** Checks over `apps` the service needs, run beside the loader's own (unique names, namespaces). Default: none. */
    readonly appRules?: ConfigRule;
    /** Rules over several keys, run once every key parsed and the application checks passed. */
    readonly configRules: ConfigRule;
    /** Its generated credentials and how they rotate. */
    readonly credentials: {
        /** Every id (each also its Key Vault secret name) for this configuration. */
        ids(config: PlatformConfig): readonly string[];
        /**
         * The rotation values its passwords' keepers get, by id. Default: `keyVault.rotations` as given; a service
         * whose rotation value means something else (PostgreSQL's login generation) maps it here.
         */
        rotations?(config: PlatformConfig): Rotations;
        /** Ids whose previous password stays readable after a rotation (servers accept both). Default: none. */
        keepPrevious?(config: PlatformConfig): readonly string[];
    };
    readonly contract: ServiceContract<Shape>;
    /** The weakest Pod Security level its pods in the platform namespace need. Default: `restricted`. */
    podSecurity?(config: PlatformConfig): PodSecurityLevel;
    /** The instances of a stack. Default: `[DEFAULT_INSTANCE]`. */
    instances?(config: PlatformConfig): readonly string[];
    /** The instance an application uses. Default: `DEFAULT_INSTANCE`. */
    instanceOf?(app: AppConfig): string;
    /**
     * An application being moved to its instance (`apps[].<service>.movedFrom`): the instance it moves from, and whether
     * the old copy is being dropped (`retireOld`). Default: never moving.
     */
    moveOf?(app: AppConfig): Move | undefined;
    /** Builds one instance, its component named `name`. */
    create(name: string, instance: string, args: ServiceArgs, opts: pulumi.ComponentResourceOptions): ServiceInstance;
}

/** Declares a module, its name, shape and section types inferred (`export const fooModule = dataService({...})`). */
export function dataService<Name extends string, Shape extends object, Section extends z.ZodType>(
    module: DataServiceModule<Name, Shape, Section>,
): DataServiceModule<Name, Shape, Section> {
    return module;
}
