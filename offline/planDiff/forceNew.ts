/**
 * Which input changes a provider cannot apply in place (the resource is replaced instead), as property paths in
 * the plan's notation; `[*]` stands for any array index. Pure data and lookups.
 */

/**
 * Kubernetes, from pulumi-kubernetes' own table: `forceNew` and `forceNewProperties` in
 * provider/pkg/provider/diff.go (pulumi/pulumi-kubernetes 94977969, v4.32+). Paths whose prefix is already listed
 * (`.spec.selector.matchLabels` under `.spec.selector`, `.env.value` under `.env`) are left out. Kinds of other
 * groups and versions (custom resources such as SGCluster, policy/v1 PodDisruptionBudget) have no entry: only
 * their identity (name, namespace) forces a replacement.
 */
const CONTAINER_FIELDS = [
    "args",
    "command",
    "env",
    "image",
    "imagePullPolicy",
    "lifecycle",
    "livenessProbe",
    "ports",
    "readinessProbe",
    "resources",
    "securityContext",
    "stdin",
    "stdinOnce",
    "terminationMessagePath",
    "terminationMessagePolicy",
    "tty",
    "volumeDevices",
    "volumeMounts",
    "workingDir",
];
const STATEFUL_SET = [
    "spec.podManagementPolicy",
    "spec.revisionHistoryLimit",
    "spec.selector",
    "spec.serviceName",
    "spec.volumeClaimTemplates",
];
const ROLE_BINDING = ["roleRef"];
const JOB = ["spec.completions", "spec.parallelism", "spec.selector", "spec.template"];
const PERSISTENT_VOLUME_SOURCES = [
    "awsElasticBlockStore",
    "azureDisk",
    "azureFile",
    "cephfs",
    "cinder",
    "csi",
    "fc",
    "flexVolume",
    "flocker",
    "gcePersistentDisk",
    "glusterfs",
    "hostPath",
    "iscsi",
    "local",
    "nfs",
    "photonPersistentDisk",
    "portworxVolume",
    "quobyte",
    "rbd",
    "scaleIO",
    "storageos",
    "vsphereVolume",
];
const POD_SPEC_FIELDS = [
    "affinity",
    "automountServiceAccountToken",
    "dnsConfig",
    "dnsPolicy",
    "enableServiceLinks",
    "hostAliases",
    "hostIPC",
    "hostNetwork",
    "hostPID",
    "hostname",
    "imagePullSecrets",
    "nodeName",
    "nodeSelector",
    "overhead",
    "preemptionPolicy",
    "priority",
    "priorityClassName",
    "readinessGates",
    "restartPolicy",
    "runtimeClassName",
    "schedulerName",
    "securityContext",
    "serviceAccount",
    "serviceAccountName",
    "shareProcessNamespace",
    "subdomain",
    "terminationGracePeriodSeconds",
    "volumes",
];

/** `<group>/<version>:<Kind>` (core as in type tokens) -> force-new paths. */
const KUBERNETES_FORCE_NEW: Record<string, readonly string[]> = {
    "apps/v1beta1:StatefulSet": STATEFUL_SET,
    "apps/v1beta2:DaemonSet": ["spec.selector"],
    "apps/v1beta2:Deployment": ["spec.selector"],
    "apps/v1beta2:StatefulSet": STATEFUL_SET,
    "apps/v1:DaemonSet": ["spec.selector"],
    "apps/v1:Deployment": ["spec.selector"],
    "apps/v1:StatefulSet": STATEFUL_SET,
    "core/v1:PersistentVolume": PERSISTENT_VOLUME_SOURCES.map((s) => `spec.${s}`),
    "core/v1:PersistentVolumeClaim": ["spec.accessModes", "spec.selector", "spec.storageClassName", "spec.volumeName"],
    "core/v1:Pod": [
        ...POD_SPEC_FIELDS.map((f) => `spec.${f}`),
        ...["containers", "initContainers"].flatMap((list) => CONTAINER_FIELDS.map((f) => `spec.${list}[*].${f}`)),
    ],
    "core/v1:ResourceQuota": ["spec.scopes"],
    "core/v1:Secret": ["type"],
    "core/v1:Service": ["spec.clusterIP"],
    "policy/v1beta1:PodDisruptionBudget": ["spec"],
    "rbac.authorization.k8s.io/v1alpha1:ClusterRoleBinding": ROLE_BINDING,
    "rbac.authorization.k8s.io/v1alpha1:RoleBinding": ROLE_BINDING,
    "rbac.authorization.k8s.io/v1beta1:ClusterRoleBinding": ROLE_BINDING,
    "rbac.authorization.k8s.io/v1beta1:RoleBinding": ROLE_BINDING,
    "rbac.authorization.k8s.io/v1:ClusterRoleBinding": ROLE_BINDING,
    "rbac.authorization.k8s.io/v1:RoleBinding": ROLE_BINDING,
    "storage.k8s.io/v1:StorageClass": ["parameters", "provisioner"],
    "batch/v1beta1:Job": JOB,
    "batch/v1:Job": JOB,
    "batch/v2alpha1:Job": JOB,
};

