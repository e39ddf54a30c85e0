/** Reading Kubernetes objects as the policies see them: pod templates, containers, label selectors, text. */
import type { Unwrap } from "@pulumi/pulumi";
import type * as k8s from "@pulumi/kubernetes/types/input";

export type PodSpec = Unwrap<k8s.core.v1.PodSpec>;
export type Container = Unwrap<k8s.core.v1.Container>;
export type LabelSelector = Unwrap<k8s.meta.v1.LabelSelector>;
export type ObjectMeta = Unwrap<k8s.meta.v1.ObjectMeta>;

export const TYPES = {
    pod: "kubernetes:core/v1:Pod",
    deployment: "kubernetes:apps/v1:Deployment",
    statefulSet: "kubernetes:apps/v1:StatefulSet",
    daemonSet: "kubernetes:apps/v1:DaemonSet",
    replicaSet: "kubernetes:apps/v1:ReplicaSet",
    job: "kubernetes:batch/v1:Job",
    cronJob: "kubernetes:batch/v1:CronJob",
    configMap: "kubernetes:core/v1:ConfigMap",
    secret: "kubernetes:core/v1:Secret",
    pvc: "kubernetes:core/v1:PersistentVolumeClaim",
    pvcPatch: "kubernetes:core/v1:PersistentVolumeClaimPatch",
    networkPolicy: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    pdb: "kubernetes:policy/v1:PodDisruptionBudget",
    sgCluster: "kubernetes:stackgres.io/v1:SGCluster",
    sgPostgresConfig: "kubernetes:stackgres.io/v1:SGPostgresConfig",
    sgPoolingConfig: "kubernetes:stackgres.io/v1:SGPoolingConfig",
} as const;

/**
 * Annotation pulumi-kubernetes reads, from the object as the state holds it, when it deletes that object, on its own
 * or to replace it: the propagation of the delete, foreground when absent (pulumi-kubernetes v4.32
 * `provider/pkg/metadata/overrides.go` `DeletionPropagation`, `provider/pkg/await/await.go` `Deletion`, the old inputs
 * from `provider.go` `Delete`; since 4.12.0, pulumi/pulumi-kubernetes#3011).
 */
export const DELETION_PROPAGATION_ANNOTATION = "pulumi.com/deletionPropagationPolicy";

/**
 * Whether deleting this StatefulSet, on its own or to replace it, keeps its pods and its volumes: its delete orphans
 * the pods (they keep running, and the next StatefulSet with their selector adopts them), and its claims outlive it
 * (`persistentVolumeClaimRetentionPolicy.whenDeleted` unset or `Retain`, Kubernetes' default).
 */
export function keepsPodsAndVolumes(statefulSet: Record<string, any>): boolean {
    const policy = statefulSet.metadata?.annotations?.[DELETION_PROPAGATION_ANNOTATION];
    const whenDeleted = statefulSet.spec?.persistentVolumeClaimRetentionPolicy?.whenDeleted ?? "Retain";
    return String(policy).toLowerCase() === "orphan" && whenDeleted === "Retain";
}

/** A workload's pod template (spec and labels). */
export interface PodTemplate {
    readonly spec: PodSpec;
    readonly labels: Record<string, string>;
}

/** The pod template of a Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob; undefined for other types. */
export function podTemplateOf(type: string, props: Record<string, any>): PodTemplate | undefined {
    switch (type) {
        case TYPES.pod:
            return { spec: props.spec ?? {}, labels: props.metadata?.labels ?? {} };
        case TYPES.deployment:
        case TYPES.statefulSet:
        case TYPES.daemonSet:
        case TYPES.replicaSet:
        case TYPES.job:
            return { spec: props.spec?.template?.spec ?? {}, labels: props.spec?.template?.metadata?.labels ?? {} };
        case TYPES.cronJob: {
            const template = props.spec?.jobTemplate?.spec?.template;
            return { spec: template?.spec ?? {}, labels: template?.metadata?.labels ?? {} };
        }
        default:
            return undefined;
    }
}

/** Every container of a pod: init, regular and ephemeral. */
export function containersOf(spec: PodSpec): Container[] {
    return [
        ...(spec.initContainers ?? []),
        ...(spec.containers ?? []),
        ...((spec.ephemeralContainers ?? []) as Container[]),
    ];
}

