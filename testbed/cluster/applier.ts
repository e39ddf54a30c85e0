/**
 * `pulumi up` to a new plan: resources in dependency order, Pulumi's parallel walk, a failed step holding back its
 * dependents, deletes last and only after a clean `up`. What a create, update or delete does to the cluster is the
 * business of the controller that owns the resource's kind: a handler table by type token. The engine's own rules
 * (pulumi/pulumi pkg/resource/deploy) are modelled here:
 * - a resource whose inputs did not change still takes its new options into the state (a `same` step), so
 *   `protect: false` in one `up` lets the next delete it;
 * - deletes run in antichains, dependents first (step_generator.go `ScheduleDeletes`); a resource protected in the
 *   state is refused whatever `retainOnDelete` says, and the chains after a refusal do not run; a `retainOnDelete`
 *   one leaves the state without its provider's Delete, so the object stays (step.go `DeleteStep.Apply`);
 * - a create of an object that exists is refused by its provider (azure-native checks first: provider.go "cannot
 *   create already existing resource"; pulumi-kubernetes 4.29+ creates client-side and gets AlreadyExists, its
 *   CHANGELOG, #2926), unless the resource has the `import` option: then the engine reads it ("resource '<id>' does
 *   not exist" when it is not there, step.go `ImportStep`) and updates it to the program's inputs (pulumi/pulumi#19339,
 *   pulumi/docs#18198).
 */
import * as path from "path";
import type { RecordedResource } from "../../offline/mockEngine";
import { LifecycleInputError, StackPlan, TYPES, dependentsOf, topologicalOrder } from "../plan";
import type { ClusterState, JobState } from "./state";

/** One create or update as its controller sees it. */
export interface Step {
    readonly resource: RecordedResource;
    /** What the state held before (undefined on create). */
    readonly was?: { readonly resource: RecordedResource; readonly failed: boolean };
    readonly verb: "create" | "update";
    /** The object's name (metadata.name, a Key Vault secret name, or the resource name). */
    readonly name: string;
    readonly plan: StackPlan;
}

/** What one resource kind does on `pulumi up`. */
export interface KindHandler {
    /**
     * What the preview that `pulumi up` runs first finds wrong with the step (pulumi-kubernetes previews an update as a
     * server-side dry run); a refusal stops the up before anything changes. Absent: nothing to check.
     */
    readonly preview?: (step: Step) => string | undefined;
    /** Create or update; false when the step fails (pulumi stops its dependents). Absent: nothing to simulate. */
    readonly apply?: (step: Step) => Promise<boolean>;
    readonly remove?: (resource: RecordedResource) => Promise<void>;
    /**
     * Whether the object the resource names exists in the cloud or cluster now, as its provider's create or the
     * engine's import read finds it (by name). Absent: the kind's creates are not checked.
     */
    readonly exists?: (resource: RecordedResource) => Promise<boolean>;
}

export type HandlerTable = Readonly<Record<string, KindHandler>>;

/** The controllers' tables as one; a kind claimed twice is refused (one controller owns each kind). */
export function handlerTable(...tables: HandlerTable[]): HandlerTable {
    const out: Record<string, KindHandler> = {};
    for (const table of tables) {
        for (const [kind, handler] of Object.entries(table)) {
            if (out[kind]) {
                throw new Error(`two controllers handle ${kind}`);
            }
            out[kind] = handler;
        }
    }
    return out;
}

/** The `remove` of a server's kind: the harness runs the servers of the first plan to the end. */
export async function refuseServerRemoval(r: RecordedResource): Promise<void> {
    throw new LifecycleInputError(`the change deletes ${r.type} ${r.name}; the harness does not remove servers`);
}

/** Jobs are awaited until they complete, so they run beside other steps (workloads.ts). */
export interface JobRunner {
    startJobStep(
        r: RecordedResource,
        was: RecordedResource | undefined,
        failedBefore: boolean,
    ): Promise<JobState | undefined>;
    finishJobStep(job: JobState): Promise<boolean>;
}

export class Applier {
    constructor(
        private readonly state: ClusterState,
        private readonly handlers: HandlerTable,
        private readonly jobs: JobRunner,
    ) {}

