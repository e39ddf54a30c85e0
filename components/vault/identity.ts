/**
 * The Azure identity External Secrets Operator authenticates as (workload identity): a user-assigned
 * managed identity, federated with the operator's Kubernetes service account, allowed to read secret
 * values of the platform's vault and nothing else.
 */
import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import * as managedidentity from "@pulumi/azure-native/managedidentity";
import { KEY_VAULT_ROLES, roleAssignmentName, roleDefinitionId } from "./roles";
import { TOKEN_EXCHANGE_AUDIENCE, serviceAccountSubject } from "./workloadIdentity";

export interface ExternalSecretsIdentityArgs {
    /** Name of the managed identity (see `externalSecretsIdentityName`); fixed so the client id survives refactors. */
    readonly identityName: string;
    readonly resourceGroupName: string;
    readonly location: string;
    /** Tags on the identity. Default: none. */
    readonly tags?: Record<string, string>;
    /** The cluster's service-account token issuer (`ClusterAccess.oidcIssuerUrl`). */
    readonly oidcIssuerUrl: pulumi.Input<string>;
    /** Namespace of the service account ESO runs as (`cluster.externalSecrets.namespace`). */
    readonly serviceAccountNamespace: string;
    /** That service account (`cluster.externalSecrets.serviceAccountName`). */
    readonly serviceAccountName: string;
    /** Resource id of the vault: the only scope the identity is granted on. */
    readonly vaultId: pulumi.Input<string>;
}

export class ExternalSecretsIdentity extends pulumi.ComponentResource {
    /** For the service account annotation `azure.workload.identity/client-id` and the ClusterSecretStore. */
    public readonly clientId: pulumi.Output<string>;
    public readonly principalId: pulumi.Output<string>;
    public readonly tenantId: pulumi.Output<string>;
    /** The vault role assignment; a store that reads before it exists gets 403s until RBAC propagates. */
    public readonly vaultAccess: authorization.RoleAssignment;
    /** The federation with ESO's service account; tokens are refused until it exists. */
    public readonly federation: managedidentity.FederatedIdentityCredential;

    constructor(name: string, args: ExternalSecretsIdentityArgs, opts?: pulumi.ComponentResourceOptions) {
        super(
            "data-platform:identity:ExternalSecretsIdentity",
            name,
            {
                identityName: args.identityName,
                serviceAccount: serviceAccountSubject(args.serviceAccountNamespace, args.serviceAccountName),
            },
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

        this.federation = new managedidentity.FederatedIdentityCredential(
            `${name}-fic`,
            {
                resourceGroupName: args.resourceGroupName,
                resourceName: identity.name,
                // One credential per identity, fixed name: a changed service account updates its subject in place.
                federatedIdentityCredentialResourceName: "external-secrets-operator",
                issuer: args.oidcIssuerUrl,
                subject: serviceAccountSubject(args.serviceAccountNamespace, args.serviceAccountName),
                audiences: [TOKEN_EXCHANGE_AUDIENCE],
            },
            { parent: this },
        );

        const client = authorization.getClientConfigOutput({ parent: this });
        this.vaultAccess = new authorization.RoleAssignment(
            `${name}-vault-secrets-user`,
            {
                scope: args.vaultId,
                principalId: identity.principalId,
                // A fresh identity may not have replicated yet; the type lets ARM skip the lookup that would fail.
                principalType: "ServicePrincipal",
                roleDefinitionId: client.subscriptionId.apply((s) => roleDefinitionId(s, KEY_VAULT_ROLES.secretsUser)),
                roleAssignmentName: pulumi
                    .all([args.vaultId, identity.principalId])
                    .apply(([scope, principal]) => roleAssignmentName(scope, principal, KEY_VAULT_ROLES.secretsUser)),
                description: "External Secrets Operator reads the platform's credentials",
            },
            { parent: this },
        );

        this.clientId = identity.clientId;
        this.principalId = identity.principalId;
        this.tenantId = identity.tenantId;
        this.registerOutputs({ clientId: this.clientId, principalId: this.principalId });
    }
}
