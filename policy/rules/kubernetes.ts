/** Kubernetes rules: pod security, resources, images, credentials, network isolation, disruption budgets, Sentinel, ESO API. */
import type {
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import {
    Container,
    PodSpec,
    TYPES,
    containersOf,
    credentialIn,
    isCredentialName,
    objectRef,
    podTemplateOf,
    selects,
    stringsIn,
} from "../lib/k8s";
import { EnvironmentSettings, isProduction, schema, settingsOf } from "../lib/settings";

/** The pod template of a workload, or not-applicable for every other type. */
function workload(args: ResourceValidationArgs): { spec: PodSpec; ref: string } {
    const template = podTemplateOf(args.type, args.props);
    if (!template) {
        args.notApplicable("not a workload with a pod template");
    }
    return { spec: template.spec, ref: `${args.type.split(":").pop()} ${objectRef(args.props, args.name)}` };
}

const ALLOWED_VOLUME_SOURCES = [
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];
const SECURE_SECCOMP = ["RuntimeDefault", "Localhost"];

/** The restricted Pod Security Standard (kubernetes.io/docs/concepts/security/pod-security-standards), checked before admission does. */
export const podSecurityRestricted: ResourceValidationPolicy = {
    name: "k8s-pod-security-restricted",
    description:
        "Every pod template meets the restricted Pod Security Standard (the app namespaces enforce it at admission).",
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: (args, report) => {
        const { spec, ref } = workload(args);
        const podSc = spec.securityContext ?? {};
        for (const ns of ["hostNetwork", "hostPID", "hostIPC"] as const) {
            if (spec[ns]) {
                report(`${ref}: ${ns} is true; restricted pods may not share the host's namespaces.`);
            }
        }
        for (const volume of spec.volumes ?? []) {
            const sources = Object.keys(volume).filter((k) => k !== "name");
            const bad = sources.filter((s) => !ALLOWED_VOLUME_SOURCES.includes(s));
            if (bad.length > 0) {
                report(
                    `${ref}: volume "${volume.name}" uses ${bad.join(", ")}; restricted pods may only use ${ALLOWED_VOLUME_SOURCES.join(", ")}.`,
                );
            }
        }
        for (const c of containersOf(spec)) {
            const sc = c.securityContext ?? {};
            const where = `${ref} container "${c.name}"`;
            if (sc.privileged) {
                report(`${where} is privileged.`);
            }
            if (sc.allowPrivilegeEscalation !== false) {
                report(`${where}: set securityContext.allowPrivilegeEscalation to false.`);
            }
            if (!(sc.capabilities?.drop ?? []).includes("ALL")) {
                report(`${where}: securityContext.capabilities.drop must include "ALL".`);
            }
            const added = (sc.capabilities?.add ?? []).filter((cap) => cap !== "NET_BIND_SERVICE");
            if (added.length > 0) {
                report(`${where} adds capabilities ${added.join(", ")}; only NET_BIND_SERVICE is allowed.`);
            }
            if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true) {
                report(`${where}: runAsNonRoot must be true (on the container or the pod).`);
            }
            if ((sc.runAsUser ?? podSc.runAsUser) === 0) {
                report(`${where} runs as user 0 (root).`);
            }
            const seccomp = sc.seccompProfile?.type ?? podSc.seccompProfile?.type;
            if (!seccomp || !SECURE_SECCOMP.includes(seccomp)) {
                report(
                    `${where}: seccompProfile.type must be RuntimeDefault or Localhost (on the container or the pod), is ${seccomp ?? "unset"}.`,
                );
            }
            for (const port of c.ports ?? []) {
                if (port.hostPort) {
                    report(`${where} binds host port ${port.hostPort}.`);
                }
            }
        }
    },
};

const resourcesSchema = schema({
    requireCpuLimit: { type: "boolean", default: true, description: "Require a CPU limit besides the CPU request." },
});

export const containerResources: ResourceValidationPolicy = {
    name: "k8s-container-resources",
    description:
        "Every container sets CPU and memory requests and limits (the scheduler and the node's OOM killer rely on them).",
    enforcementLevel: "mandatory",
    severity: "medium",
    configSchema: resourcesSchema,
    validateResource: (args, report) => {
        const { spec, ref } = workload(args);
        const { requireCpuLimit } = settingsOf<{ requireCpuLimit: boolean }>(args, resourcesSchema);
        for (const c of containersOf(spec)) {
            const missing = [
                ...(["cpu", "memory"] as const)
                    .filter((r) => c.resources?.requests?.[r] === undefined)
                    .map((r) => `requests.${r}`),
                ...(requireCpuLimit ? (["cpu", "memory"] as const) : (["memory"] as const))
                    .filter((r) => c.resources?.limits?.[r] === undefined)
                    .map((r) => `limits.${r}`),
            ];
            if (missing.length > 0) {
                report(`${ref} container "${c.name}" sets no resources.${missing.join(", resources.")}.`);
            }
        }
    },
};

