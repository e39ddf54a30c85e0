/** StatefulSets and Jobs in the testbed (testbed/cluster/workloads.ts): what pulumi refuses or reports, no process run. */
import { strict as assert } from "assert";
import type { Supervisor } from "../../../testbed/servers/processes";
import type { JobState } from "../../../testbed/cluster/state";
import { Workloads } from "../../../testbed/cluster/workloads";
import { LifecycleInputError, TYPES } from "../../../testbed/plan";
import { clusterState, eventLabels, resource } from "../../support/testbed";

function setup() {
    const state = clusterState();
    const workloads = new Workloads(
        state,
        { data: [7000], sentinels: [] },
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
    it("refuses a change that adds or resizes a StatefulSet (the harness runs the first plan's servers)", async () => {
        const { state, workloads } = setup();
        const apply = (r: ReturnType<typeof statefulSet>) =>
            workloads.handlers()[TYPES.statefulSet].apply!({
                resource: r,
                verb: "update",
                name: "redis",
                plan: state.plan,
            });
        await assert.rejects(apply(statefulSet(3)), /the change creates StatefulSet redis/);
        state.statefulSets.set("redis", statefulSet(3).inputs);
        await assert.rejects(apply(statefulSet(5)), LifecycleInputError);
        await assert.rejects(workloads.handlers()[TYPES.statefulSet].remove!(statefulSet(3)), LifecycleInputError);
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
