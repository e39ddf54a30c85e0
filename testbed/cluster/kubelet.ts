/**
 * The kubelet: Secret and ConfigMap volumes are updated in place after the sync delay (kubelet sync period, 1 min by
 * default), never through a `subPath` mount; env from a Secret is read at container start only
 * (kubernetes.io/docs/concepts/configuration/secret/#using-secrets-as-files-from-a-pod). ConfigMaps are stored here:
 * the pods are the only readers.
 */
import { isDeepStrictEqual } from "util";
import { renderFiles, renderTenantAclSyncFiles } from "../../components/redis/files";
import { redisGroupSettings, redisGroups } from "../../components/redis/groups";
import { Endpoint, POD_DIRS, RedisDirs, RedisLayout, kubernetesLayout } from "../../components/redis/layout";
import { DEFAULT_INSTANCE } from "../../components/serviceModule";
import type { RecordedResource } from "../../offline/mockEngine";
import { LOOPBACK } from "../servers/processes";
import type { ContentSource, Pod, VolumeSource } from "../pods";
import { LifecycleInputError, StackPlan, TYPES, secretKey } from "../plan";
import { HandlerTable, refuseServerRemoval } from "./applier";
import { LocalGroup, RedisGroups, configMapGroup } from "./redisGroups";
import type { ClusterState, JobState } from "./state";

/** Kubelet sync period (KubeletConfiguration `syncPeriod`, default 1m): how long a changed Secret takes to reach files. */
export const KUBELET_SYNC_SECONDS = 60;

/** What a pod's volumes hold now: Secrets as stored, a group's Redis files rendered for the pod's loopback layout. */
export function projectedContent(state: ClusterState, groups: RedisGroups): ContentSource {
    return (source: VolumeSource, pod: Pod) => {
        const key = secretKey(state.namespace, source.name);
        if (source.kind === "secret") {
            return state.secrets.get(key);
        }
        const cm = state.configMaps.get(key);
        if (!cm) {
            return undefined;
        }
        const group = groups.get(cm.redis.group ?? DEFAULT_INSTANCE);
        return cm.render ? cm.render(localLayout(pod, group, state, groups)) : cm.data;
    };
}

/**
 * The layout a pod's files are rendered for: loopback ports, its own volume directories. A Job's pod (an ACL sync Job
 * of a group's first deploy) finds no pod yet behind a server's name: it keeps the cluster name, which does not
 * resolve here either (await-acl.sh takes that as "no pod yet"); the group's own pods are created together.
 */
function localLayout(pod: Pod, group: LocalGroup, state: ClusterState, groups: RedisGroups): RedisLayout {
    const dirs = Object.fromEntries(
        Object.entries(POD_DIRS).map(([k, p]) => [k, pod.localPath(p)]),
    ) as unknown as RedisDirs;
    const cluster = kubernetesLayout(
        redisGroupSettings(state.plan.config.redis, group.name),
        state.plan.config.cluster.platformNamespace,
    );
    const server = groups.ofStatefulSet(pod.id.set) !== undefined;
    const at = (set: string, ports: readonly number[], names: readonly Endpoint[]) =>
        ports.map((port, i) =>
            server || state.pods.get(set)?.[i] !== undefined ? { host: LOOPBACK, port } : names[i],
        );
    return {
        dataNodes: at(group.names.data, group.ports.data, cluster.dataNodes),
        sentinels: at(group.names.sentinel, group.ports.sentinels, cluster.sentinels),
        dirs,
    };
}

/**
 * Stores a ConfigMap. A group's Redis files (its own `<prefix>-config`, a tenant stack's ACL sync files) name the
 * group's hosts, so pods run them rendered for loopback; that is faithful only if the plan holds exactly what the
 * renderer renders from the group's settings.
 */