/** `name[:tag][@digest]` split at the last `:` after the last `/` (a registry port is not a tag). */
function imageParts(image: string): { tag?: string; digest?: string } {
    const [nameAndTag, digest] = image.split("@", 2);
    const lastSlash = nameAndTag.lastIndexOf("/");
    const colon = nameAndTag.indexOf(":", lastSlash + 1);
    return { tag: colon >= 0 ? nameAndTag.slice(colon + 1) : undefined, digest };
}

function images(args: ResourceValidationArgs): { c: Container; ref: string; tag?: string; digest?: string }[] {
    const { spec, ref } = workload(args);
    return containersOf(spec).map((c) => ({ c, ref, ...imageParts(c.image ?? "") }));
}

export const imagePinned: ResourceValidationPolicy = {
    name: "k8s-image-pinned",
    description:
        "Every container image names an explicit tag other than `latest` (or a digest), so a redeploy runs the same code.",
    enforcementLevel: "mandatory",
    severity: "medium",
    validateResource: (args, report) => {
        for (const { c, ref, tag, digest } of images(args)) {
            if (!c.image) {
                report(`${ref} container "${c.name}" has no image.`);
            } else if (!digest && (tag === undefined || tag === "latest")) {
                report(
                    `${ref} container "${c.name}" uses image "${c.image}" ${tag ? "tagged latest" : "without a tag"}; pin a version tag or a digest.`,
                );
            }
        }
    },
};

const digestSchema = schema({}, true);

/** Advisory until the production stack pins digests (`<image>:<tag>@sha256:...` in Pulumi.prod.yaml); raise it with
 *  `--policy-pack-config` (`{"k8s-image-digest-in-production": "mandatory"}`) from then on. */
export const imageDigestInProduction: ResourceValidationPolicy = {
    name: "k8s-image-digest-in-production",
    description: "In production every container image is pinned by digest (tags can be moved; digests cannot).",
    enforcementLevel: "advisory",
    severity: "medium",
    configSchema: digestSchema,
    validateResource: (args, report) => {
        const settings = settingsOf<EnvironmentSettings>(args, digestSchema);
        if (!isProduction(args, settings, args.urn)) {
            args.notApplicable("not a production stack");
        }
        for (const { c, ref, digest } of images(args)) {
            if (!digest) {
                report(
                    `${ref} container "${c.name}" uses image "${c.image}" without a digest; production pins images as <name>:<tag>@sha256:<digest>.`,
                );
            }
        }
    },
};

const credentialsSchema = schema({
    allowedSecrets: {
        type: "array",
        items: { type: "string" },
        default: [],
        description:
            "Secrets (`namespace/name`) the program may write literally, e.g. non-sensitive generated TLS material.",
    },
});

