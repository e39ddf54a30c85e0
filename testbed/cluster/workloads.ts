/**
 * StatefulSets, their volume claims, and Jobs.
 * - StatefulSet RollingUpdate: one pod at a time from the highest ordinal, each deleted (its preStop runs within
 *   the grace period) and re-created, the next only once it is Ready (kubernetes.io StatefulSet "Rolling Updates");
 *   `pulumi up` awaits the rollout (pulumi-kubernetes await logic).
 * - A change pulumi-kubernetes cannot apply in place (its force-new list: `volumeClaimTemplates`, ...) replaces the
 *   StatefulSet, deleting the old one first (a fixed name). Pulumi refuses it while the state and the program both
 *   protect it (pkg/resource/deploy/step_generator.go), and does not delete an object the state retains on delete
 *   (step.go `DeleteStep`), so the new one "already exists". The delete's propagation is the old object's
 *   `pulumi.com/deletionPropagationPolicy` (policy/lib/k8s.ts), foreground when absent: every pod deleted at once;
 *   `orphan` leaves them running, and the new StatefulSet adopts them (a pod whose template differs then rolls).
 * - Claims are made from the templates for pods that have none, and kept. A claim patch is checked in the preview as
 *   the API server's dry run does: no smaller request, no larger one on a class without volume expansion, no other
 *   class (`volumeClaimPatch` in components/redis/spec.ts cites them).
 * - Jobs: awaited until complete; a Failed Job is awaited again unless it carries `pulumi.com/replaceUnready: "true"`
 *   (pulumi-kubernetes docs, "replaceUnready"), so every later `up` fails.
 */
import * as fs from "fs";
import * as path from "path";
import { isDeepStrictEqual } from "util";
import type { RecordedResource } from "../../offline/mockEngine";
import { PG_BIN } from "../servers/postgres";
import { LOOPBACK, Supervisor, waitFor } from "../servers/processes";
import { localPort } from "../clients";
import { ContentSource, Pod, podTemplate } from "../pods";
import { LifecycleInputError, TYPES, secretKey } from "../plan";
import { quantityBytes } from "../../components/config/names";
import { replacingPaths } from "../../offline/planDiff/diff";
import { DELETION_PROPAGATION_ANNOTATION } from "../../policy/lib/k8s";
import { HandlerTable, JobRunner, Step, refuseServerRemoval } from "./applier";
import type { RedisGroups } from "./redisGroups";
import type { ClusterState, JobState, Obj } from "./state";

/** How long a rolled pod may take to become Ready before the rollout counts as stuck (real seconds). */
const READY_TIMEOUT_MS = 90_000;
const REPLACE_UNREADY = "pulumi.com/replaceUnready";

/**
 * The cluster's StorageClasses that allow volume expansion: AKS's built-in disk classes (`default` and `managed-csi`,
 * Standard SSD; `managed-csi-premium`), "the built-in managed-csi storage class already supports expansion"
 * (learn.microsoft.com azure/aks/create-volume-azure-disk). Any other is taken as not allowing it.
 */
export const EXPANDABLE_STORAGE_CLASSES: ReadonlySet<string> = new Set([
    "default",
    "managed-csi",
    "managed-csi-premium",
]);

export class Workloads implements JobRunner {
    constructor(
        private readonly state: ClusterState,
        private readonly groups: RedisGroups,
        private readonly supervisor: Supervisor,
        /** Where pods and Jobs keep their volumes. */
        private readonly root: string,
        private readonly content: ContentSource,
        /** The CA of the local PostgreSQL's certificate (it plays Azure's roots or the issuer's CA). */
        private readonly postgresCa: () => string,
        private readonly expandable: ReadonlySet<string> = EXPANDABLE_STORAGE_CLASSES,
    ) {}

