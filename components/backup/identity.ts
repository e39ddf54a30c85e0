/**
 * The identity one backup CronJob uploads as: a user-assigned managed identity of its own, federated with the Job's one
 * service account, with "Storage Blob Data Contributor" on the exports' container under a condition that keeps it to
 * its own prefix (`prefixCondition`). Never the External Secrets identity of the same namespace: that one reads Key
 * Vault, and a store's service account gaining blob write would widen what it reaches. Per writer: one identity, one
 * federated credential (of Azure's 20 per identity) and one role assignment (of 4,000 per subscription).
 */
import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import * as managedidentity from "@pulumi/azure-native/managedidentity";
import type { BackupsConfig } from "../config/backups";
import { roleAssignmentName, roleDefinitionId } from "../vault/roles";
import { TOKEN_EXCHANGE_AUDIENCE, serviceAccountSubject } from "../vault/workloadIdentity";
import type { AzureConfig } from "../config/platform";
import { STORAGE_BLOB_DATA_CONTRIBUTOR, containerScope, prefixCondition } from "./blob";

export interface BlobWriterIdentityArgs {
    /** Name of the managed identity (`backupIdentityName`): fixed, so its client id survives refactors. */
    readonly identityName: string;
    readonly resourceGroupName: string;
    readonly location: string;
    readonly tags?: Record<string, string>;
    /** The cluster's service-account token issuer. */
    readonly oidcIssuerUrl: pulumi.Input<string>;
    /** The Job's service account, the identity's one federated subject. */
    readonly serviceAccountNamespace: pulumi.Input<string>;
    readonly serviceAccountName: string;
    /** The exports' container. */
    readonly backups: BackupsConfig;
    /** The only path prefix it may use (`postgresExportPrefix`, `redisBackupPrefix`). */
    readonly prefix: string;
}

export class BlobWriterIdentity extends pulumi.ComponentResource {
    /** For the service account annotation `azure.workload.identity/client-id`. */
    public readonly clientId: pulumi.Output<string>;
    /** Tokens are refused until the federation exists, and writes until the grant does: what the CronJob waits for. */
    public readonly ready: pulumi.Resource[];

    constructor(name: string, args: BlobWriterIdentityArgs, opts?: pulumi.ComponentResourceOptions) {
        super(
            "data-platform:backup:BlobWriterIdentity",
            name,
            { identityName: args.identityName, prefix: args.prefix },
            opts,
        );
        const identity = new managedidentity.UserAssignedIdentity(
            `${name}-uami`,
            {
                resourceGroupName: args.resourceGroupName,
                resourceName: args.identityName,
                location: args.location,
                tags: args.tags ?? {},
            },
            { parent: this },
        );
        const federation = new managedidentity.FederatedIdentityCredential(
            `${name}-fic`,
            {
                resourceGroupName: args.resourceGroupName,
                resourceName: identity.name,
                federatedIdentityCredentialResourceName: "backup",
                issuer: args.oidcIssuerUrl,
                subject: pulumi
                    .output(args.serviceAccountNamespace)
                    .apply((ns) => serviceAccountSubject(ns, args.serviceAccountName)),
                audiences: [TOKEN_EXCHANGE_AUDIENCE],
            },
            { parent: this },
        );
        const subscriptionId = authorization.getClientConfigOutput({ parent: this }).subscriptionId;
        const scope = containerScope(args.backups);
        const grant = new authorization.RoleAssignment(
            `${name}-blob-write`,
            {
                scope,
                principalId: identity.principalId,
                // A fresh identity may not have replicated yet; the type lets ARM skip the lookup that would fail.
                principalType: "ServicePrincipal",
                roleDefinitionId: subscriptionId.apply((s) => roleDefinitionId(s, STORAGE_BLOB_DATA_CONTRIBUTOR)),
                roleAssignmentName: identity.principalId.apply((principal) =>
                    roleAssignmentName(scope, principal, STORAGE_BLOB_DATA_CONTRIBUTOR),
                ),
                condition: prefixCondition(args.prefix),
                conditionVersion: "2.0",
                description: `Backups write ${args.prefix} of ${args.backups.container} only`,
            },
            { parent: this },
        );
        this.clientId = identity.clientId;
        this.ready = [federation, grant];
        this.registerOutputs({ clientId: this.clientId });
    }
}

/** What every scheduled copy to Blob (an application's export, a Redis group's RDB) is given besides its source. */
export interface BlobCopyArgs {
    readonly backups: BackupsConfig;
    readonly oidcIssuerUrl: pulumi.Input<string>;
    /** Azure placement of the writer identity. */
    readonly azure: AzureConfig;
    readonly vaultName: string;
    /** What the CronJob waits for besides its identity (the Secret with the credential it reads). */
    readonly after: pulumi.Input<pulumi.Resource>[];
}