export function storeConfigMap(state: ClusterState, r: RecordedResource, plan: StackPlan): void {
    const name = r.inputs.metadata.name;
    const data = r.inputs.data ?? {};
    const section = plan.config.redis;
    const candidates = redisGroups(section).flatMap((g) => {
        const redis = redisGroupSettings(section, g);
        const layout = kubernetesLayout(redis, plan.config.cluster.platformNamespace);
        return [
            { redis, own: true, layout, render: (l: RedisLayout) => renderFiles(redis, l) },
            { redis, own: false, layout, render: (l: RedisLayout) => renderTenantAclSyncFiles(redis, l) },
        ];
    });
    const match = candidates.find((c) => isDeepStrictEqual(c.render(c.layout), data));
    const own = configMapGroup(section, name);
    if (own && !(match?.own && match.redis.group === own.group)) {
        throw new LifecycleInputError(
            `the plan's ConfigMap ${name} is not what renderFiles renders from the Redis component's config; ` +
                "the harness cannot run it faithfully",
        );
    }
    state.configMaps.set(secretKey(r.inputs.metadata.namespace, name), {
        data,
        redis: match?.redis ?? section,
        render: match?.render,
    });
}

export class Kubelet {
    constructor(
        private readonly state: ClusterState,
        private readonly reactions: {
            /** Waits until the pods' `reload` sidecars applied projected files; @returns real milliseconds waited. */
            readonly awaitReloadSidecars: () => Promise<number>;
            /** Lets each Job look again (its files, the servers). */
            readonly retryJobs: (jobs: readonly JobState[]) => Promise<void>;
        },
    ) {}

    handlers(): HandlerTable {
        return {
            [TYPES.configMap]: {
                apply: async ({ resource, name, plan }) => {
                    storeConfigMap(this.state, resource, plan);
                    this.schedule("configMap", resource.inputs.metadata.namespace, name);
                    return true;
                },
                // A Job's ConfigMap (a finished move's) goes with it; one the servers' pods mount stays.
                remove: async (r) => {
                    const mounted = [...this.state.statefulSets.values()].some((set) =>
                        (set.spec?.template?.spec?.volumes ?? []).some(
                            (v: { configMap?: { name?: string } }) => v.configMap?.name === r.inputs.metadata.name,
                        ),
                    );
                    if (mounted) {
                        return refuseServerRemoval(r);
                    }
                    this.state.configMaps.delete(secretKey(r.inputs.metadata.namespace, r.inputs.metadata.name));
                },
            },
        };
    }

    /** After a Secret's content changed: the kubelet projects it into every pod that mounts it, after its sync delay. */
    secretChanged(target: string): void {
        const [namespace, name] = target.split("/");
        for (const app of this.state.apps.values()) {
            if (app.namespace === namespace && app.secretName === name) {
                this.state.recordAppEnv(app.name);
            }
        }
        this.schedule("secret", namespace, name);
    }

    private schedule(kind: VolumeSource["kind"], namespace: string, name: string): void {
        const { state } = this;
        if (namespace !== state.namespace) {
            return;
        }
        const label = `kubelet projects ${kind === "secret" ? "Secret" : "ConfigMap"} ${namespace}/${name} into the pods that mount it`;
        if (state.timeline.pending(label)) {
            return;
        }
        state.timeline.schedule(KUBELET_SYNC_SECONDS, label, async () => {
            const updated: string[] = [];
            for (const pod of state.allPods()) {
                if (pod.running() && pod.mounts(kind, name) && pod.sync().length > 0) {
                    updated.push(pod.name);
                }
            }
            const waiting = [...state.jobs.values()].filter((job) => job.state === "waiting");
            const jobs = waiting.filter((job) => job.pod.mounts(kind, name) && job.pod.sync().length > 0);
            const sidecarMs = updated.length > 0 ? await this.reactions.awaitReloadSidecars() : undefined;
            // A waiting Job looks again: at its files if they changed, at the servers (the sidecars applied theirs).
            await this.reactions.retryJobs(waiting);
            return {
                pods: updated,
                jobs: jobs.map((job) => job.name),
                ...(sidecarMs !== undefined ? { sidecarMs } : {}),
            };
        });
    }
}
