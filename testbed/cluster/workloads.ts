/**
 * StatefulSets and Jobs.
 * - StatefulSet RollingUpdate: one pod at a time from the highest ordinal, each deleted (its preStop runs within
 *   the grace period) and re-created, the next only once it is Ready (kubernetes.io StatefulSet "Rolling Updates");
 *   `pulumi up` awaits the rollout (pulumi-kubernetes await logic).
 * - Jobs: awaited until complete; a Failed Job is awaited again unless it carries `pulumi.com/replaceUnready: "true"`
 *   (pulumi-kubernetes docs, "replaceUnready"), so every later `up` fails.
 */
import * as path from "path";
import { isDeepStrictEqual } from "util";
import type { RecordedResource } from "../../offline/mockEngine";
import { PG_BIN } from "../servers/postgres";
import { LOOPBACK, Supervisor, waitFor } from "../servers/processes";
import { NAMES } from "../../components/redis/layout";
import { localPort } from "../clients";
import { ContentSource, Pod, podTemplate } from "../pods";
import { LifecycleInputError, TYPES } from "../plan";
import { HandlerTable, JobRunner, refuseServerRemoval } from "./applier";
import type { RedisPorts } from "../servers/redis";
import type { ClusterState, JobState, Obj } from "./state";

/** How long a rolled pod may take to become Ready before the rollout counts as stuck (real seconds). */
const READY_TIMEOUT_MS = 90_000;
const REPLACE_UNREADY = "pulumi.com/replaceUnready";

export class Workloads implements JobRunner {
    constructor(
        private readonly state: ClusterState,
        private readonly ports: RedisPorts,
        private readonly supervisor: Supervisor,
        /** Where pods and Jobs keep their volumes. */
        private readonly root: string,
        private readonly content: ContentSource,
        /** The CA of the local PostgreSQL's certificate (it plays Azure's roots or the issuer's CA). */
        private readonly postgresCa: () => string,
    ) {}

    handlers(): HandlerTable {
        return { [TYPES.statefulSet]: { apply: ({ resource }) => this.roll(resource), remove: refuseServerRemoval } };
    }

    /** The first deploy: the StatefulSet and its pods, not started yet. */
    create(r: RecordedResource): void {
        const name = r.inputs.metadata.name;
        this.state.statefulSets.set(name, r.inputs);
        const ports = name === NAMES.sentinel ? this.ports.sentinels : this.ports.data;
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
    }

    /** Starts a pod as its StatefulSet's current template has it. */
    start(pod: Pod): void {
        pod.start(podTemplate(this.state.statefulSets.get(pod.id.set)!));
    }

    private async roll(r: RecordedResource): Promise<boolean> {
        const { state } = this;
        const name = r.inputs.metadata.name;
        const old = state.statefulSets.get(name);
        if (!old) {
            throw new LifecycleInputError(`the change creates StatefulSet ${name}; the harness does not add servers`);
        }
        if (r.inputs.spec.replicas !== old.spec.replicas) {
            throw new LifecycleInputError(`the change scales StatefulSet ${name}; the harness does not resize groups`);
        }
        state.statefulSets.set(name, r.inputs);
        const template = podTemplate(r.inputs);
        const pods = [...(state.pods.get(name) ?? [])].reverse();
        for (const pod of pods) {
            if (JSON.stringify(pod.template) === JSON.stringify(template)) {
                continue;
            }
            const event = await state.timeline.emit(
                `rolling StatefulSet ${name}: ${pod.name} deleted and re-created`,
                async () => {
                    const started = Date.now();
                    const { preStop } = await pod.stop();
                    pod.start(template);
                    await waitReady(pod);
                    return { preStop, seconds: (Date.now() - started) / 1000 };
                },
            );
            if (event.failures.some((f) => f.startsWith("rolling"))) {
                return false;
            }
        }
        return true;
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
            state.registerPostgresHost(env.PGHOST, env.PGPORT);
            const postgres: Record<string, string> =
                env.PGHOST === undefined
                    ? {}
                    : {
                          PGHOST: LOOPBACK,
                          PGPORT: String(localPort(state.endpoints, env.PGHOST, env.PGPORT)),
                          PATH: `${PG_BIN}:${process.env.PATH ?? "/usr/bin:/bin"}`,
                          // The Job verifies the server against the CA it mounts (verify-full): the local server's
                          // CA stands in for it, as it does for the applications' DB_CA_CERT (checks.ts).
                          ...(env.PGSSLROOTCERT !== undefined ? { PGSSLROOTCERT: this.postgresCa() } : {}),
                      };
            return { ...env, WAIT_SECONDS: "0", ...postgres };
        }, 60_000);
        job.output = result.output.trim();
        if (result.code === 0) {
            job.state = "complete";
        } else if (/does not hold the expected password|not yet applied/.test(result.output)) {
            job.state = state.timeline.now - job.startedAt >= job.waitSeconds ? "failed" : "waiting";
        } else {
            job.state = "failed";
        }
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
