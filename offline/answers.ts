/**
 * What the mocked providers answer: realistic, deterministic outputs for the resource types the
 * program uses, and the invokes it calls. Deterministic so two plans of one config are identical.
 */
import * as crypto from "crypto";

export const MOCK_SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000000";
export const MOCK_TENANT_ID = "11111111-1111-1111-1111-111111111111";
export const MOCK_DEPLOYER_OBJECT_ID = "22222222-2222-2222-2222-222222222222";
export const MOCK_DEPLOYER_CLIENT_ID = "33333333-3333-3333-3333-333333333333";

export function digest(...parts: string[]): string {
    return crypto.createHash("sha256").update(parts.join("\u0000")).digest("hex");
}

/** A UUID-shaped value derived from its seed. */
export function mockUuid(...seed: string[]): string {
    const h = digest(...seed);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

type Inputs = Record<string, any>;

/** ARM resource types of the azure-native tokens the program registers, and the input that names each. */
const ARM_TYPES: Record<string, { arm: string; nameInput: string; parent?: { arm: string; nameInput: string } }> = {
    "azure-native:keyvault:Vault": { arm: "Microsoft.KeyVault/vaults", nameInput: "vaultName" },
    "azure-native:keyvault:Secret": {
        arm: "secrets",
        nameInput: "secretName",
        parent: { arm: "Microsoft.KeyVault/vaults", nameInput: "vaultName" },
    },
    "azure-native:dbforpostgresql:Server": {
        arm: "Microsoft.DBforPostgreSQL/flexibleServers",
        nameInput: "serverName",
    },
    "azure-native:dbforpostgresql:Database": {
        arm: "databases",
        nameInput: "databaseName",
        parent: { arm: "Microsoft.DBforPostgreSQL/flexibleServers", nameInput: "serverName" },
    },
    "azure-native:dbforpostgresql:Configuration": {
        arm: "configurations",
        nameInput: "configurationName",
        parent: { arm: "Microsoft.DBforPostgreSQL/flexibleServers", nameInput: "serverName" },
    },
    "azure-native:dbforpostgresql:FirewallRule": {
        arm: "firewallRules",
        nameInput: "firewallRuleName",
        parent: { arm: "Microsoft.DBforPostgreSQL/flexibleServers", nameInput: "serverName" },
    },
    "azure-native:managedidentity:UserAssignedIdentity": {
        arm: "Microsoft.ManagedIdentity/userAssignedIdentities",
        nameInput: "resourceName",
    },
    "azure-native:managedidentity:FederatedIdentityCredential": {
        arm: "federatedIdentityCredentials",
        nameInput: "federatedIdentityCredentialResourceName",
        parent: { arm: "Microsoft.ManagedIdentity/userAssignedIdentities", nameInput: "resourceName" },
    },
    "azure-native:network:PrivateEndpoint": {
        arm: "Microsoft.Network/privateEndpoints",
        nameInput: "privateEndpointName",
    },
    "azure-native:network:PrivateDnsZoneGroup": {
        arm: "privateDnsZoneGroups",
        nameInput: "privateDnsZoneGroupName",
        parent: { arm: "Microsoft.Network/privateEndpoints", nameInput: "privateEndpointName" },
    },
    "azure-native:storage:BlobContainer": {
        arm: "blobServices/default/containers",
        nameInput: "containerName",
        parent: { arm: "Microsoft.Storage/storageAccounts", nameInput: "accountName" },
    },
};

/** The id and outputs a provider would return for a freshly created resource. */
export function resourceAnswer(
    type: string,
    name: string,
    urn: string,
    inputs: Inputs,
): { id: string; outputs: Inputs } {
    if (type.startsWith("pulumi:providers:")) {
        return { id: mockUuid("provider", urn), outputs: {} };
    }
    if (type.startsWith("azure-native:")) {
        return azureAnswer(type, name, urn, inputs);
    }
    if (type.startsWith("kubernetes:")) {
        const meta = inputs.metadata ?? {};
        const objectName = meta.name ?? name;
        return {
            id: meta.namespace ? `${meta.namespace}/${objectName}` : objectName,
            outputs:
                type === "kubernetes:helm.sh/v3:Release"
                    ? {
                          status: {
                              status: "deployed",
                              namespace: inputs.namespace,
                              name: inputs.name ?? name,
                              version: inputs.version,
                          },
                      }
                    : { metadata: { ...meta, name: objectName, uid: mockUuid("uid", urn) } },
        };
    }
    if (type === "random:index/randomPassword:RandomPassword") {
        return {
            id: "none",
            outputs: { result: mockPassword(urn, inputs), bcryptHash: `$2a$10$${digest("bcrypt", urn).slice(0, 53)}` },
        };
    }
    return { id: `${name}-id`, outputs: {} };
}

function azureAnswer(type: string, name: string, urn: string, inputs: Inputs): { id: string; outputs: Inputs } {
    const arm = ARM_TYPES[type];
    const rg = `/subscriptions/${MOCK_SUBSCRIPTION_ID}/resourceGroups/${inputs.resourceGroupName ?? "rg"}`;
    if (type === "azure-native:authorization:RoleAssignment") {
        const assignment = inputs.roleAssignmentName ?? mockUuid("role-assignment", urn);
        return {
            id: `${inputs.scope}/providers/Microsoft.Authorization/roleAssignments/${assignment}`,
            outputs: { name: assignment },
        };
    }
    if (!arm) {
        return { id: `${rg}/providers/mock/${type}/${name}`, outputs: { name } };
    }
    const ownName = inputs[arm.nameInput] ?? name;
    const id = arm.parent
        ? `${rg}/providers/${arm.parent.arm}/${inputs[arm.parent.nameInput]}/${arm.arm}/${ownName}`
        : `${rg}/providers/${arm.arm}/${ownName}`;
    const outputs: Inputs = { name: ownName };
    switch (type) {
        case "azure-native:keyvault:Vault":
            outputs.properties = { ...inputs.properties, vaultUri: `https://${ownName}.vault.azure.net/` };
            break;
        case "azure-native:keyvault:Secret": {
            const uri = `https://${inputs.vaultName}.vault.azure.net/secrets/${ownName}`;
            // The service never returns `properties.value`; a new value is a new version.
            const { value: _writeOnly, ...visible } = inputs.properties ?? {};
            outputs.properties = {
                ...visible,
                secretUri: uri,
                secretUriWithVersion: `${uri}/${digest("version", urn, String(inputs.properties?.value)).slice(0, 32)}`,
            };
            break;
        }
        case "azure-native:dbforpostgresql:Server":
            outputs.fullyQualifiedDomainName = `${ownName}.postgres.database.azure.com`;
            outputs.state = "Ready";
            break;
        case "azure-native:managedidentity:UserAssignedIdentity":
            outputs.clientId = mockUuid("client", urn);
            outputs.principalId = mockUuid("principal", urn);
            outputs.tenantId = MOCK_TENANT_ID;
            break;
    }
    return { id, outputs };
}

const LOWER = "abcdefghijklmnopqrstuvwxyz";
const UPPER = LOWER.toUpperCase();
const DIGITS = "0123456789";

/**
 * A password shaped like `random.RandomPassword` would make it: of the requested length and
 * character classes, and containing every special character allowed (so that tests exercise
 * escaping of each one). Derived from the URN and keepers: a keeper change yields a new value.
 */
export function mockPassword(urn: string, inputs: Inputs): string {
    const length: number = inputs.length ?? 16;
    const special: string = inputs.special === false ? "" : (inputs.overrideSpecial ?? "!@#$%&*()-_=+[]{}<>:?");
    const alphabet =
        (inputs.lower === false ? "" : LOWER) +
        (inputs.upper === false ? "" : UPPER) +
        (inputs.numeric === false ? "" : DIGITS) +
        special;
    const seed = digest(urn, JSON.stringify(inputs.keepers ?? {}));
    const chars: string[] = [...special].slice(0, Math.max(0, length - 3));
    let stream = seed;
    while (chars.length < length) {
        stream = digest(stream);
        for (let i = 0; i + 2 <= stream.length && chars.length < length; i += 2) {
            chars.push(alphabet[parseInt(stream.slice(i, i + 2), 16) % alphabet.length]);
        }
    }
    // Deterministic shuffle so special characters are not all at the start.
    for (let i = chars.length - 1; i > 0; i--) {
        stream = digest(stream, String(i));
        const j = parseInt(stream.slice(0, 8), 16) % (i + 1);
        [chars[i], chars[j]] = [chars[j], chars[i]];
    }
    return chars.join("");
}

/** The mock cluster's API server name, as AKS answers `fqdn` and writes it into its kubeconfigs. */
export function mockClusterFqdn(clusterName: string): string {
    return `${clusterName}-dns.hcp.westeurope.azmk8s.io`;
}

/** A kubeconfig as AKS returns it, pointing at a cluster that does not exist. */
export function mockKubeconfig(clusterName: string): string {
    return [
        "apiVersion: v1",
        "kind: Config",
        `clusters:\n- name: ${clusterName}\n  cluster:\n    server: https://${mockClusterFqdn(clusterName)}:443\n    certificate-authority-data: ${Buffer.from("mock-ca").toString("base64")}`,
        `users:\n- name: clusterUser_${clusterName}\n  user:\n    token: ${digest("token", clusterName).slice(0, 40)}`,
        `contexts:\n- name: ${clusterName}\n  context:\n    cluster: ${clusterName}\n    user: clusterUser_${clusterName}`,
        `current-context: ${clusterName}`,
        "",
    ].join("\n");
}

/**
 * The user kubeconfig of an Entra-ID (AAD-integrated) AKS cluster in exec format, as AKS returns it for
 * `format: exec`: kubelogin with the interactive device-code login (Azure/kubelogin docs/book/src/concepts/aks.md
 * for the server id, the AKS AAD server application).
 */
export function mockEntraKubeconfig(clusterName: string): string {
    const user = `clusterUser_${clusterName}`;
    return [
        "apiVersion: v1",
        "kind: Config",
        `clusters:\n- name: ${clusterName}\n  cluster:\n    server: https://${mockClusterFqdn(clusterName)}:443\n    certificate-authority-data: ${Buffer.from("mock-ca").toString("base64")}`,
        `users:\n- name: ${user}\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: kubelogin\n      args:\n      - get-token\n      - --environment\n      - AzurePublicCloud\n      - --server-id\n      - 6dae42f8-4368-4678-94ff-3960e28e3630\n      - --client-id\n      - 80faf920-1908-4b52-b5ef-a8e7bedfc67a\n      - --tenant-id\n      - ${MOCK_TENANT_ID}\n      - --login\n      - devicecode\n      env: null\n      installHint: kubelogin is not installed`,
        `contexts:\n- name: ${clusterName}\n  context:\n    cluster: ${clusterName}\n    user: ${user}`,
        `current-context: ${clusterName}`,
        "",
    ].join("\n");
}

/** The cluster-admin kubeconfig of a local-account cluster: a client certificate. */
export function mockAdminKubeconfig(clusterName: string): string {
    const user = `clusterAdmin_rg_${clusterName}`;
    return [
        "apiVersion: v1",
        "kind: Config",
        `clusters:\n- name: ${clusterName}\n  cluster:\n    server: https://${mockClusterFqdn(clusterName)}:443\n    certificate-authority-data: ${Buffer.from("mock-ca").toString("base64")}`,
        `users:\n- name: ${user}\n  user:\n    client-certificate-data: ${Buffer.from(`mock-cert-${clusterName}`).toString("base64")}\n    client-key-data: ${Buffer.from(`mock-key-${digest("admin", clusterName).slice(0, 16)}`).toString("base64")}`,
        `contexts:\n- name: ${clusterName}-admin\n  context:\n    cluster: ${clusterName}\n    user: ${user}`,
        `current-context: ${clusterName}-admin`,
        "",
    ].join("\n");
}

const base64 = (text: string) => Buffer.from(text).toString("base64");

/**
 * The Entra-ID (managed AAD) clusters of the mock subscription, by name; every other cluster name is a local-account
 * cluster (no Entra ID). `localAccounts: false` is `disableLocalAccounts`, which Azure allows only with Entra ID.
 */
export const MOCK_ENTRA_CLUSTERS: Readonly<Record<string, { localAccounts: boolean; azureRbac: boolean }>> = {
    "aks-entra": { localAccounts: false, azureRbac: true },
    "aks-entra-local": { localAccounts: true, azureRbac: false },
};

/** `aadProfile` and `disableLocalAccounts` of a mock cluster, as getManagedCluster answers them (absent: local accounts). */
function entraProfile(clusterName: string): Inputs {
    const entra = MOCK_ENTRA_CLUSTERS[clusterName];
    return entra
        ? {
              aadProfile: { managed: true, enableAzureRBAC: entra.azureRbac, tenantID: MOCK_TENANT_ID },
              disableLocalAccounts: !entra.localAccounts,
          }
        : {};
}

/** Answers to the invokes the program calls; `undefined` for any other token. */
export function invokeAnswer(token: string, inputs: Inputs): Inputs | undefined {
    switch (token) {
        case "azure-native:authorization:getClientConfig":
            return {
                clientId: MOCK_DEPLOYER_CLIENT_ID,
                objectId: MOCK_DEPLOYER_OBJECT_ID,
                subscriptionId: MOCK_SUBSCRIPTION_ID,
                tenantId: MOCK_TENANT_ID,
            };
        case "azure-native:containerservice:getManagedCluster":
            return {
                id: `/subscriptions/${MOCK_SUBSCRIPTION_ID}/resourceGroups/${inputs.resourceGroupName}/providers/Microsoft.ContainerService/managedClusters/${inputs.resourceName}`,
                name: inputs.resourceName,
                location: "westeurope",
                oidcIssuerProfile: {
                    enabled: true,
                    issuerURL: `https://westeurope.oic.prod-aks.azure.com/${MOCK_TENANT_ID}/${mockUuid("issuer", inputs.resourceName)}/`,
                },
                securityProfile: { workloadIdentity: { enabled: true } },
                fqdn: mockClusterFqdn(inputs.resourceName),
                ...entraProfile(inputs.resourceName),
            };
        case "azure-native:managedidentity:getUserAssignedIdentity":
            // The platform's identity, which a tenant stack looks up by name (its ids derived from that name here, not
            // from the platform run's URN: no test compares them across stacks).
            return {
                id: `/subscriptions/${MOCK_SUBSCRIPTION_ID}/resourceGroups/${inputs.resourceGroupName}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${inputs.resourceName}`,
                name: inputs.resourceName,
                location: "westeurope",
                clientId: mockUuid("client", inputs.resourceName),
                principalId: mockUuid("principal", inputs.resourceName),
                tenantId: MOCK_TENANT_ID,
            };
        case "azure-native:keyvault:getVault":
            // An adoptable vault: RBAC authorization on, purge protection on.
            return {
                id: `/subscriptions/${MOCK_SUBSCRIPTION_ID}/resourceGroups/${inputs.resourceGroupName}/providers/Microsoft.KeyVault/vaults/${inputs.vaultName}`,
                name: inputs.vaultName,
                type: "Microsoft.KeyVault/vaults",
                location: "westeurope",
                properties: {
                    tenantId: MOCK_TENANT_ID,
                    sku: { family: "A", name: "standard" },
                    enableRbacAuthorization: true,
                    enableSoftDelete: true,
                    softDeleteRetentionInDays: 90,
                    enablePurgeProtection: true,
                    publicNetworkAccess: "Disabled",
                    vaultUri: `https://${inputs.vaultName}.vault.azure.net/`,
                },
            };
        case "azure-native:containerservice:listManagedClusterUserCredentials":
            // An Entra-ID cluster answers its kubelogin exec config (the default format since Kubernetes 1.24, AKS
            // Entra integration docs); a local-account cluster a token, whatever format is asked for (`format` applies
            // to Entra-ID clusters only).
            return {
                kubeconfigs: [
                    {
                        name: "clusterUser",
                        value: base64(
                            MOCK_ENTRA_CLUSTERS[inputs.resourceName]
                                ? mockEntraKubeconfig(inputs.resourceName)
                                : mockKubeconfig(inputs.resourceName),
                        ),
                    },
                ],
            };
        case "azure-native:containerservice:listManagedClusterAdminCredentials":
            if (MOCK_ENTRA_CLUSTERS[inputs.resourceName]?.localAccounts === false) {
                // What AKS answers (ManagedCluster.DisableLocalAccounts: "getting static credentials will be disabled").
                throw new Error(
                    "BadRequest: Getting static credential is not allowed because this cluster is set to disable local accounts.",
                );
            }
            return { kubeconfigs: [{ name: "clusterAdmin", value: base64(mockAdminKubeconfig(inputs.resourceName)) }] };
        default:
            return undefined;
    }
}
