/**
 * The platform's Key Vault, the single source of truth for credentials: created with RBAC
 * authorization, purge protection and a default-deny firewall, or adopted by resource id.
 * It is the `VaultWriter` every component stores its secrets through.
 */
import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import * as keyvault from "@pulumi/azure-native/keyvault";
import * as network from "@pulumi/azure-native/network";
import type { KeyVaultConfig, PrivateEndpointConfig } from "../config/keyVault";
import type { VaultSecretArgs, VaultWriter } from "../interfaces";
import { KEY_VAULT_ROLES, roleAssignmentName, roleDefinitionId } from "./roles";
import { checkedSecretName } from "./secretNames";
import { adoptionProblem, parseVaultId } from "./vaultRef";

export interface KeyVaultArgs {
    /** The validated `keyVault` section (name, SKU, retention, network, or `existingVaultId` to adopt). */
    readonly config: KeyVaultConfig & { readonly name: string };
    /** Resource group of a created vault (an adopted vault stays where its id says). */
    readonly resourceGroupName: string;
    /** Region of a created vault. */
    readonly location: string;
    /** Tags on the vault and its secrets. Default: none. */
    readonly tags?: Record<string, string>;
    /** `protect` the created vault. It is retained on delete regardless. Default: false. */
    readonly protect?: boolean;
}

export class KeyVault extends pulumi.ComponentResource implements VaultWriter {
    /** ARM resource id of the vault: the scope of every role assignment on it. */
    public readonly vaultId: pulumi.Output<string>;
    public readonly vaultName: pulumi.Output<string>;
    public readonly vaultUri: pulumi.Output<string>;
    /** Tenant that authenticates access to the vault (for the ESO ClusterSecretStore). */
    public readonly tenantId: pulumi.Output<string>;
    private readonly resourceGroupName: string;
    private readonly tags: Record<string, string>;
    /** The deploying principal's "Key Vault Secrets Officer" assignment; every secret write waits for it. */
    private readonly writerAccess: authorization.RoleAssignment;

    constructor(name: string, args: KeyVaultArgs, opts?: pulumi.ComponentResourceOptions) {
        const { config } = args;
        super(
            "data-platform:keyvault:KeyVault",
            name,
            { vaultName: config.name, existingVaultId: config.existingVaultId },
            opts,
        );
        this.tags = args.tags ?? {};
        const client = authorization.getClientConfigOutput({ parent: this });
        this.tenantId = client.tenantId;

        const existingVaultId = config.existingVaultId;
        if (existingVaultId) {
            const ref = parseVaultId(existingVaultId);
            this.resourceGroupName = ref.resourceGroupName;
            const existing = keyvault.getVaultOutput(
                { resourceGroupName: ref.resourceGroupName, vaultName: ref.vaultName },
                { parent: this },
            );
            const checked = pulumi.all([existing, client.subscriptionId]).apply(([vault, subscriptionId]) => {
                const problem = adoptionProblem(ref, vault.properties.enableRbacAuthorization, subscriptionId);
                if (problem) {
                    throw new pulumi.RunError(problem);
                }
                return vault;
            });
            this.vaultId = checked.apply(() => existingVaultId);
            this.vaultName = checked.name;
            this.vaultUri = checked.properties.vaultUri;
        } else {
            this.resourceGroupName = args.resourceGroupName;
            const vault = new keyvault.Vault(
                `${name}-vault`,
                {
                    resourceGroupName: args.resourceGroupName,
                    vaultName: config.name,
                    location: args.location,
                    tags: this.tags,
                    properties: {
                        tenantId: client.tenantId,
                        sku: { family: "A", name: config.sku },
                        // The SDK defaults to access policies; role assignments only grant data access with RBAC on.
                        enableRbacAuthorization: true,
                        enableSoftDelete: true,
                        softDeleteRetentionInDays: config.softDeleteRetentionDays,
                        // Azure refuses `false` for this flag; leaving it out is how "off" is expressed.
                        enablePurgeProtection: config.purgeProtection ? true : undefined,
                        enabledForDeployment: false,
                        enabledForDiskEncryption: false,
                        enabledForTemplateDeployment: false,
                        publicNetworkAccess: config.publicNetworkAccess ? "Enabled" : "Disabled",
                        // Default deny in every case: only the configured ranges get through, no "trusted service" bypass.
                        networkAcls: {
                            bypass: "None",
                            defaultAction: "Deny",
                            ipRules: config.publicNetworkAccess
                                ? config.allowedIpRanges.map((value) => ({ value }))
                                : [],
                        },
                    },
                },
                { parent: this, protect: args.protect ?? false, retainOnDelete: true },
            );
            this.vaultId = vault.id;
            this.vaultName = vault.name;
            this.vaultUri = vault.properties.apply((p) => p.vaultUri);
        }

        if (config.privateEndpoint) {
            this.privateEndpoint(name, args, config.privateEndpoint);
        }

        // No principalType: the deployer may be a user or a service principal, and ARM refuses a wrong type.
        // It already exists, so the replication delay that principalType works around does not apply.
        this.writerAccess = new authorization.RoleAssignment(
            `${name}-deployer-officer`,
            {
                scope: this.vaultId,
                principalId: client.objectId,
                roleDefinitionId: client.subscriptionId.apply((s) =>
                    roleDefinitionId(s, KEY_VAULT_ROLES.secretsOfficer),
                ),
                roleAssignmentName: pulumi
                    .all([this.vaultId, client.objectId])
                    .apply(([scope, principal]) =>
                        roleAssignmentName(scope, principal, KEY_VAULT_ROLES.secretsOfficer),
                    ),
                description: "Deploying principal writes the platform's generated credentials",
            },
            { parent: this },
        );

        this.registerOutputs({ vaultId: this.vaultId, vaultName: this.vaultName, vaultUri: this.vaultUri });
    }