/** Names of the Secrets a pod reads: secret and projected volumes, `secretKeyRef` env and `secretRef` envFrom. */
export function secretsOf(spec: PodSpec): Set<string> {
    const names = [
        ...(spec.volumes ?? []).flatMap((v) => [
            v.secret?.secretName,
            ...(v.projected?.sources ?? []).map((s) => s.secret?.name),
        ]),
        ...containersOf(spec).flatMap((c) => [
            ...(c.env ?? []).map((e) => e.valueFrom?.secretKeyRef?.name),
            ...(c.envFrom ?? []).map((e) => e.secretRef?.name),
        ]),
    ];
    return new Set(names.filter((n): n is string => typeof n === "string"));
}

/** True when the selector selects an object with these labels (an empty selector selects everything). */
export function selects(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
    if (!selector) {
        return false;
    }
    const matchLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
    const matchExpressions = (selector.matchExpressions ?? []).every((e) => {
        const has = Object.prototype.hasOwnProperty.call(labels, e.key);
        switch (e.operator) {
            case "In":
                return has && (e.values ?? []).includes(labels[e.key]);
            case "NotIn":
                return !has || !(e.values ?? []).includes(labels[e.key]);
            case "Exists":
                return has;
            case "DoesNotExist":
                return !has;
            default:
                return false;
        }
    });
    return matchLabels && matchExpressions;
}

/** Every string inside a value, with its property path (for messages). */
export function* stringsIn(value: unknown, path = ""): Iterable<{ path: string; text: string }> {
    if (typeof value === "string") {
        yield { path, text: value };
    } else if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
            yield* stringsIn(value[i], `${path}[${i}]`);
        }
    } else if (value !== null && typeof value === "object") {
        for (const [k, v] of Object.entries(value)) {
            yield* stringsIn(v, path ? `${path}.${k}` : k);
        }
    }
}

/** `namespace/name` of an object, for messages. */
export function objectRef(props: Record<string, any>, fallback: string): string {
    const meta: ObjectMeta = props.metadata ?? {};
    return meta.namespace ? `${meta.namespace}/${meta.name ?? fallback}` : `${meta.name ?? fallback}`;
}

/** Names of environment variables, ConfigMap keys and the like that hold a credential. References to one
 *  (`*_FILE`, `*_PATH`, `*_NAME`, ...) are not credentials. */
const CREDENTIAL_NAME =
    /(^|[_.-])(password|passwd|pwd|secret|token|credentials?|api[_-]?key|private[_-]?key|access[_-]?key|auth|sas)($|[_.-])/i;
const REFERENCE_SUFFIX = /[_.-](file|path|dir|name|ref|id|mode|type|user(name)?|uri|url|host|port)$/i;

export function isCredentialName(name: string): boolean {
    return CREDENTIAL_NAME.test(name) && !REFERENCE_SUFFIX.test(name);
}

/** A literal value (not a `$VAR`, `$(...)`, `${...}`, `{{ template }}`, `<placeholder>` or printf `%s` reference). */
const LITERAL = String.raw`(?!["']?(?:\$|\{\{|<|%))\S+`;

/** Credentials written out in text: what each pattern catches, for the message. */
const CREDENTIAL_PATTERNS: readonly { what: string; pattern: RegExp }[] = [
    {
        what: "a URL with a password",
        pattern: new RegExp(String.raw`[a-z][a-z0-9+.-]*://[^\s:@/]+:(?!["']?(?:\$|\{\{|\*))[^\s@/]+@`, "i"),
    },
    { what: "a private key", pattern: /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/ },
    {
        what: "a Redis requirepass/masterauth password",
        pattern: new RegExp(String.raw`^\s*(?:requirepass|masterauth)\s+${LITERAL}`, "mi"),
    },
    {
        what: "a Sentinel auth-pass password",
        pattern: new RegExp(String.raw`^\s*sentinel\s+auth-pass\s+\S+\s+${LITERAL}`, "mi"),
    },
    { what: "a Redis ACL password (>password)", pattern: /^\s*user\s+\S+.*\s>(?!\$|\{\{)\S+/im },
    { what: "a SQL PASSWORD literal", pattern: /\bPASSWORD\s+'[^']+'/i },
    { what: "a libpq password= setting", pattern: new RegExp(String.raw`\bpassword\s*=\s*${LITERAL}`, "i") },
];

/** What kind of credential the text contains, or undefined. */
export function credentialIn(text: string): string | undefined {
    return CREDENTIAL_PATTERNS.find((p) => p.pattern.test(text))?.what;
}
