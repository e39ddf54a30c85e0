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
     * Stores `value` (marked secret) under `secretName` (the vault adds the stack's secret prefix).
     * @param name logical (Pulumi) name of the secret resource
     */
    writeSecret(name: string, args: VaultSecretArgs, opts: pulumi.CustomResourceOptions): keyvault.Secret;
    /**
     * Where `secretName` (as given to `writeSecret`) is kept: its Key Vault name and, when this program writes it,
     * its resource. A name the program does not write (one the operator stores) is taken as it is.
     */
    storedSecret(secretName: string): StoredSecret;
}

/** A Key Vault secret as External Secrets reads it. */
export interface StoredSecret {
    /** Its name in the vault (with the stack's prefix). */
    readonly vaultName: string;
    /** The secret resource, when this program writes it. */
    readonly resource?: keyvault.Secret;
}

/** An identity External Secrets authenticates as, which can be allowed to read single secrets. */
export interface SecretReader {
    /** Allows reading `secret` (only that secret); idempotent. The result is what a read must wait for. */
    grantRead(secret: StoredSecret): pulumi.Resource;
}

/** A store ExternalSecrets name in `secretStoreRef`, and the identity it reads the vault as. */
export interface SecretStoreRef {
    readonly kind: "SecretStore" | "ClusterSecretStore";
    /** Resolved once the store exists, so ExternalSecrets naming it wait for it. */
    readonly name: pulumi.Output<string>;
    readonly reader: SecretReader;
    /**
     * Keep the Secrets when their ExternalSecret is deleted or replaced (`creationPolicy: Orphan`): the platform's
     * retained servers still read them. Application Secrets go with their ExternalSecret (`Owner`).
     */
    readonly keepSecrets: boolean;
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
}

/** One key of a synced Secret and the Key Vault secret it comes from. */
export interface SyncedKey {
    readonly secretKey: string;
    /** The Key Vault secret, named as given to `VaultWriter.writeSecret`. */
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
    /**
     * Resources the ExternalSecret waits for besides the Key Vault secrets it reads (which it always waits for, and
     * whose versions it carries, so a new version re-syncs at once instead of at the next refresh). Default: none.
     */
    readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
    /** The store to read through. Default: the platform's store (the platform namespace only). */
    readonly store?: SecretStoreRef;
    /**
     * Read the Key Vault versions this program wrote (`remoteRef.version`), not the newest: ESO's own periodic refresh
     * then re-reads the same values, so the Secret changes only when this ExternalSecret does (after its dependsOn).
     * Every secret read must be written by this program. Default: the newest version.
     */
    readonly pinVersions?: boolean;
    /** Further keys, each an ESO template over the `data` keys (`secretSync/spec.ts` `esoTemplateText`). Default: none. */
    readonly template?: Readonly<Record<string, string>>;
    /**
     * Write into an existing Secret, keeping its other keys (ESO `creationPolicy: Merge`), instead of the syncer's own
     * (which takes over a Secret of that name). Default: false.
     */
    readonly adopt?: boolean;
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