    handlers(): HandlerTable {
        return {
            [TYPES.statefulSet]: { apply: (step) => this.roll(step), remove: refuseServerRemoval },
            [TYPES.claimPatch]: {
                preview: ({ resource }) => this.claimRefusal(resource.inputs),
                apply: ({ resource }) => this.patchClaim(resource.inputs),
            },
        };
    }

    /** The first deploy: the StatefulSet and its pods, not started yet. */
    create(r: RecordedResource): void {
        const name = r.inputs.metadata.name;
        this.state.statefulSets.set(name, r.inputs);
        const of = this.groups.ofStatefulSet(name);
        if (!of) {
            throw new LifecycleInputError(`StatefulSet ${name} belongs to no Redis group of the plan`);
        }
        const ports = of.role === "sentinel" ? of.group.ports.sentinels : of.group.ports.data;
        this.state.pods.set(
            name,
            ports.map(
                (port, ordinal) =>
                    new Pod(
                        { set: name, ordinal, port },
                        path.join(this.root, "pods", `${name}-${ordinal}`),
                        this.supervisor,
                        this.content,
                    ),
            ),
        );
        this.createClaims(r.inputs);
    }

    /** The StatefulSet controller's claims for pods that have none: `<template>-<set>-<ordinal>`, from the template. */
    private createClaims(set: Obj): void {
        for (const pod of this.state.pods.get(set.metadata.name) ?? []) {
            for (const t of set.spec.volumeClaimTemplates ?? []) {
                const key = secretKey(set.metadata.namespace, `${t.metadata.name}-${set.metadata.name}-${pod.ordinal}`);
                if (!this.state.claims.has(key)) {
                    this.state.claims.set(key, {
                        storage: t.spec.resources.requests.storage,
                        storageClass: t.spec.storageClassName,
                    });
                }
            }
        }
    }

    /** Why the API server's dry run refuses the claim patch `body`; undefined when it takes it. */
    private claimRefusal(body: Obj): string | undefined {
        const key = secretKey(body.metadata.namespace, body.metadata.name);
        const claim = this.state.claims.get(key);
        const wanted = body.spec?.resources?.requests?.storage;
        if (!claim) {
            return undefined;
        }
        if (body.spec.storageClassName !== undefined && body.spec.storageClassName !== claim.storageClass) {
            return `PersistentVolumeClaim ${key} is invalid: spec: Forbidden: spec is immutable after creation except resources.requests (class ${claim.storageClass} -> ${body.spec.storageClassName})`;
        }
        const [now, next] = [quantityBytes(claim.storage), quantityBytes(wanted)];
        if (now === undefined || next === undefined) {
            throw new LifecycleInputError(`claim sizes the harness cannot compare: ${claim.storage}, ${wanted}`);
        }
        if (next < now) {
            return `PersistentVolumeClaim ${key} is invalid: spec.resources.requests.storage: Forbidden: field can not be less than previous value (${claim.storage} -> ${wanted})`;
        }
        if (next > now && !this.expandable.has(claim.storageClass ?? "")) {
            return `PersistentVolumeClaim ${key}: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize (class ${claim.storageClass})`;
        }
        return undefined;
    }

    /** Server-side apply of the claim patch: the request grows (the CSI driver expands the attached disk), or the claim is made. */
    private async patchClaim(body: Obj): Promise<boolean> {
        const key = secretKey(body.metadata.namespace, body.metadata.name);
        const claim = this.state.claims.get(key);
        const wanted = body.spec.resources.requests.storage;
        if (claim?.storage === wanted) {
            return true;
        }
        const event = await this.state.timeline.emit(
            `PersistentVolumeClaim ${key} ${claim ? `grows ${claim.storage} -> ${wanted}` : `created at ${wanted}`}`,
            async () => {
                const refusal = this.claimRefusal(body);
                if (refusal) {
                    throw new Error(refusal);
                }
                this.state.claims.set(key, { storage: wanted, storageClass: body.spec.storageClassName });
            },
        );
        return !event.failures.some((f) => f.startsWith("PersistentVolumeClaim"));
    }

