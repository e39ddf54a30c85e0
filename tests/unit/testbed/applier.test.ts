/** `pulumi up` in the testbed (testbed/cluster/applier.ts): order, held-back dependents, deletes, the handler table. */
import { strict as assert } from "assert";
import type { RecordedResource } from "../../../offline/mockEngine";
import { Applier, HandlerTable, JobRunner, handlerTable, refuseServerRemoval } from "../../../testbed/cluster/applier";
import type { JobState } from "../../../testbed/cluster/state";
import type { AppConfig } from "../../../components/config/platform";
import { LifecycleInputError, TYPES } from "../../../testbed/plan";
import { clusterState, eventLabels, resource, stackPlan } from "../../support/testbed";

const KIND = "test:index:Thing";

/** A handler that records what it did and fails the names in `failing`. */
function recorder(failing: string[] = []) {
    const log: string[] = [];
    const table: HandlerTable = {
        [KIND]: {
            apply: async ({ verb, name }) => {
                log.push(`${verb} ${name}`);
                return !failing.includes(name);
            },
            remove: async (r) => {
                log.push(`delete ${r.name}`);
            },
        },
    };
    return { log, table };
}

const noJobs: JobRunner = {
    startJobStep: async () => assert.fail("no Job in this plan"),
    finishJobStep: async () => assert.fail("no Job in this plan"),
};

function thing(name: string, inputs: Record<string, any> = {}, dependencies: RecordedResource[] = []) {
    return resource(KIND, name, { metadata: { name }, ...inputs }, { dependencies: dependencies.map((d) => d.urn) });
}

/** State as after a first deploy of `resources`. */
function deployed(resources: RecordedResource[]) {
    const state = clusterState(stackPlan(resources));
    for (const r of resources) {
        state.applied.set(r.urn, { resource: r, failed: false });
    }
    return state;
}