    /** Applies `after` as `pulumi up` would, then lets the timeline run until nothing more is pending. */
    async apply(after: StackPlan): Promise<{ failedSteps: string[] }> {
        const { state } = this;
        // An application removed from the config loses its access in this `up` (its users go with the users files,
        // before its Secret is deleted at the end): only the applications of the new config must keep connecting.
        state.setApps(after.config.apps, after.stack);
        // Each stack diffs against its own previous plan and state (a tenant stack's `pulumi up -s <stack>`).
        const previous = state.planOf(after.stack);
        const order = topologicalOrder(after.run.resources).filter((r) => r.custom);
        const steps = order.filter((r) => {
            const was = state.applied.get(r.urn);
            return !was || was.failed || JSON.stringify(was.resource.inputs) !== JSON.stringify(r.inputs);
        });
        const deleted = state
            .appliedOf(after.stack)
            .map((a) => a.resource)
            .filter((r) => !after.byUrn.has(r.urn));
        const from = previous ? path.basename(previous.file) : "(new stack)";
        await state.timeline.emit(
            `pulumi up${after.stack === state.plan.stack ? "" : ` -s ${after.stack}`} ${from} -> ${path.basename(after.file)}`,
            async () => ({
                create: steps.filter((r) => !state.applied.has(r.urn)).length,
                update: steps.filter((r) => state.applied.has(r.urn)).length,
                delete: deleted.length,
            }),
        );
        const refused = steps.flatMap((r) => {
            const refusal = this.handlers[r.type]?.preview?.(this.stepOf(r, after));
            return refusal === undefined ? [] : [`${r.type} ${r.name}: ${refusal}`];
        });
        if (refused.length > 0) {
            state.setApps(previous?.config.apps ?? [], after.stack);
            await state.timeline.emit("pulumi preview failed: nothing applied", async () => {
                throw new Error(refused.join("; "));
            });
            return { failedSteps: refused };
        }
        if (after.stack === state.plan.stack) {
            state.plan = after;
        } else {
            state.tenantPlans.set(after.stack, after);
        }
        const stepFailures = await this.runSteps(steps, after);
        this.recordSames(order, steps, after);
        const refusedDeletes = stepFailures.length === 0 ? await this.deleteAll(deleted) : [];
        const failedSteps = [...stepFailures, ...refusedDeletes.map((d) => d.step)];
        const heldBack = steps.filter((r) => state.applied.get(r.urn)?.resource !== r).map((r) => r.urn);
        await state.timeline.emit(failedSteps.length === 0 ? "pulumi up finished" : "pulumi up failed", async () => ({
            failedSteps,
            heldBack: heldBack.length,
        }));
        const failures = state.timeline.events[state.timeline.events.length - 1].failures;
        if (stepFailures.length > 0) {
            failures.push(
                `pulumi up failed at ${stepFailures.join(", ")}${heldBack.length ? `; ${heldBack.length} dependent resources not applied` : ""}`,
            );
        }
        failures.push(...refusedDeletes.map((d) => `pulumi up failed at ${d.step}: ${d.message}`));
        await state.timeline.runUntil();
        return { failedSteps };
    }

    /**
     * `pulumi destroy -s <stack>` of a tenant stack: every resource its state holds deleted as the engine schedules
     * deletes (dependents first; retained ones leave the state only; protected ones refused), nothing of other stacks.
     */
    async destroy(stack: string): Promise<{ failedSteps: string[] }> {
        const { state } = this;
        if (stack === state.plan.stack) {
            throw new LifecycleInputError(
                `pulumi destroy of the platform stack ${stack}: the harness runs its servers`,
            );
        }
        state.setApps([], stack);
        const deleted = state.appliedOf(stack).map((a) => a.resource);
        await state.timeline.emit(`pulumi destroy -s ${stack}`, async () => ({ delete: deleted.length }));
        const refused = await this.deleteAll(deleted);
        if (refused.length === 0) {
            state.tenantPlans.delete(stack);
        }
        await state.timeline.emit(
            refused.length === 0 ? "pulumi destroy finished" : "pulumi destroy failed",
            async () => {
                if (refused.length > 0) {
                    throw new Error(refused.map((d) => `pulumi destroy failed at ${d.step}: ${d.message}`).join("; "));
                }
            },
        );
        await state.timeline.runUntil();
        return { failedSteps: refused.map((d) => d.step) };
    }

    /**
     * Unchanged resources take the plan's options into the state (Pulumi's `same` step), unless a failed step holds
     * them back (their registration waits for it and never reaches the engine).
     */
    private recordSames(order: readonly RecordedResource[], steps: readonly RecordedResource[], plan: StackPlan): void {
        const stepped = new Set(steps.map((r) => r.urn));
        const current = (urn: string) => {
            const held = this.state.applied.get(urn);
            return held !== undefined && !held.failed && held.resource === plan.byUrn.get(urn);
        };
        for (const r of order) {
            if (!stepped.has(r.urn) && r.dependencies.filter((d) => plan.byUrn.get(d)?.custom).every(current)) {
                this.state.applied.set(r.urn, { resource: r, failed: false });
            }
        }
    }

    /**
     * Deletes what the plan no longer has, as the engine schedules and applies deletes (see the file's comment).
     * @returns the refused deletes
     */
    private async deleteAll(deleted: readonly RecordedResource[]): Promise<{ step: string; message: string }[]> {
        const condemned = new Map(deleted.map((r) => [r.urn, r]));
        const refused: { step: string; message: string }[] = [];
        while (condemned.size > 0 && refused.length === 0) {
            const dependedOn = new Set([...condemned.values()].flatMap((r) => [...r.dependencies, r.parent ?? ""]));
            const leaves = [...condemned.values()].filter((r) => !dependedOn.has(r.urn));
            for (const r of leaves.length > 0 ? leaves : [...condemned.values()]) {
                condemned.delete(r.urn);
                if (r.options.protect) {
                    refused.push({ step: `delete ${r.type} ${r.name}`, message: protectedDeleteError(r.urn) });
                    continue;
                }
                if (!r.options.retainOnDelete) {
                    await this.handlers[r.type]?.remove?.(r);
                }
                this.state.applied.delete(r.urn);
            }
        }
        return refused;
    }