    /** Starts a pod as its StatefulSet's current template has it. */
    start(pod: Pod): void {
        pod.start(podTemplate(this.state.statefulSets.get(pod.id.set)!));
    }

    private async roll({ resource: r, was }: Step): Promise<boolean> {
        const { state } = this;
        const name = r.inputs.metadata.name;
        const old = state.statefulSets.get(name);
        if (!old) {
            if (!this.groups.ofStatefulSet(name)) {
                throw new LifecycleInputError(
                    `the change creates StatefulSet ${name}, which belongs to no Redis group`,
                );
            }
            return this.createStarted(r);
        }
        if (r.inputs.spec.replicas !== old.spec.replicas) {
            throw new LifecycleInputError(`the change scales StatefulSet ${name}; the harness does not resize groups`);
        }
        const replacing = replacingPaths(TYPES.statefulSet, old, r.inputs);
        if (replacing.length > 0 && !(await this.replace(r, was?.resource, replacing))) {
            return false;
        }
        state.statefulSets.set(name, r.inputs);
        const template = podTemplate(r.inputs);
        const pods = [...(state.pods.get(name) ?? [])].reverse();
        for (const pod of pods) {
            // A pod's revision is its template's (kubernetes.io StatefulSet "Rolling Updates"); not its claims.
            if (JSON.stringify({ ...pod.template, claims: [] }) === JSON.stringify({ ...template, claims: [] })) {
                continue;
            }
            const event = await state.timeline.emit(
                `rolling StatefulSet ${name}: ${pod.name} deleted and re-created`,
                () => this.recreate(pod, template),
            );
            if (event.failures.some((f) => f.startsWith("rolling"))) {
                return false;
            }
        }
        return true;
    }

    /**
     * A StatefulSet the change creates (a Redis group added by this `up`): its pods start at once (podManagementPolicy
     * Parallel) and `pulumi up` awaits them Ready (pulumi-kubernetes' StatefulSet await).
     */
    private async createStarted(r: RecordedResource): Promise<boolean> {
        const name = r.inputs.metadata.name;
        const event = await this.state.timeline.emit(`StatefulSet ${name} created: its pods start`, async () => {
            this.create(r);
            const pods = this.state.pods.get(name) ?? [];
            pods.forEach((pod) => this.start(pod));
            await Promise.all(pods.map((p) => waitReady(p)));
            return { started: pods.map((p) => p.name) };
        });
        return !event.failures.some((f) => f.startsWith("StatefulSet"));
    }

    /**
     * pulumi-kubernetes replaces the StatefulSet, the old object deleted first; @returns false when the step fails.
     * `was` is the resource as the state holds it (its options); the old object as the cluster holds it decides the
     * propagation.
     */
    private async replace(r: RecordedResource, was: RecordedResource | undefined, paths: string[]): Promise<boolean> {
        const { state } = this;
        const name = r.inputs.metadata.name;
        const old = state.statefulSets.get(name)!;
        const pods = state.pods.get(name) ?? [];
        const policy = String(
            old.metadata.annotations?.[DELETION_PROPAGATION_ANNOTATION] ?? "foreground",
        ).toLowerCase();
        const event = await state.timeline.emit(
            `StatefulSet ${name} replaced (${paths.join(", ")}): the old one deleted first, propagation ${policy}`,
            async () => {
                if (was?.options.protect && r.options.protect) {
                    throw new Error(`pulumi refuses to replace StatefulSet ${name}: it is marked for protection`);
                }
                if (was?.options.retainOnDelete) {
                    throw new Error(
                        `StatefulSet ${name} is retained on delete: pulumi leaves the old object, and creating the new one fails: statefulsets.apps "${name}" already exists`,
                    );
                }
                if (policy === "orphan") {
                    return { pods: `${pods.map((p) => p.name).join(", ")} keep running, orphaned` };
                }
                // The garbage collector deletes every pod at once, each with its preStop.
                await Promise.all(pods.map((p) => p.stop()));
                return { pods: `${pods.map((p) => p.name).join(", ")} deleted` };
            },
        );
        if (event.failures.some((f) => f.startsWith("StatefulSet"))) {
            return false;
        }
        await state.timeline.emit(`StatefulSet ${name} created again`, async () => {
            if (policy === "orphan") {
                return { adopted: pods.map((p) => p.name) };
            }
            // podManagementPolicy Parallel: every pod at once, as the new template has them.
            const template = podTemplate(r.inputs);
            for (const pod of pods) {
                pod.start(template);
            }
            await Promise.all(pods.map((p) => waitReady(p)));
            return { started: pods.map((p) => p.name) };
        });
        return true;
    }