describe("testbed pulumi up (the applier and its handler table)", () => {
    it("applies only what changed, dependencies first, and deletes what the new plan drops, dependents first", async () => {
        const a = thing("a");
        const b = thing("b", {}, [a]);
        const gone = thing("gone");
        const goneChild = thing("gone-child", {}, [gone]);
        const state = deployed([a, b, gone, goneChild]);
        const { log, table } = recorder();
        const a2 = thing("a", { v: 2 });
        const b2 = thing("b", { v: 2 }, [a2]);
        const c = thing("c", {}, [b2]);
        const after = stackPlan([c, b2, a2], {}, "after.yaml");
        assert.deepEqual(await new Applier(state, table, noJobs).apply(after), { failedSteps: [] });
        assert.deepEqual(log, ["update a", "update b", "create c", "delete gone-child", "delete gone"]);
        assert.equal(state.applied.get(c.urn)?.resource, c);
        assert.equal(state.applied.has(gone.urn), false);
        assert.equal(state.plan, after);
        assert.deepEqual(state.timeline.events[0].detail, { create: 1, update: 2, delete: 2 });
    });

    it("holds back the dependents of a failed step, keeps the deletes, and updates the failed one at the next up", async () => {
        const state = deployed([thing("gone")]);
        const { log, table } = recorder(["a"]);
        const a = thing("a");
        const b = thing("b", {}, [a]);
        const other = thing("other");
        const after = stackPlan([a, b, other]);
        const applier = new Applier(state, table, noJobs);
        assert.deepEqual(await applier.apply(after), { failedSteps: [`${KIND} a`] });
        assert.deepEqual(log, ["create a", "create other"]);
        const last = state.timeline.events[state.timeline.events.length - 1];
        assert.equal(last.event, "pulumi up failed");
        assert.deepEqual(last.failures, [`pulumi up failed at ${KIND} a; 1 dependent resources not applied`]);
        assert.equal(state.applied.has(thing("gone").urn), true, "no delete after a failed up");
        const next = recorder();
        await new Applier(state, next.table, noJobs).apply(after);
        assert.deepEqual(next.log, ["update a", "create b", "delete gone"]);
        assert.equal(state.applied.get(a.urn)?.failed, false);
    });

    it("applies nothing when the preview refuses a step (pulumi up previews first)", async () => {
        const before = thing("a");
        const state = deployed([before]);
        const { log, table } = recorder();
        const refusing: HandlerTable = {
            [KIND]: { ...table[KIND], preview: ({ name }) => (name === "b" ? "the dry run refuses it" : undefined) },
        };
        const a = thing("a", { v: 2 });
        const after = stackPlan([a, thing("b", {}, [a])], {}, "after.yaml");
        assert.deepEqual(await new Applier(state, refusing, noJobs).apply(after), {
            failedSteps: [`${KIND} b: the dry run refuses it`],
        });
        assert.deepEqual(log, []);
        assert.equal(state.applied.get(before.urn)?.resource, before);
        assert.notEqual(state.plan, after);
        assert.match(state.timeline.events[1].failures[0], /pulumi preview failed: nothing applied: .*refuses it/);
    });

    it("awaits a Job beside other steps until it finishes, on virtual time", async () => {
        const job = resource(TYPES.job, "login", { metadata: { name: "login" }, spec: { activeDeadlineSeconds: 300 } });
        const state = clusterState();
        const started: string[] = [];
        const runner: JobRunner = {
            startJobStep: async (r) => {
                started.push(r.name);
                const j = {
                    name: r.name,
                    startedAt: state.timeline.now,
                    waitSeconds: 300,
                    state: "waiting",
                } as JobState;
                state.timeline.schedule(60, "kubelet sync", async () => {
                    j.state = "complete";
                });
                return j;
            },
            finishJobStep: async (j) => j.state === "complete",
        };
        assert.deepEqual(await new Applier(state, {}, runner).apply(stackPlan([job])), { failedSteps: [] });
        assert.deepEqual(started, ["login"]);
        assert.equal(state.timeline.now, 60);
    });

    it("fails a Job still waiting at its activeDeadlineSeconds", async () => {
        const job = resource(TYPES.job, "login", { metadata: { name: "login" }, spec: { activeDeadlineSeconds: 300 } });
        const state = clusterState();
        const runner: JobRunner = {
            startJobStep: async (r) =>
                ({ name: r.name, startedAt: 0, waitSeconds: 300, state: "waiting", output: "" }) as JobState,
            finishJobStep: async (j) => j.state === "complete",
        };
        const { failedSteps } = await new Applier(state, {}, runner).apply(stackPlan([job]));
        assert.deepEqual(failedSteps, [`${TYPES.job} login`]);
        assert.equal(state.timeline.now, 300);
    });

    // pulumi/pulumi pkg/resource/deploy/step.go DeleteStep.Apply: "cannot be deleted because it is protected".
    it("refuses to delete a resource protected in the state, whatever retainOnDelete says; the next chains do not run", async () => {
        const db = { ...thing("db"), options: { protect: true, retainOnDelete: true } } as RecordedResource;
        const ns = thing("ns");
        const secret = thing("secret", {}, [ns]);
        const state = deployed([db, ns, secret, thing("kept")]);
        const { log, table } = recorder();
        const { failedSteps } = await new Applier(state, table, noJobs).apply(stackPlan([thing("kept")]));
        assert.deepEqual(failedSteps, [`delete ${KIND} db`]);
        // The first antichain (secret and db) ran; ns, which secret depends on, waited for it and never ran.
        assert.deepEqual(log, ["delete secret"]);
        assert.equal(state.applied.has(db.urn), true, "a refused delete leaves the resource in the state");
        assert.equal(state.applied.has(ns.urn), true);
        const last = state.timeline.events[state.timeline.events.length - 1];
        assert.ok(
            last.failures.join("\n").includes(`"${db.urn}" cannot be deleted because it is protected`),
            last.failures.join("\n"),
        );
    });

    it("takes an options-only change into the state (protect: false), so the next up may drop the resource, retained", async () => {
        const db = { ...thing("db"), options: { protect: true, retainOnDelete: true } } as RecordedResource;
        const state = deployed([db, thing("kept")]);
        const { log, table } = recorder();
        const applier = new Applier(state, table, noJobs);
        const unprotected = { ...db, options: { protect: false, retainOnDelete: true } } as RecordedResource;
        assert.deepEqual(await applier.apply(stackPlan([unprotected, thing("kept")])), { failedSteps: [] });
        assert.deepEqual(log, [], "an options-only change calls no provider");
        assert.equal(state.applied.get(db.urn)?.resource.options.protect, false);
        assert.deepEqual(await applier.apply(stackPlan([thing("kept")])), { failedSteps: [] });
        assert.deepEqual(log, [], "a retained resource leaves the state without its provider's delete");
        assert.equal(state.applied.has(db.urn), false);
    });

    it("refuses to create what exists unless the resource imports it, and an import of what does not exist", async () => {
        const live = new Set(["existing"]);
        const { log, table } = recorder();
        const checked: HandlerTable = { [KIND]: { ...table[KIND], exists: async (r) => live.has(r.name) } };
        const state = clusterState();
        const existing = thing("existing");
        const child = thing("child", {}, [existing]);
        const applier = new Applier(state, checked, noJobs);
        assert.deepEqual((await applier.apply(stackPlan([existing, child]))).failedSteps, [`${KIND} existing`]);
        assert.deepEqual(log, [], "neither the refused create nor its dependent ran");
        assert.equal(state.applied.has(existing.urn), false, "a refused create leaves no state entry");
        assert.match(eventLabels(state).join("\n"), /pulumi: create of test:index:Thing existing/);

        const imported = { ...existing, options: { importId: "existing-id" } } as RecordedResource;
        assert.deepEqual((await applier.apply(stackPlan([imported, child]))).failedSteps, []);
        assert.deepEqual(log, ["create existing", "create child"], "imported, then updated to the inputs");

        const missing = { ...thing("missing"), options: { importId: "missing-id" } } as RecordedResource;
        assert.deepEqual((await applier.apply(stackPlan([imported, child, missing]))).failedSteps, [`${KIND} missing`]);
        const failures = state.timeline.events.flatMap((e) => e.failures).join("\n");
        assert.match(failures, /resource 'missing-id' does not exist/);
    });

    it("applies a tenant stack beside the platform's: each up diffs and deletes only its own stack's resources, a destroy only the tenant's", async () => {
        const platformThing = thing("platform-thing");
        const state = deployed([platformThing]);
        const { log, table } = recorder();
        const applier = new Applier(state, table, noJobs);
        /** A resource of tenant stack `team-a`, and its plan (apps: one each). */
        const tenantThing = (name: string, inputs: Record<string, any> = {}): RecordedResource => ({
            ...thing(name, inputs),
            urn: `urn:pulumi:team-a::data-platform::${KIND}::${name}`,
        });
        const tenantPlan = (resources: RecordedResource[], apps: string[]) => ({
            ...stackPlan(resources, { apps: apps.map((name) => ({ name })) }, "team-a.yaml"),
            stack: "team-a",
        });
        state.setApps([{ name: "orders" } as AppConfig]);

        assert.deepEqual(
            (await applier.apply(tenantPlan([tenantThing("a"), tenantThing("b")], ["shop", "cart"]))).failedSteps,
            [],
        );
        assert.deepEqual(log.splice(0), ["create a", "create b"], "the platform's resource is not deleted");
        assert.equal(state.plan.stack, "dev", "the platform's plan stays the cluster's");
        assert.deepEqual([...state.apps.keys()].sort(), ["cart", "orders", "shop"]);
        assert.equal(eventLabels(state)[0], "+0s pulumi up -s team-a (new stack) -> team-a.yaml");

        // The platform's next up: its own diff only (the tenant's resources are not its deletes).
        const platformNext = thing("platform-thing", { v: 2 });
        assert.deepEqual(
            (await applier.apply(stackPlan([platformNext], { apps: [{ name: "orders" }] }))).failedSteps,
            [],
        );
        assert.deepEqual(log.splice(0), ["update platform-thing"]);
        assert.deepEqual([...state.apps.keys()].sort(), ["cart", "orders", "shop"]);

        // The tenant's next up against its own previous plan: b updated, a deleted, cart's access gone.
        assert.deepEqual((await applier.apply(tenantPlan([tenantThing("b", { v: 2 })], ["shop"]))).failedSteps, []);
        assert.deepEqual(log.splice(0), ["update b", "delete a"]);
        assert.deepEqual([...state.apps.keys()].sort(), ["orders", "shop"]);

        assert.deepEqual(await applier.destroy("team-a"), { failedSteps: [] });
        assert.deepEqual(log.splice(0), ["delete b"]);
        assert.deepEqual([...state.applied.keys()], [platformNext.urn], "only the platform's resource is left");
        assert.deepEqual([...state.apps.keys()], ["orders"]);
        assert.equal(state.planOf("team-a"), undefined);
        await assert.rejects(applier.destroy("dev"), LifecycleInputError);
    });

    it("gives each kind to one controller, and refuses removing servers", async () => {
        assert.throws(
            () => handlerTable(recorder().table, recorder().table),
            new RegExp(`two controllers handle ${KIND}`),
        );
        await assert.rejects(refuseServerRemoval(thing("redis")), LifecycleInputError);
    });
});
