/**
 * Documented limits the stack counts against, each once with where it is documented (reference/limits-and-pitfalls.md
 * §1, §14): a leaf, so the program's own checks and the config's (`limits.ts`) share the numbers.
 */

export interface DocumentedLimit {
    readonly max: number;
    readonly unit: string;
    readonly source: string;
}

export const LIMITS = {
    keyVaultValueBytes: {
        max: 25_000,
        unit: "bytes",
        source: 'Key Vault secret value, "25k bytes" (MicrosoftDocs/azure-security-docs key-vault/secrets/about-secrets.md)',
    },
    kubernetesObjectBytes: {
        max: 1024 * 1024,
        unit: "bytes",
        source: "ConfigMap data and Secret size, 1 MiB (Kubernetes docs, ConfigMaps and Secrets concept pages)",
    },
    kubernetesAnnotationsBytes: {
        max: 256 * 1024,
        unit: "bytes",
        source: "An object's annotations together, 256 KiB (Kubernetes apimachinery, TotalAnnotationSizeLimitB); Patroni keeps its dynamic configuration, pg_hba included, in its config object's annotations (Patroni docs, Using Patroni with Kubernetes)",
    },
    roleAssignments: {
        max: 4_000,
        unit: "role assignments",
        source: "Azure RBAC, 4,000 role assignments per subscription, every scope below it counted (azure-subscription-service-limits)",
    },
    federatedCredentialsPerIdentity: {
        max: 20,
        unit: "federated credentials",
        source: "20 federated identity credentials per user-assigned identity (workload-identity-federation-considerations)",
    },
    identitiesPerResourceGroup: {
        max: 800,
        unit: "user-assigned identities",
        source:
            "800 instances of a resource type per resource group; Microsoft.ManagedIdentity/userAssignedIdentities is not " +
            "among the exempt types (MicrosoftDocs/azure-docs azure-resource-manager/management/resources-without-resource-group-limit.md)",
    },
} as const satisfies Record<string, DocumentedLimit>;
