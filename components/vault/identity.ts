/**
 * An Azure identity External Secrets Operator authenticates as (workload identity) for one store: a user-assigned
 * managed identity, federated with one Kubernetes service account, allowed to read exactly the secrets that store's
 * ExternalSecrets read, each by a role assignment scoped to that one secret.
 */
import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import * as managedidentity from "@pulumi/azure-native/managedidentity";
import type { SecretReader, StoredSecret } from "../interfaces";
import { KEY_VAULT_ROLES, roleAssignmentName, roleDefinitionId, secretScope } from "./roles";
import { TOKEN_EXCHANGE_AUDIENCE, serviceAccountSubject } from "./workloadIdentity";

export interface ExternalSecretsIdentityArgs {
    /**
     * Name of the managed identity (`externalSecretsIdentityName`, `appSecretsIdentityName`); fixed so the client
     * id survives refactors.
     */
    readonly identityName: string;
    readonly resourceGroupName: string;
    readonly location: string;
    /** Tags on the identity. Default: none. */
    readonly tags?: Record<string, string>;
    /** The cluster's service-account token issuer (`ClusterAccess.oidcIssuerUrl`). */
    readonly oidcIssuerUrl: pulumi.Input<string>;
    /** Namespace of the service account the store's tokens are requested for. */
    readonly serviceAccountNamespace: string;
    /** That service account. */
    readonly serviceAccountName: string;
    /** Resource id of the vault whose secrets the identity may be allowed to read. */
    readonly vaultId: pulumi.Input<string>;
    /** Whose secrets these are, for the role assignments' descriptions (e.g. `application orders`). */
    readonly readsFor: string;
}

export class ExternalSecretsIdentity extends pulumi.ComponentResource implements SecretReader {
    /** For the service account annotation `azure.workload.identity/client-id`. */
    public readonly clientId: pulumi.Output<string>;
    public readonly principalId: pulumi.Output<string>;
    public readonly tenantId: pulumi.Output<string>;
    /** The federation with the store's service account; tokens are refused until it exists. */
    public readonly federation: managedidentity.FederatedIdentityCredential;
    private readonly grantPrefix: string;
    private readonly args: ExternalSecretsIdentityArgs;
    private readonly subscriptionId: pulumi.Output<string>;
    /** One role assignment per secret granted, by vault secret name. */
    private readonly grants = new Map<string, authorization.RoleAssignment>();

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
        this.grantPrefix = name;
        this.args = args;

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

        this.subscriptionId = authorization.getClientConfigOutput({ parent: this }).subscriptionId;
        this.clientId = identity.clientId;
        this.principalId = identity.principalId;
        this.tenantId = identity.tenantId;
        this.registerOutputs({ clientId: this.clientId, principalId: this.principalId });
    }

    /**
     * "Key Vault Secrets User" on `secret` alone, created once per secret. It waits for the secret: a role assignment
     * needs its scope to exist.
     */
    grantRead(secret: StoredSecret): authorization.RoleAssignment {
        const existing = this.grants.get(secret.vaultName);
        if (existing) {
            return existing;
        }
        const grant = readGrant(this, `${this.grantPrefix}-read-${secret.vaultName}`, {
            secret,
            vaultId: this.args.vaultId,
            principalId: this.principalId,
            subscriptionId: this.subscriptionId,
            readsFor: this.args.readsFor,
        });
        this.grants.set(secret.vaultName, grant);
        return grant;
    }
}

/** "Key Vault Secrets User" on `secret` alone for `principalId`; it waits for the secret (its scope must exist). */
function readGrant(
    parent: pulumi.Resource,
    name: string,
    args: {
        readonly secret: StoredSecret;
        readonly vaultId: pulumi.Input<string>;
        readonly principalId: pulumi.Output<string>;
        readonly subscriptionId: pulumi.Output<string>;
        readonly readsFor: string;
    },
): authorization.RoleAssignment {
    const { secret } = args;
    const scope = pulumi.output(args.vaultId).apply((vaultId) => secretScope(vaultId, secret.vaultName));
    return new authorization.RoleAssignment(
        name,
        {
            scope,
            principalId: args.principalId,
            // A fresh identity may not have replicated yet; the type lets ARM skip the lookup that would fail.
            principalType: "ServicePrincipal",
            roleDefinitionId: args.subscriptionId.apply((s) => roleDefinitionId(s, KEY_VAULT_ROLES.secretsUser)),
            roleAssignmentName: pulumi
                .all([scope, args.principalId])
                .apply(([at, principal]) => roleAssignmentName(at, principal, KEY_VAULT_ROLES.secretsUser)),
            description: `External Secrets reads ${secret.vaultName} for ${args.readsFor}`,
        },
        { parent, dependsOn: secret.resource ? [secret.resource] : [] },
    );
}

export interface PlatformStoreReaderArgs {
    /** The platform store's identity (`externalSecretsIdentityName`), created by the platform stack. */
    readonly identityName: string;
    readonly resourceGroupName: string;
    readonly vaultId: pulumi.Input<string>;
    /** Whose secrets these are, for the role assignments' descriptions. */
    readonly readsFor: string;
}

/**
 * A tenant stack's view of its platform's store identity (looked up by name, never created here): lets it read, secret
 * by secret, what this stack writes for the platform store (a tenant login Job's key and verifiers). A secret this
 * stack does not write (the admin's password) the platform stack has granted already: its grant is not repeated.
 */
export class PlatformStoreReader extends pulumi.ComponentResource implements SecretReader {
    private readonly args: PlatformStoreReaderArgs;
    private readonly principalId: pulumi.Output<string>;
    private readonly subscriptionId: pulumi.Output<string>;
    private readonly grants = new Map<string, authorization.RoleAssignment>();

    constructor(name: string, args: PlatformStoreReaderArgs, opts?: pulumi.ComponentResourceOptions) {
        super("data-platform:identity:PlatformStoreReader", name, { identityName: args.identityName }, opts);
        this.args = args;
        this.principalId = managedidentity.getUserAssignedIdentityOutput(
            { resourceGroupName: args.resourceGroupName, resourceName: args.identityName },
            { parent: this },
        ).principalId;
        this.subscriptionId = authorization.getClientConfigOutput({ parent: this }).subscriptionId;
        this.registerOutputs({ identityName: args.identityName });
    }

    grantRead(secret: StoredSecret): pulumi.Resource {
        if (secret.resource === undefined) {
            return this;
        }
        const existing = this.grants.get(secret.vaultName);
        if (existing) {
            return existing;
        }
        const grant = readGrant(this, `${this.args.identityName}-read-${secret.vaultName}`, {
            secret,
            vaultId: this.args.vaultId,
            principalId: this.principalId,
            subscriptionId: this.subscriptionId,
            readsFor: this.args.readsFor,
        });
        this.grants.set(secret.vaultName, grant);
        return grant;
    }
}
