/** StatefulSets and Jobs in the testbed (testbed/cluster/workloads.ts): what pulumi refuses or reports, no process run. */
import { strict as assert } from "assert";
import type { Supervisor } from "../../../testbed/servers/processes";
import type { JobState } from "../../../testbed/cluster/state";
import { RedisGroups } from "../../../testbed/cluster/redisGroups";
import { Workloads } from "../../../testbed/cluster/workloads";
import { LifecycleInputError, TYPES } from "../../../testbed/plan";
import { type Pod, podTemplate } from "../../../testbed/pods";
import { NAMESPACE, clusterState, eventLabels, resource } from "../../support/testbed";

function setup() {
    const state = clusterState();
    const workloads = new Workloads(
        state,
        new RedisGroups({ data: [7000], sentinels: [] }),
        {} as Supervisor,
        "/nonexistent",
        () => undefined,
        () => "/nonexistent/ca.crt",
    );
    return { state, workloads };
}

const statefulSet = (replicas: number) =>
    resource(TYPES.statefulSet, "redis", { metadata: { name: "redis" }, spec: { replicas, template: {} } });

const job = (annotations: Record<string, string> = {}) =>
    resource(TYPES.job, "login", { metadata: { name: "login", annotations }, spec: { template: {} } });

describe("testbed workloads controller (StatefulSet rolling update, pulumi-kubernetes Job await)", () => {
    it("refuses a change that adds a StatefulSet of no Redis group, or resizes one (a group's size is its first plan's)", async () => {
        const { state, workloads } = setup();
        const apply = (r: ReturnType<typeof statefulSet>) =>
            workloads.handlers()[TYPES.statefulSet].apply!({
                resource: r,
                verb: "update",
                name: r.inputs.metadata.name,
                plan: state.plan,
            });
        const other = resource(TYPES.statefulSet, "other", { metadata: { name: "other" }, spec: { replicas: 1 } });
        await assert.rejects(apply(other), /the change creates StatefulSet other, which belongs to no Redis group/);
        state.statefulSets.set("redis", statefulSet(3).inputs);
        await assert.rejects(apply(statefulSet(5)), LifecycleInputError);
        await assert.rejects(workloads.handlers()[TYPES.statefulSet].remove!(statefulSet(3)), LifecycleInputError);
    });

    describe("a StatefulSet whose claim template changes is replaced (pulumi-kubernetes force-new), its old object first", () => {
        /** A StatefulSet of `pods` with a claim of `storage`, deleted with `propagation` (none: foreground). */
        const sized = (storage: string, propagation?: string, options: Record<string, boolean> = {}) => {
            const r = resource(TYPES.statefulSet, "redis", {
                metadata: {
                    name: "redis",
                    namespace: NAMESPACE,
                    ...(propagation ? { annotations: { "pulumi.com/deletionPropagationPolicy": propagation } } : {}),
                },
                spec: {
                    replicas: 2,
                    template: { spec: { containers: [] } },
                    volumeClaimTemplates: [
                        {
                            metadata: { name: "data" },
                            spec: { storageClassName: "managed-csi", resources: { requests: { storage } } },
                        },
                    ],
                },
            });
            return { ...r, options: options as unknown as typeof r.options };
        };
        /** The state after a first deploy of `was`, with two pods that record what happens to them. */
        const deployed = (was: ReturnType<typeof sized>) => {
            const { state, workloads } = setup();
            const calls: string[] = [];
            const pods = [0, 1].map(
                (ordinal) =>
                    ({
                        name: `redis-${ordinal}`,
                        ordinal,
                        template: podTemplate(was.inputs),
                        stop: async () => void calls.push(`stop redis-${ordinal}`),
                        start: () => void calls.push(`start redis-${ordinal}`),
                        probe: async () => [],
                    }) as unknown as Pod,
            );
            state.statefulSets.set("redis", was.inputs);
            state.pods.set("redis", pods);
            state.applied.set(was.urn, { resource: was, failed: false });
            const apply = (r: ReturnType<typeof sized>) =>
                workloads.handlers()[TYPES.statefulSet].apply!({
                    resource: r,
                    was: { resource: was, failed: false },
                    verb: "update",
                    name: "redis",
                    plan: state.plan,
                });
            return { state, calls, apply };
        };

        it("orphan: the pods keep running and the new StatefulSet adopts them, no restart", async () => {
            const { state, calls, apply } = deployed(sized("8Gi", "orphan"));
            assert.equal(await apply(sized("16Gi", "orphan")), true);
            assert.deepEqual(calls, []);
            assert.deepEqual(eventLabels(state), [
                "+0s StatefulSet redis replaced (spec.volumeClaimTemplates[0].spec.resources.requests.storage): the old one deleted first, propagation orphan",
                "+0s StatefulSet redis created again",
            ]);
        });

        it("no annotation (foreground): every pod is deleted at once, then started again", async () => {
            const { calls, apply } = deployed(sized("8Gi"));
            assert.equal(await apply(sized("16Gi", "orphan")), true, "the old object's annotation decides");
            assert.deepEqual(calls, ["stop redis-0", "stop redis-1", "start redis-0", "start redis-1"]);
        });

        it("protected in the state and the program: pulumi refuses; retained on delete: the new one already exists", async () => {
            for (const [options, refusal] of [
                [{ protect: true }, /pulumi refuses to replace StatefulSet redis: it is marked for protection/],
                [{ retainOnDelete: true }, /statefulsets.apps "redis" already exists/],
            ] as const) {
                const { state, calls, apply } = deployed(sized("8Gi", "orphan", options));
                assert.equal(await apply(sized("16Gi", "orphan", options)), false);
                assert.match(state.timeline.events[0].failures.join("\n"), refusal);
                assert.deepEqual(calls, []);
            }
        });
    });

    it("previews a claim patch as the API server's dry run: no smaller request, no growth without expansion, no other class", async () => {
        const { state } = setup();
        const workloads = new Workloads(
            state,
            new RedisGroups({ data: [7000], sentinels: [] }),
            {} as Supervisor,
            "/nonexistent",
            () => undefined,
            () => "/nonexistent/ca.crt",
            new Set(["managed-csi"]),
        );
        state.claims.set(`${NAMESPACE}/data-redis-0`, { storage: "8Gi", storageClass: "managed-csi" });
        state.claims.set(`${NAMESPACE}/data-other-0`, { storage: "8Gi", storageClass: "azurefile-csi" });
        const patch = (name: string, storage: string, storageClassName = "managed-csi") =>
            resource(TYPES.claimPatch, name, {
                metadata: { name, namespace: NAMESPACE },
                spec: { storageClassName, resources: { requests: { storage } } },
            });
        const table = workloads.handlers()[TYPES.claimPatch];
        const preview = (r: ReturnType<typeof patch>) =>
            table.preview!({ resource: r, verb: "update", name: r.name, plan: state.plan });
        assert.equal(preview(patch("data-redis-0", "8Gi")), undefined);
        assert.equal(preview(patch("data-redis-0", "16Gi")), undefined);
        assert.equal(preview(patch("data-redis-9", "1Gi")), undefined, "a claim not made yet is created");
        assert.match(
            preview(patch("data-redis-0", "4Gi"))!,
            /field can not be less than previous value \(8Gi -> 4Gi\)/,
        );
        assert.match(preview(patch("data-other-0", "16Gi", "azurefile-csi"))!, /must support resize/);
        assert.match(preview(patch("data-redis-0", "8Gi", "managed-csi-premium"))!, /spec is immutable/);
        assert.equal(
            await table.apply!({ resource: patch("data-redis-0", "1Ti"), verb: "update", name: "", plan: state.plan }),
            true,
        );
        assert.deepEqual(state.claims.get(`${NAMESPACE}/data-redis-0`), {
            storage: "1Ti",
            storageClass: "managed-csi",
        });
    });

    it("awaits the same failed Job again without replaceUnready, so the up fails (pulumi-kubernetes docs)", async () => {
        const { state, workloads } = setup();
        state.jobs.set("login", { name: "login", state: "failed" } as JobState);
        assert.equal(await workloads.startJobStep(job(), job(), true), undefined);
        assert.deepEqual(eventLabels(state), ["+0s pulumi awaits Job login again"]);
        assert.match(state.timeline.events[0].failures[0], /stays Failed: .*no pulumi.com\/replaceUnready/);
    });

    it("reports a finished Job to pulumi: complete passes, failed fails with its last output line", async () => {
        const { state, workloads } = setup();
        const finished = (s: JobState["state"]) =>
            ({
                name: "login",
                startedAt: 0,
                state: s,
                output: "waiting\nrole app_a does not hold the expected password",
            }) as JobState;
        assert.equal(await workloads.finishJobStep(finished("complete")), true);
        assert.equal(await workloads.finishJobStep(finished("failed")), false);
        assert.deepEqual(state.timeline.events[1].failures, [
            "pulumi: Job login failed: Job login failed after 0 s: role app_a does not hold the expected password",
        ]);
    });
});