/** Credentials arrive only through External Secrets (Key Vault is the single source of truth). */
export const noLiteralCredentials: ResourceValidationPolicy = {
    name: "k8s-no-literal-credentials",
    description:
        "No credential in a ConfigMap, an environment literal, a command line or a Secret's literal data: credentials arrive only through External Secrets.",
    enforcementLevel: "mandatory",
    severity: "critical",
    configSchema: credentialsSchema,
    validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
        const ref = objectRef(args.props, args.name);
        if (args.type === TYPES.secret) {
            const { allowedSecrets } = settingsOf<{ allowedSecrets: string[] }>(args, credentialsSchema);
            const keys = [...Object.keys(args.props.data ?? {}), ...Object.keys(args.props.stringData ?? {})];
            if (keys.length > 0 && !allowedSecrets.includes(ref)) {
                report(
                    `Secret ${ref} carries literal data (${keys.join(", ")}); create it with an ExternalSecret from Key Vault instead.`,
                );
            }
            return;
        }
        if (args.type === TYPES.configMap) {
            for (const [key, value] of Object.entries<unknown>({ ...args.props.data, ...args.props.binaryData })) {
                const what = isCredentialName(key)
                    ? "a credential-named key"
                    : typeof value === "string"
                      ? credentialIn(value)
                      : undefined;
                if (what) {
                    report(
                        `ConfigMap ${ref} key "${key}" holds ${what}; ConfigMaps are readable by anyone with view rights, sync it from Key Vault into a Secret.`,
                    );
                }
            }
            return;
        }
        if (args.type.startsWith("kubernetes:external-secrets.io/")) {
            // Templates render synced values (`{{ .password }}`); a credential written into one bypasses Key Vault.
            for (const { path, text } of stringsIn(args.props.spec?.target?.template ?? {}, "spec.target.template")) {
                const what = credentialIn(text);
                if (what) {
                    report(
                        `${args.props.kind ?? "ExternalSecret"} ${ref}: ${path} holds ${what} as a literal; template it from a Key Vault value.`,
                    );
                }
            }
            return;
        }
        const template = podTemplateOf(args.type, args.props);
        if (!template) {
            args.notApplicable("neither a Secret, a ConfigMap, an ExternalSecret nor a workload");
        }
        for (const c of containersOf(template.spec)) {
            const where = `${args.type.split(":").pop()} ${ref} container "${c.name}"`;
            for (const env of c.env ?? []) {
                if (env.value === undefined || env.value === "") {
                    continue;
                }
                const what = isCredentialName(env.name) ? "a credential" : credentialIn(env.value);
                if (what) {
                    report(
                        `${where}: env ${env.name} holds ${what} as a literal; use valueFrom.secretKeyRef on the synced Secret.`,
                    );
                }
            }
            for (const { path, text } of stringsIn({ command: c.command, args: c.args })) {
                const what = credentialIn(text);
                if (what) {
                    report(`${where}: ${path} holds ${what}; read it from the synced Secret at run time.`);
                }
            }
        }
    },
};

export const noExternalSecretsV1beta1: ResourceValidationPolicy = {
    name: "k8s-no-external-secrets-v1beta1",
    description:
        "No external-secrets.io/v1beta1 objects: ESO 2.x serves only v1 (v1beta1 is deprecated and not served).",
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: (args, report) => {
        // Every External Secrets object is checked (a v1 object passes), so the rule visibly applies.
        if (!args.type.startsWith("kubernetes:external-secrets.io/")) {
            args.notApplicable("not an External Secrets object");
        }
        if (
            args.type.startsWith("kubernetes:external-secrets.io/v1beta1:") ||
            args.props.apiVersion === "external-secrets.io/v1beta1"
        ) {
            report(
                `${args.props.kind ?? args.type} ${objectRef(args.props, args.name)} uses external-secrets.io/v1beta1; use external-secrets.io/v1.`,
            );
        }
    },
};

// ---- Stack-wide Kubernetes rules (they relate several objects) ----

interface K8sObject {
    readonly type: string;
    readonly urn: string;
    readonly name: string;
    readonly props: Record<string, any>;
}

function namespaceOf(o: K8sObject): string | undefined {
    return o.props.metadata?.namespace;
}

/** Workloads that hold data: StatefulSets, workloads mounting a PVC, StackGres clusters. */
function dataWorkloads(resources: readonly K8sObject[]): K8sObject[] {
    return resources.filter((r) => {
        if (r.type === TYPES.statefulSet || r.type === TYPES.sgCluster) {
            return true;
        }
        const template = podTemplateOf(r.type, r.props);
        return (
            template !== undefined && (template.spec.volumes ?? []).some((v) => v.persistentVolumeClaim !== undefined)
        );
    });
}

export const networkPolicyPerDataNamespace: StackValidationPolicy = {
    name: "k8s-network-policy-per-data-namespace",
    description:
        "Every namespace that runs a data workload has NetworkPolicies, and each data pod template is selected by one.",
    enforcementLevel: "mandatory",
    severity: "high",
    validateStack: (args: StackValidationArgs, report: ReportViolation) => {
        const workloads = dataWorkloads(args.resources);
        if (workloads.length === 0) {
            args.notApplicable("no data workloads in the stack");
        }
        const policies = args.resources.filter((r) => r.type === TYPES.networkPolicy);
        for (const w of workloads) {
            const ns = namespaceOf(w) ?? "default";
            const inNamespace = policies.filter((p) => (namespaceOf(p) ?? "default") === ns);
            const template = podTemplateOf(w.type, w.props);
            const ref = `${w.type.split(":").pop()} ${objectRef(w.props, w.name)}`;
            if (inNamespace.length === 0) {
                report(
                    `${ref}: namespace "${ns}" has no NetworkPolicy; data pods would accept traffic from every pod in the cluster.`,
                    w.urn,
                );
            } else if (template && !inNamespace.some((p) => selects(p.props.spec?.podSelector, template.labels))) {
                report(
                    `${ref}: no NetworkPolicy in "${ns}" selects its pods (labels ${JSON.stringify(template.labels)}).`,
                    w.urn,
                );
            }
        }
    },
};

