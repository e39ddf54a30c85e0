/**
 * What the RBAC objects of a resource graph let subjects do in a namespace: the Roles bound there, the ClusterRoles
 * bound there or cluster-wide, and the built-in roles they may name. Shared by the policy pack and the unit tests.
 */
import type { GraphResource } from "./secretReach";

const RBAC = "kubernetes:rbac.authorization.k8s.io/v1";
const RBAC_TYPES = {
    role: `${RBAC}:Role`,
    clusterRole: `${RBAC}:ClusterRole`,
    roleBinding: `${RBAC}:RoleBinding`,
    clusterRoleBinding: `${RBAC}:ClusterRoleBinding`,
} as const;

interface PolicyRule {
    readonly apiGroups?: readonly string[];
    readonly resources?: readonly string[];
    readonly verbs?: readonly string[];
}

/** A right on a resource: any of `verbs` on `group`/`resource`. */
interface Right {
    readonly group: string;
    readonly resource: string;
    readonly verbs: readonly string[];
}

const CHANGE = ["create", "update", "patch"];

/**
 * The rights that give away the value of a Secret of the namespace: reading it, or running or entering a pod there
 * (the kubelet mounts any Secret of its namespace into any pod of it, whatever the pod's own rights). `resourceNames`
 * are ignored: a name-limited `get` still reads that Secret, and `create` cannot be limited by name.
 */
export const SECRET_REVEALING: readonly Right[] = [
    { group: "", resource: "secrets", verbs: ["get", "list", "watch"] },
    // A pod's image can be changed in place, and exec or attach enters a pod that mounts the Secret.
    { group: "", resource: "pods", verbs: CHANGE },
    { group: "", resource: "pods/exec", verbs: ["create", "get"] },
    { group: "", resource: "pods/attach", verbs: ["create", "get"] },
    { group: "", resource: "pods/ephemeralcontainers", verbs: ["update", "patch"] },
    { group: "", resource: "replicationcontrollers", verbs: CHANGE },
    ...["deployments", "replicasets", "statefulsets", "daemonsets"].map((resource) => ({
        group: "apps",
        resource,
        verbs: CHANGE,
    })),
    ...["jobs", "cronjobs"].map((resource) => ({ group: "batch", resource, verbs: CHANGE })),
];

/** What the docs say `edit` (and `admin`, which aggregates it) allows: "accessing Secrets and running Pods". */
const EDIT: readonly PolicyRule[] = [
    { apiGroups: [""], resources: ["secrets"], verbs: ["get", "list", "watch"] },
    { apiGroups: [""], resources: ["pods"], verbs: ["create"] },
];

/**
 * Built-in ClusterRoles a binding may name without the graph defining them, with what they grant of the rights above
 * (kubernetes.io/docs/reference/access-authn-authz/rbac, "User-facing roles"): `cluster-admin` everything; `admin`
 * and `edit` at least Secrets and pods, as documented; `view` neither.
 */
const BUILT_IN: Readonly<Record<string, readonly PolicyRule[]>> = {
    "cluster-admin": [{ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }],
    admin: EDIT,
    edit: EDIT,
    view: [],
};

function matches(list: readonly string[] | undefined, value: string): boolean {
    return (list ?? []).some((x) => x === "*" || x === value);
}

/** The rights of `rights` that `rules` grant, one `verb/verb group/resource` each (the core group written `core`). */
export function grantedOf(rules: readonly PolicyRule[], rights: readonly Right[]): string[] {
    return rights.flatMap((right) => {
        const verbs = right.verbs.filter((verb) =>
            rules.some(
                (rule) =>
                    matches(rule.apiGroups, right.group) &&
                    matches(rule.resources, right.resource) &&
                    matches(rule.verbs, verb),
            ),
        );
        return verbs.length === 0 ? [] : [`${verbs.join("/")} ${right.group || "core"}/${right.resource}`];
    });
}

/** A binding that reaches `namespace` and what its role grants of `rights`. */
export interface Grant {
    readonly binding: string;
    readonly role: string;
    readonly subjects: string[];
    /** The rights granted, or undefined when the role is neither in the graph nor built in (nothing bounds it). */
    readonly granted: string[] | undefined;
}

const metaOf = (r: GraphResource) => r.props.metadata ?? {};

/** Every binding that applies in `namespace` (RoleBindings there, ClusterRoleBindings) and what it grants of `rights`. */
export function grantsIn(resources: readonly GraphResource[], namespace: string, rights: readonly Right[]): Grant[] {
    const rulesOf = (kind: string, name: string): readonly PolicyRule[] | undefined => {
        const role = resources.find((r) =>
            kind === "Role"
                ? r.type === RBAC_TYPES.role && metaOf(r).name === name && metaOf(r).namespace === namespace
                : r.type === RBAC_TYPES.clusterRole && metaOf(r).name === name,
        );
        return role ? (role.props.rules ?? []) : kind === "ClusterRole" ? BUILT_IN[name] : undefined;
    };
    return resources
        .filter(
            (r) =>
                r.type === RBAC_TYPES.clusterRoleBinding ||
                (r.type === RBAC_TYPES.roleBinding && metaOf(r).namespace === namespace),
        )
        .map((b) => {
            const ref = b.props.roleRef ?? {};
            const rules = rulesOf(ref.kind, ref.name);
            return {
                binding: `${b.type.split(":").pop()} ${[metaOf(b).namespace, metaOf(b).name ?? b.name].filter(Boolean).join("/")}`,
                role: `${ref.kind} ${ref.name}`,
                subjects: (b.props.subjects ?? []).map((s: { kind?: string; name?: string; namespace?: string }) =>
                    [s.kind, [s.namespace, s.name].filter(Boolean).join("/")].join(" "),
                ),
                granted: rules === undefined ? undefined : grantedOf(rules, rights),
            };
        });
}

/** ClusterRoles of the graph aggregated into a built-in role (whoever holds that role then gets their rules). */
export function aggregatedRoles(resources: readonly GraphResource[]): GraphResource[] {
    return resources.filter(
        (r) =>
            r.type === RBAC_TYPES.clusterRole &&
            Object.entries(metaOf(r).labels ?? {}).some(
                ([k, v]) => k.startsWith("rbac.authorization.k8s.io/aggregate-to-") && v === "true",
            ),
    );
}