    /**
     * A StatefulSet's pod deleted (`kubectl delete pod`, or a rolling update) and created again by its controller from
     * `template` (default: the one it ran): its preStop first, then Ready again.
     */
    async recreate(pod: Pod, template: Obj = pod.template): Promise<{ preStop: string[]; seconds: number }> {
        const started = Date.now();
        const { preStop } = await pod.stop();
        pod.start(template);
        await waitReady(pod);
        return { preStop, seconds: (Date.now() - started) / 1000 };
    }

    /** A Job's pod, prepared from its template; it runs only in `tryJob`. */
    startJob(r: RecordedResource): JobState {
        const name = r.inputs.metadata.name;
        const pod = new Pod(
            { set: name, ordinal: 0, port: 0 },
            path.join(this.root, "jobs", name),
            this.supervisor,
            this.content,
        );
        const template = r.inputs.spec.template;
        pod.prepare(template);
        const env = (template.spec.containers[0].env ?? []) as Obj[];
        const wait = env.find((e) => e.name === "WAIT_SECONDS")?.value;
        const job: JobState = {
            name,
            urn: r.urn,
            pod,
            startedAt: this.state.timeline.now,
            waitSeconds: wait !== undefined ? Number(wait) : (r.inputs.spec.activeDeadlineSeconds ?? 600),
            state: "waiting",
            output: "",
        };
        this.state.jobs.set(name, job);
        return job;
    }

    /**
     * Runs the Job's real entrypoint once against the pod's current files; its own wait (for the synced Secret, for
     * the servers) is virtual: WAIT_SECONDS=0 per attempt, retried after each kubelet sync, until the Job's deadline.
     */
    async tryJob(job: JobState): Promise<void> {
        const { state } = this;
        const result = await job.pod.runToCompletion((env) => {
            // libpq's settings, or one side's of a Job that reaches two servers (the move Job's `SOURCE_`, `TARGET_`).
            const postgres: Record<string, string> = {};
            for (const prefix of ["", "SOURCE_", "TARGET_"]) {
                const host = env[`${prefix}PGHOST`];
                if (host === undefined) {
                    continue;
                }
                const port = env[`${prefix}PGPORT`];
                state.registerPostgresHost(host, port);
                Object.assign(postgres, {
                    [`${prefix}PGHOST`]: LOOPBACK,
                    [`${prefix}PGPORT`]: String(localPort(state.endpoints, host, port)),
                    PATH: `${PG_BIN}:${process.env.PATH ?? "/usr/bin:/bin"}`,
                    // The Job verifies the server against the CA it mounts (verify-full): the local servers' CAs
                    // stand in for it, as they do for the applications' DB_CA_CERT (checks.ts).
                    ...(env[`${prefix}PGSSLROOTCERT`] !== undefined
                        ? { [`${prefix}PGSSLROOTCERT`]: this.postgresCa() }
                        : {}),
                });
            }
            return { ...env, WAIT_SECONDS: "0", ...postgres, ...this.redisMoveEnv(job, env) };
        }, 60_000);
        job.output = result.output.trim();
        if (result.code === 0) {
            job.state = "complete";
        } else if (
            // What the Jobs wait for (their synced Secret; the servers' users files; the move Jobs' masters).
            /does not hold the expected password|not yet applied|is not off on|no master among/.test(result.output)
        ) {
            job.state = state.timeline.now - job.startedAt >= job.waitSeconds ? "failed" : "waiting";
        } else {
            job.state = "failed";
        }
    }