    /**
     * Pulumi's parallel walk: a step starts once none of its dependencies is pending; steps that do not wait run at
     * once (a StatefulSet rollout takes only the real time it needs), and only when nothing else can start does the
     * clock move on, until a running Job finishes. A failed step holds back everything that depends on it.
     * @returns the failed steps
     */
    private async runSteps(steps: RecordedResource[], plan: StackPlan): Promise<string[]> {
        const { state } = this;
        const pending = new Map(steps.map((r) => [r.urn, r]));
        const running = new Map<string, { resource: RecordedResource; job: JobState; deadline: number }>();
        const failed: string[] = [];
        const finish = (r: RecordedResource, result: boolean | "refused") => {
            const ok = result === true;
            // A create its provider refused made nothing: no state entry, as after any failed create.
            if (result !== "refused") {
                state.applied.set(r.urn, { resource: r, failed: !ok });
            }
            if (!ok) {
                failed.push(`${r.type} ${r.name}`);
                dependentsOf(plan, r.urn).forEach((u) => pending.delete(u));
            }
        };
        const blocked = (r: RecordedResource) => r.dependencies.some((d) => pending.has(d) || running.has(d));
        while (pending.size > 0 || running.size > 0) {
            const ready = [...pending.values()].filter((r) => !blocked(r));
            const immediate = ready.filter((r) => r.type !== TYPES.job);
            if (immediate.length > 0) {
                for (const r of immediate) {
                    pending.delete(r.urn);
                    finish(r, await this.step(r, plan));
                }
                continue;
            }
            for (const r of ready) {
                pending.delete(r.urn);
                const was = state.applied.get(r.urn);
                const job = await this.jobs.startJobStep(r, was?.resource, was?.failed ?? false);
                if (job) {
                    running.set(r.urn, {
                        resource: r,
                        job,
                        deadline: job.startedAt + (r.inputs.spec.activeDeadlineSeconds ?? job.waitSeconds),
                    });
                } else {
                    finish(r, false);
                }
            }
            if (running.size === 0) {
                continue;
            }
            const deadline = Math.min(...[...running.values()].map((j) => j.deadline));
            await state.timeline.runUntil(
                () => [...running.values()].some((j) => j.job.state !== "waiting"),
                Math.max(0, deadline - state.timeline.now),
            );
            for (const [urn, j] of running) {
                if (j.job.state === "waiting" && state.timeline.now >= j.deadline) {
                    j.job.state = "failed";
                    j.job.output = `still waiting at activeDeadlineSeconds: ${j.job.output}`;
                }
                if (j.job.state !== "waiting") {
                    running.delete(urn);
                    finish(j.resource, await this.jobs.finishJobStep(j.job));
                }
            }
        }
        return failed;
    }

    /**
     * One resource's create, import or update, by its kind's handler; false when the step fails, "refused" when a
     * create or import failed before anything was made.
     */
    private async step(r: RecordedResource, plan: StackPlan): Promise<boolean | "refused"> {
        const step = this.stepOf(r, plan);
        const handler = this.handlers[r.type];
        if (!step.was && handler?.exists) {
            const exists = await handler.exists(r);
            const importId = r.options.importId;
            const refusal =
                importId !== undefined
                    ? exists
                        ? undefined
                        : `resource '${importId}' does not exist`
                    : exists
                      ? alreadyExistsError(r, step.name)
                      : undefined;
            if (refusal !== undefined) {
                await this.state.timeline.emit(
                    `pulumi: ${importId !== undefined ? "import" : "create"} of ${r.type} ${step.name}`,
                    async () => {
                        throw new Error(refusal);
                    },
                );
                return "refused";
            }
        }
        return handler?.apply ? handler.apply(step) : true;
    }

    private stepOf(r: RecordedResource, plan: StackPlan): Step {
        const was = this.state.applied.get(r.urn);
        return {
            resource: r,
            was,
            verb: was ? "update" : "create",
            name: r.inputs.metadata?.name ?? r.inputs.secretName ?? r.inputs.databaseName ?? r.name,
            plan,
        };
    }
}

/** The engine's refusal to delete a protected resource (pulumi/pulumi pkg/resource/deploy/step.go). */
function protectedDeleteError(urn: string): string {
    return (
        `resource "${urn}" cannot be deleted because it is protected. To unprotect the resource, either remove the ` +
        `\`protect\` flag from the resource in your Pulumi program and run \`pulumi up\`, or use the command: ` +
        `\`pulumi state unprotect '${urn}'\``
    );
}

/** A provider's refusal to create an object that exists (see the file's comment). */
function alreadyExistsError(r: RecordedResource, name: string): string {
    if (r.type.startsWith("azure-native:")) {
        return `cannot create already existing resource '${name}'`;
    }
    return `${String(r.inputs.kind ?? r.type).toLowerCase()}s "${name}" already exists`;
}
