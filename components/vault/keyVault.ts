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
import type { StoredSecret, VaultSecretArgs, VaultWriter } from "../interfaces";
import { prefixedSecretName } from "./secretNames";
import { adoptionProblem, parseVaultId, vaultId, vaultSecretId } from "./vaultRef";

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
    /** Addresses the cluster calls the vault from (External Secrets), admitted through a public vault's firewall. */
    readonly clusterEgressRanges?: readonly string[];
    /**
     * Secrets (names before the prefix) that already exist and are imported (Pulumi's `import` option) rather than
     * created: azure-native refuses to create a secret that exists ("cannot create already existing resource"), and a
     * removed application's secrets are retained. Default: none.
     */
    readonly importSecrets?: readonly string[];
    /** The subscription of a created vault, for the ids of imported secrets (an adopted vault's id names its own). */
    readonly subscriptionId?: string;
}

/**
 * An `ipRules` value as Azure stores it: a bare IPv4 address becomes `a.b.c.d/32` (Azure/azure-cli#21330), so what
 * is sent equals what a refresh reads back.
 */
function asStored(range: string): string {
    return range.includes("/") ? range : `${range}/32`;
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
    private readonly secretPrefix: string;
    /** Every secret written, by the name it was written under (before the prefix). */
    private readonly written = new Map<string, keyvault.Secret>();
    /** The resource id of each secret to import, by the name it is written under. */
    private readonly importIds = new Map<string, string>();

    constructor(name: string, args: KeyVaultArgs, opts?: pulumi.ComponentResourceOptions) {
        const { config } = args;
        super(
            "data-platform:keyvault:KeyVault",
            name,
            { vaultName: config.name, existingVaultId: config.existingVaultId },
            opts,
        );
        this.tags = args.tags ?? {};
        this.secretPrefix = config.secretPrefix ?? "";
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
                        ...(config.recover ? { createMode: "recover" } : {}),
                        enabledForDeployment: false,
                        enabledForDiskEncryption: false,
                        enabledForTemplateDeployment: false,
                        publicNetworkAccess: config.publicNetworkAccess ? "Enabled" : "Disabled",
                        // Default deny in every case: only the configured ranges get through, no "trusted service" bypass.
                        networkAcls: {
                            bypass: "None",
                            defaultAction: "Deny",
                            ipRules: config.publicNetworkAccess
                                ? [
                                      ...new Set(
                                          [...(args.clusterEgressRanges ?? []), ...config.allowedIpRanges].map(
                                              asStored,
                                          ),
                                      ),
                                  ].map((value) => ({ value }))
                                : [],
                        },
                    },
                },
                {
                    parent: this,
                    protect: args.protect ?? false,
                    retainOnDelete: true,
                    // createMode is Azure's instruction for the create only ("whether the vault need to be
                    // recovered"): on a live vault, setting or dropping the key must not send an update.
                    ...(config.recover ? { ignoreChanges: ["properties.createMode"] } : {}),
                },
            );
            this.vaultId = vault.id;
            this.vaultName = vault.name;
            this.vaultUri = vault.properties.apply((p) => p.vaultUri);
        }

        if (config.privateEndpoint) {
            this.privateEndpoint(name, args, config.privateEndpoint);
        }
        if ((args.importSecrets ?? []).length > 0) {
            const vault = existingVaultId ?? createdVaultId(args);
            for (const secretName of args.importSecrets ?? []) {
                this.importIds.set(secretName, vaultSecretId(vault, prefixedSecretName(this.secretPrefix, secretName)));
            }
        }

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
     * Stores a secret in the vault, under the stack's prefix. The value is marked secret (azure-native does not do it)
     * and the secret is retained on delete: it is the only copy of a credential that retained databases still use.
     * No data-plane role is needed: azure-native creates and updates `keyvault.Secret` through ARM (the control plane);
     * only its DELETE uses the data plane, and retained secrets are never deleted
     * (pulumi-azure-native `provider/pkg/resources/customresources/custom_keyvault.go`).
     */
    writeSecret(name: string, args: VaultSecretArgs, opts: pulumi.CustomResourceOptions): keyvault.Secret {
        if (!args.contentType) {
            throw new Error(`Key Vault secret ${args.secretName}: contentType is required`);
        }
        if (this.written.has(args.secretName)) {
            throw new Error(`Key Vault secret ${args.secretName} is written twice`);
        }
        const secret = new keyvault.Secret(
            name,
            {
                resourceGroupName: this.resourceGroupName,
                vaultName: this.vaultName,
                secretName: prefixedSecretName(this.secretPrefix, args.secretName),
                tags: this.tags,
                properties: { value: pulumi.secret(args.value), contentType: args.contentType },
            },
            {
                ...opts,
                parent: opts.parent ?? this,
                // A caller's parent may not carry the Azure provider; never fall back to the ambient default.
                provider: opts.provider ?? this.getProvider("azure-native:keyvault:Secret"),
                retainOnDelete: true,
                // Import, then update to this value (pulumi/pulumi#19339, docs "import": differing inputs no longer fail).
                import: this.importIds.get(args.secretName),
            },
        );
        this.written.set(args.secretName, secret);
        return secret;
    }

    storedSecret(secretName: string): StoredSecret {
        const resource = this.written.get(secretName);
        return resource
            ? { vaultName: prefixedSecretName(this.secretPrefix, secretName), resource }
            : { vaultName: secretName };
    }
}

/** The resource id of the vault `args` creates. */
function createdVaultId(args: KeyVaultArgs): string {
    if (!args.subscriptionId) {
        throw new Error(
            "importing Key Vault secrets needs the subscription of the vault (azure-native:subscriptionId)",
        );
    }
    return vaultId({
        subscriptionId: args.subscriptionId,
        resourceGroupName: args.resourceGroupName,
        vaultName: args.config.name,
    });
}
