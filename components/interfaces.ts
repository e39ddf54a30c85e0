/**
 * The interfaces the platform's components offer each other. `platform.ts` wires concrete
 * components through these, so each component can be built and tested on its own.
 */
import * as pulumi from "@pulumi/pulumi";
import type * as keyvault from "@pulumi/azure-native/keyvault";
import type * as k8s from "@pulumi/kubernetes";
import type { AppConfig } from "./config/platform";

/** Environment variables for an application: the contract keys and their (possibly secret) values. */
export type Env = Record<string, pulumi.Input<string>>;

/** Writes secrets into the platform's Key Vault (the single source of truth for credentials). */
export interface VaultWriter {
    /** `https://<vault>.vault.azure.net/` */
    readonly vaultUri: pulumi.Output<string>;
    /**
     * Stores `value` (marked secret) under `secretName`, after the deployer may write to the vault.
     * @param name logical (Pulumi) name of the secret resource
     */
    writeSecret(name: string, args: VaultSecretArgs, opts: pulumi.CustomResourceOptions): keyvault.Secret;
}

export interface VaultSecretArgs {
    /** Key Vault secret name: letters, digits and dashes. */
    readonly secretName: string;
    readonly value: pulumi.Input<string>;
    /** e.g. `text/plain`, `application/json`, `text/x-redis-acl`. */
    readonly contentType: string;
}

/** Generated credentials, one per id, each kept in Key Vault. */
export interface CredentialSource {
    /** The password of credential `id` (secret). Throws for an id that was not declared. */
    password(id: string): pulumi.Output<string>;
    /** The Key Vault secret name that holds credential `id`. */
    secretName(id: string): string;
    /**
     * The password credential `id` had before its last rotation (servers accept both until the next one); the
     * current password when there is no previous one.
     */
    previousPassword(id: string): pulumi.Output<string>;
    /** The Key Vault secret name that holds `previousPassword(id)`. */
    previousSecretName(id: string): string;
}

/** One key of a synced Secret and the Key Vault secret it comes from. */
export interface SyncedKey {
    readonly secretKey: string;
    readonly remoteKey: string;
    /** A top-level field of the Key Vault secret's JSON value to take instead of the whole value. Default: none. */
    readonly property?: string;
}

export interface SyncedSecretArgs {
    /** Namespace the Secret is created in. */
    readonly namespace: pulumi.Input<string>;
    /** Name of the Kubernetes Secret. */
    readonly secretName: string;
    readonly data: readonly SyncedKey[];
    /** Resources the ExternalSecret waits for (e.g. the Key Vault secrets it reads). */
    readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
    /**
     * Versions of the Key Vault secrets read (e.g. `keyvault.Secret` `properties.secretUriWithVersion`): when one
     * changes, the ExternalSecret changes too and re-syncs at once instead of at its next refresh. Default: none.
     */
    readonly sourceVersions?: pulumi.Input<string>[];
}

/** Brings Key Vault secrets into namespaces through External Secrets. */
export interface SecretSyncer {
    /** Creates an ExternalSecret that keeps one Kubernetes Secret in sync with Key Vault. */
    syncSecret(
        name: string,
        args: SyncedSecretArgs,
        opts: pulumi.CustomResourceOptions,
    ): k8s.apiextensions.CustomResource;
}

/** What a data service (PostgreSQL, Redis) contributes to each application's environment. */
export interface DataService {
    /** The application's environment keys for this service (values may be secret). */
    env(app: AppConfig): Env;
}