/** Changing the identity of an object always replaces it (diff.go `metadataForceNewProperties`). */
const KUBERNETES_IDENTITY = ["metadata.name", "metadata.namespace"];

/** The Helm release's identity (`forceNewFields` in provider/pkg/provider/helm_release.go). */
const HELM_RELEASE = ["name", "namespace"];

/** The switches of the Kubernetes provider that make ConfigMap and Secret data mutable (both default false). */
export interface KubernetesProviderSwitches {
    readonly enableConfigMapMutable: boolean;
    readonly enableSecretMutable: boolean;
}

/** Path parameters and create-only properties (x-ms-mutability without `update`) of the azure-native resources. */
const AZURE_FORCE_NEW: Record<string, readonly string[]> = {
    "azure-native:dbforpostgresql:Server": [
        "serverName",
        "administratorLogin",
        "availabilityZone",
        "backup.geoRedundantBackup",
        "network.delegatedSubnetResourceId",
        "network.privateDnsZoneArmResourceId",
        "createMode",
        "pointInTimeUTC",
        "sourceServerResourceId",
    ],
    "azure-native:dbforpostgresql:Database": ["databaseName", "serverName", "charset", "collation"],
    "azure-native:dbforpostgresql:Configuration": ["configurationName", "serverName"],
    "azure-native:dbforpostgresql:FirewallRule": ["firewallRuleName", "serverName"],
    "azure-native:keyvault:Vault": ["vaultName"],
    "azure-native:keyvault:Secret": ["secretName", "vaultName"],
    "azure-native:managedidentity:UserAssignedIdentity": ["resourceName"],
    "azure-native:managedidentity:FederatedIdentityCredential": [
        "federatedIdentityCredentialResourceName",
        "resourceName",
    ],
    "azure-native:authorization:RoleAssignment": ["scope", "principalId", "roleDefinitionId", "roleAssignmentName"],
};

/** An Azure resource lives in its resource group and region: moving it means a new resource. */
const AZURE_IDENTITY = ["resourceGroupName", "location"];

export const RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword";

/** The force-new paths of a custom resource; `""` covers every input. */
export function forceNewPaths(
    type: string,
    inputs: Record<string, any>,
    provider: KubernetesProviderSwitches,
): readonly string[] {
    if (type === RANDOM_PASSWORD) {
        // Every input of a generated value is a keeper: a change regenerates the password.
        return [""];
    }
    if (type.startsWith("azure-native:")) {
        return [...AZURE_IDENTITY, ...(AZURE_FORCE_NEW[type] ?? [])];
    }
    if (type === "kubernetes:helm.sh/v3:Release") {
        return HELM_RELEASE;
    }
    if (!type.startsWith("kubernetes:")) {
        return [];
    }
    const kind = type.slice("kubernetes:".length);
    const immutable = inputs.immutable === true;
    // diff.go checks Secret before the kind table, ConfigMap only when the kind has no entry.
    if (kind === "core/v1:Secret" && (!provider.enableSecretMutable || immutable)) {
        return [...KUBERNETES_IDENTITY, "type", "stringData", "data"];
    }
    if (kind in KUBERNETES_FORCE_NEW) {
        return [...KUBERNETES_IDENTITY, ...KUBERNETES_FORCE_NEW[kind]];
    }
    if (kind === "core/v1:ConfigMap" && (!provider.enableConfigMapMutable || immutable)) {
        return [...KUBERNETES_IDENTITY, "binaryData", "data"];
    }
    return KUBERNETES_IDENTITY;
}

function pattern(prefix: string): RegExp {
    const escaped = prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/\\\[\\\*\\\]/g, "\\[\\d+\\]");
    return new RegExp(`^${escaped}(?=$|\\.|\\[)`);
}

/** True when `path` is at or below `prefix` (`""` covers everything; `[*]` matches any index). */
export function isUnder(path: string, prefix: string): boolean {
    return prefix === "" || prefix === "*" || pattern(prefix).test(path);
}

/**
 * True when a change at `path` touches a property at `prefix`: at or below it, or above it (an array whose length
 * changed, a whole object added or removed).
 */
export function touches(path: string, prefix: string): boolean {
    return isUnder(path, prefix) || (path !== "" && isUnder(prefix.replace(/\[\*\]/g, "[0]"), path));
}