export const pdbForReplicatedStatefulSet: StackValidationPolicy = {
    name: "k8s-pdb-for-replicated-statefulset",
    description:
        "Every StatefulSet with more than one replica has a PodDisruptionBudget selecting its pods (node drains keep a quorum).",
    enforcementLevel: "mandatory",
    severity: "high",
    validateStack: (args, report) => {
        const sets = args.resources.filter((r) => r.type === TYPES.statefulSet && (r.props.spec?.replicas ?? 1) > 1);
        if (sets.length === 0) {
            args.notApplicable("no StatefulSet with more than one replica");
        }
        const pdbs = args.resources.filter((r) => r.type === TYPES.pdb);
        for (const s of sets) {
            const labels = podTemplateOf(s.type, s.props)?.labels ?? {};
            const ns = namespaceOf(s);
            const match = pdbs.find((p) => namespaceOf(p) === ns && selects(p.props.spec?.selector, labels));
            if (!match) {
                report(
                    `StatefulSet ${objectRef(s.props, s.name)} runs ${s.props.spec.replicas} replicas without a PodDisruptionBudget selecting its pods.`,
                    s.urn,
                );
            }
        }
    },
};

/** The quorum as Sentinel's config states it (`sentinel monitor <master> <host> <port> <quorum>`) or as a
 *  start script sets it (`QUORUM=<n>`, the value it writes into that line). */