    /** The cluster's way in while public access is off: an endpoint in its network, registered in the private zone. */
    private privateEndpoint(name: string, args: KeyVaultArgs, pe: PrivateEndpointConfig): void {
        const endpoint = new network.PrivateEndpoint(
            `${name}-pe`,
            {
                resourceGroupName: args.resourceGroupName,
                privateEndpointName: `${args.config.name}-pe`,
                location: args.location,
                tags: this.tags,
                subnet: { id: pe.subnetId },
                privateLinkServiceConnections: [
                    { name: "vault", privateLinkServiceId: this.vaultId, groupIds: ["vault"] },
                ],
            },
            { parent: this },
        );
        new network.PrivateDnsZoneGroup(
            `${name}-pe-dns`,
            {
                resourceGroupName: args.resourceGroupName,
                privateEndpointName: endpoint.name,
                privateDnsZoneGroupName: "default",
                privateDnsZoneConfigs: [{ name: "vault", privateDnsZoneId: pe.privateDnsZoneId }],
            },
            { parent: this },
        );
    }

    /**
     * Stores a secret in the vault. The value is marked secret (azure-native does not do it), the write waits for the
     * deployer's data-plane role, and the secret is retained on delete: it is the only copy of a credential that
     * retained databases still use, and deletes go through the data plane, which a closed vault refuses to a runner.
     */
    writeSecret(name: string, args: VaultSecretArgs, opts: pulumi.CustomResourceOptions): keyvault.Secret {
        if (!args.contentType) {
            throw new Error(`Key Vault secret ${args.secretName}: contentType is required`);
        }
        return new keyvault.Secret(
            name,
            {
                resourceGroupName: this.resourceGroupName,
                vaultName: this.vaultName,
                secretName: checkedSecretName(args.secretName),
                tags: this.tags,
                properties: { value: pulumi.secret(args.value), contentType: args.contentType },
            },
            {
                ...opts,
                parent: opts.parent ?? this,
                // A caller's parent may not carry the Azure provider; never fall back to the ambient default.
                provider: opts.provider ?? this.getProvider("azure-native:keyvault:Secret"),
                retainOnDelete: true,
                // The SDK flattens nested dependsOn inputs (arrays, outputs) when it gathers dependencies.
                dependsOn:
                    opts.dependsOn === undefined
                        ? [this.writerAccess]
                        : [opts.dependsOn as pulumi.Input<pulumi.Resource>, this.writerAccess],
            },
        );
    }
}