    /**
     * The Redis move and retire Jobs' sides (`SOURCE_`, `TARGET_`): each `host:port` of its node list to its loopback port and,
     * with TLS, the CA its config mounts to the one the group's certificates chain to here (its `<prefix>-tls`
     * Secret's `ca.crt`, as cert-manager issued it), as the local PostgreSQL's CA stands in for a server's.
     */
    private redisMoveEnv(job: JobState, env: Record<string, string>): Record<string, string> {
        const out: Record<string, string> = {};
        for (const side of ["SOURCE", "TARGET"].filter((s) => env[`${s}_NODES`] !== undefined)) {
            const ports = env[`${side}_NODES`].split(" ").map((node) => this.state.endpoints.get(node));
            out[`${side}_NODES`] = env[`${side}_NODES`]
                .split(" ")
                .map((node, i) => (ports[i] === undefined ? node : `${LOOPBACK}:${ports[i]}`))
                .join(" ");
            const group = ports[0] === undefined ? undefined : this.groups.ofPort(ports[0]);
            const ca = group && this.state.secrets.get(secretKey(this.state.namespace, group.names.tls))?.["ca.crt"];
            if (env[`${side}_TLS_CA`] && ca !== undefined) {
                const file = path.join(job.pod.root, `${side.toLowerCase()}-issuer-ca.pem`);
                fs.writeFileSync(file, ca);
                out[`${side}_TLS_CA`] = file;
            }
        }
        return out;
    }

    /** A new Job (a new name, or a replacement) starts and runs its entrypoint once; undefined when pulumi is wedged. */
    async startJobStep(
        r: RecordedResource,
        was: RecordedResource | undefined,
        failedBefore: boolean,
    ): Promise<JobState | undefined> {
        const name = r.inputs.metadata.name;
        const replaceUnready = r.inputs.metadata.annotations?.[REPLACE_UNREADY] === "true";
        if (
            this.state.jobs.has(name) &&
            failedBefore &&
            was &&
            isDeepStrictEqual(was.inputs, r.inputs) &&
            !replaceUnready
        ) {
            await this.state.timeline.emit(`pulumi awaits Job ${name} again`, async () => {
                throw new Error(
                    `Job ${name} stays Failed: pulumi-kubernetes awaits the same failed Job (no ${REPLACE_UNREADY}), so every later up fails`,
                );
            });
            return undefined;
        }
        const job = this.startJob(r);
        await this.state.timeline.emit(`Job ${name} starts`, async () => {
            await this.tryJob(job);
            return { state: job.state };
        });
        return job;
    }

    async finishJobStep(job: JobState): Promise<boolean> {
        const { timeline } = this.state;
        await timeline.emit(`pulumi: Job ${job.name} ${job.state}`, async () => {
            if (job.state !== "complete") {
                throw new Error(
                    `Job ${job.name} failed after ${timeline.now - job.startedAt} s: ${lastLine(job.output)}`,
                );
            }
            return { seconds: timeline.now - job.startedAt };
        });
        return job.state === "complete";
    }
}

async function waitReady(pod: Pod, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
    let last: string[] = [];
    await waitFor(
        `${pod.name} Ready`,
        timeoutMs,
        async () => {
            last = await pod.probe("readinessProbe");
            return last.length === 0 ? true : undefined;
        },
        250,
    ).catch((err: Error) => {
        throw new Error(`${err.message} (readiness: ${last.join("; ")})`);
    });
}

function lastLine(text: string): string {
    return text.trim().split("\n").slice(-1)[0] ?? "";
}