const QUORUM_PATTERNS = [/sentinel\s+monitor\s+\S+\s+\S+\s+\S+\s+(\d+)/g, /^\s*(?:export\s+)?QUORUM=["']?(\d+)/gm];

/** A Sentinel container: it runs redis-sentinel (directly or through a start script) or serves Sentinel's port. */
function isSentinelContainer(c: Container): boolean {
    const line = [...(c.command ?? []), ...(c.args ?? [])].join(" ");
    return /sentinel/i.test(line) || (c.ports ?? []).some((p) => p.containerPort === 26379 || p.name === "sentinel");
}

/**
 * The quorum values one Sentinel workload runs with: stated in its own spec (command, container environment) or in the
 * ConfigMaps of its namespace it mounts (config files, scripts). Per workload: a stack may run several Sentinel groups,
 * each its own majority.
 */
function quorumsOf(sentinel: K8sObject, resources: readonly K8sObject[]): Set<number> {
    const template = podTemplateOf(sentinel.type, sentinel.props);
    const mounted = new Set(
        (template?.spec.volumes ?? []).flatMap((v) => [
            v.configMap?.name,
            ...(v.projected?.sources ?? []).map((source) => source.configMap?.name),
        ]),
    );
    const namespace = sentinel.props.metadata?.namespace;
    return quorumsIn([
        sentinel,
        ...resources.filter(
            (r) =>
                r.type === TYPES.configMap &&
                r.props.metadata?.namespace === namespace &&
                mounted.has(r.props.metadata?.name),
        ),
    ]);
}

/** Every quorum value stated in `resources` (config files, scripts, container environment). */
function quorumsIn(resources: readonly K8sObject[]): Set<number> {
    const found = new Set<number>();
    for (const r of resources) {
        for (const { text } of stringsIn(r.props)) {
            for (const pattern of QUORUM_PATTERNS) {
                for (const m of text.matchAll(pattern)) {
                    found.add(Number(m[1]));
                }
            }
        }
        const template = podTemplateOf(r.type, r.props);
        for (const env of template ? containersOf(template.spec).flatMap((c) => c.env ?? []) : []) {
            if (/QUORUM$/i.test(env.name) && /^\d+$/.test(env.value ?? "")) {
                found.add(Number(env.value));
            }
        }
    }
    return found;
}

const sentinelSchema = schema({}, true);

export const sentinelQuorum: StackValidationPolicy = {
    name: "redis-sentinel-quorum",
    description:
        "Redis Sentinel runs an odd number (at least 3) of Sentinels and a majority quorum in production, so one lost node neither blocks nor splits failover.",
    enforcementLevel: "mandatory",
    severity: "high",
    configSchema: sentinelSchema,
    validateStack: (args, report) => {
        const sentinels = args.resources.filter((r) => {
            const template = podTemplateOf(r.type, r.props);
            return template !== undefined && containersOf(template.spec).some(isSentinelContainer);
        });
        if (sentinels.length === 0) {
            args.notApplicable("no Redis Sentinel in the stack (standalone Redis)");
        }
        const settings = settingsOf<EnvironmentSettings>(args, sentinelSchema);
        if (!isProduction(args, settings, sentinels[0].urn)) {
            args.notApplicable("not a production stack");
        }
        for (const sentinel of sentinels) {
            checkSentinelGroup(sentinel, args.resources, report);
        }
    },
};

/** One Sentinel workload: an odd number of at least 3 pods, and a majority quorum stated where it runs. */
function checkSentinelGroup(
    sentinel: K8sObject,
    resources: readonly K8sObject[],
    report: (message: string, urn: string) => void,
): void {
    const name = `${sentinel.props.metadata?.namespace ?? ""}/${sentinel.props.metadata?.name ?? sentinel.urn}`;
    const count = sentinel.type === TYPES.pod ? 1 : (sentinel.props.spec?.replicas ?? 1);
    if (count < 3 || count % 2 === 0) {
        report(
            `${count} Sentinel pod(s) in ${name}; production needs an odd number of at least 3 so a majority survives the loss of one.`,
            sentinel.urn,
        );
    }
    const quorums = quorumsOf(sentinel, resources);
    if (quorums.size === 0) {
        report(
            `no Sentinel quorum found for ${name} (a \`sentinel monitor <master> <host> <port> <quorum>\` line or QUORUM=<n> in its spec or the ConfigMaps it mounts); it cannot be checked.`,
            sentinel.urn,
        );
    }
    const majority = Math.floor(count / 2) + 1;
    for (const q of quorums) {
        if (q < majority || q > count) {
            report(
                `Sentinel quorum ${q} with ${count} Sentinels in ${name}; it must be a majority (${majority} to ${count}).`,
                sentinel.urn,
            );
        }
    }
}

const sgBackupSchema = schema(
    {
        minBackupRetention: {
            type: "integer",
            minimum: 1,
            default: 7,
            description:
                "Minimum base backups a production SGCluster keeps (`retention`; how far back a point-in-time restore reaches is the schedule's period times it).",
        },
    },
    true,
);

/** StackGres keeps 5 base backups when `retention` is unset (SGCluster CRD, `configurations.backups[].retention`). */
const STACKGRES_DEFAULT_RETENTION = 5;

/**
 * A production SGCluster has scheduled base backups (`spec.configurations.backups[]` with an SGObjectStorage and a
 * cron schedule) keeping at least the configured number: StackGres takes none otherwise, and a lost volume set would
 * lose the data for good; a point-in-time restore reaches back only as far as the oldest base backup kept.
 */
export const stackGresBackupsInProduction: ResourceValidationPolicy = {
    name: "stackgres-backups-in-production",
    description:
        "In production every SGCluster has scheduled backups to object storage (StackGres takes none otherwise), keeping at least the configured number of base backups.",
    enforcementLevel: "mandatory",
    severity: "high",
    configSchema: sgBackupSchema,
    validateResource: (args, report) => {
        if (args.type !== TYPES.sgCluster) {
            args.notApplicable("not an SGCluster");
        }
        const settings = settingsOf<EnvironmentSettings & { minBackupRetention: number }>(args, sgBackupSchema);
        if (!isProduction(args, settings, args.urn)) {
            args.notApplicable("not a production stack");
        }
        const backups: Array<{ sgObjectStorage?: string; cronSchedule?: string; retention?: number }> =
            args.props.spec?.configurations?.backups ?? [];
        const scheduled = backups.filter((b) => b.sgObjectStorage && b.cronSchedule);
        if (scheduled.length === 0) {
            report(
                `SGCluster ${objectRef(args.props, args.name)} has no scheduled backups (spec.configurations.backups with sgObjectStorage and cronSchedule); set postgres.stackgres.backups.`,
            );
        }
        for (const b of scheduled) {
            const kept = b.retention ?? STACKGRES_DEFAULT_RETENTION;
            if (kept < settings.minBackupRetention) {
                report(
                    `SGCluster ${objectRef(args.props, args.name)} keeps ${kept} base backups (${b.sgObjectStorage}); production requires at least ${settings.minBackupRetention} (postgres.stackgres.backups.retention).`,
                );
            }
        }
    },
};

export const kubernetesPolicies = [
    podSecurityRestricted,
    containerResources,
    imagePinned,
    imageDigestInProduction,
    noLiteralCredentials,
    noExternalSecretsV1beta1,
    networkPolicyPerDataNamespace,
    pdbForReplicatedStatefulSet,
    sentinelQuorum,
    stackGresBackupsInProduction,
];
