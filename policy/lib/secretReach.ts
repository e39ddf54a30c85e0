/**
 * Which Key Vault secrets each namespace can read through External Secrets, from a resource graph: the stores usable
 * in the namespace, the service account each store requests tokens for, the managed identities federated with that
 * account, and those identities' role assignments. Shared by the policy pack and the unit tests.
 */

/** A resource as a stack policy sees it (its outputs). */
export interface GraphResource {
    readonly type: string;
    readonly name: string;
    readonly props: Record<string, any>;
}

/** Stands for "every secret of the vault": a role on the vault (or wider), or a store reading as the operator pod. */
export const WHOLE_VAULT = "*";

const STORE = "kubernetes:external-secrets.io/v1:SecretStore";
const CLUSTER_STORE = "kubernetes:external-secrets.io/v1:ClusterSecretStore";
const IDENTITY = "azure-native:managedidentity:UserAssignedIdentity";
const FEDERATION = "azure-native:managedidentity:FederatedIdentityCredential";
const ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment";
const SECRET_SCOPE = /\/providers\/Microsoft\.KeyVault\/vaults\/[^/]+\/secrets\/([^/]+)$/i;

/** Every namespace the graph names: created, adopted, or holding an object. */
export function namespacesOf(resources: readonly GraphResource[]): string[] {
    const names = new Set<string>();
    for (const r of resources) {
        if (r.type === "kubernetes:core/v1:Namespace" || r.type === "kubernetes:core/v1:NamespacePatch") {
            names.add(r.props.metadata?.name);
        } else if (r.type.startsWith("kubernetes:") && r.props.metadata?.namespace) {
            names.add(r.props.metadata.namespace);
        }
    }
    return [...names].filter(Boolean).sort();
}

/** The namespaces a ClusterSecretStore serves: by name only; no conditions, a selector or a regex mean any. */
function servedBy(store: GraphResource, all: readonly string[]): readonly string[] {
    const conditions: any[] = store.props.spec?.conditions ?? [];
    if (conditions.length === 0 || conditions.some((c) => c.namespaceSelector || c.namespaceRegexes)) {
        return all;
    }
    return conditions.flatMap((c) => c.namespaces ?? []);
}

/** Secrets readable by whoever federates with service account `namespace/name`. */
function readableAs(resources: readonly GraphResource[], namespace: string, name: string): Set<string> {
    const subject = `system:serviceaccount:${namespace}:${name}`;
    const identities = new Set(
        resources.filter((r) => r.type === FEDERATION && r.props.subject === subject).map((r) => r.props.resourceName),
    );
    const principals = new Set(
        resources
            .filter((r) => r.type === IDENTITY && identities.has(r.props.resourceName ?? r.props.name))
            .map((r) => r.props.principalId),
    );
    const secrets = new Set<string>();
    for (const ra of resources.filter((r) => r.type === ROLE_ASSIGNMENT && principals.has(r.props.principalId))) {
        secrets.add(SECRET_SCOPE.exec(String(ra.props.scope ?? ""))?.[1] ?? WHOLE_VAULT);
    }
    return secrets;
}

/** Namespace -> the vault secrets its ExternalSecrets could read through any store usable there. */
export function secretReach(resources: readonly GraphResource[]): Map<string, Set<string>> {
    const all = namespacesOf(resources);
    const reach = new Map(all.map((ns) => [ns, new Set<string>()]));
    const grant = (ns: string, secrets: Iterable<string>) => {
        const set = reach.get(ns) ?? new Set<string>();
        for (const s of secrets) {
            set.add(s);
        }
        reach.set(ns, set);
    };
    for (const store of resources.filter((r) => r.type === STORE || r.type === CLUSTER_STORE)) {
        const users = store.type === STORE ? [store.props.metadata?.namespace] : servedBy(store, all);
        const account = store.props.spec?.provider?.azurekv?.serviceAccountRef;
        for (const ns of users) {
            if (!account) {
                // Without serviceAccountRef ESO reads as its own pod's identity, which this graph cannot bound.
                grant(ns, [WHOLE_VAULT]);
            } else {
                // A namespaced store's account is always in its namespace; a cluster store's without a namespace is
                // looked up in each ExternalSecret's namespace (ESO's "referent" authentication).
                const accountNamespace = (store.type === CLUSTER_STORE && account.namespace) || ns;
                grant(ns, readableAs(resources, accountNamespace, account.name));
            }
        }
    }
    return reach;
}
