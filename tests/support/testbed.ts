/**
 * Doubles for the testbed's controllers in unit tests: a recorded resource, a stack plan and a cluster state on a
 * timeline whose checks find nothing, so each controller runs in milliseconds without servers.
 */
import type { PlatformConfig } from "../../components/config";
import type { AppConfig } from "../../components/config/platform";
import type { RecordedResource } from "../../offline/mockEngine";
import { ClusterState } from "../../testbed/cluster/state";
import type { StackPlan } from "../../testbed/plan";
import { Timeline } from "../../testbed/timeline";

export const NAMESPACE = "platform";

/** A custom resource as the mock engine records it. */
export function resource(
    type: string,
    name: string,
    inputs: Record<string, any>,
    more: { dependencies?: string[]; outputs?: Record<string, any> } = {},
): RecordedResource {
    return {
        urn: `urn:pulumi:dev::data-platform::${type}::${name}`,
        type,
        name,
        custom: true,
        dependencies: more.dependencies ?? [],
        propertyDependencies: {},
        dependsOn: [],
        options: {} as RecordedResource["options"],
        inputs,
        secretPaths: [],
        unknownPaths: [],
        outputs: more.outputs ?? {},
    } as RecordedResource;
}

/** A plan of `resources` for a stack whose config holds only what the controllers read. */
export function stackPlan(
    resources: RecordedResource[],
    config: { apps?: Partial<AppConfig>[]; redis?: Record<string, unknown> } = {},
    file = "before.yaml",
): StackPlan {
    return {
        stack: "dev",
        file,
        config: {
            cluster: { platformNamespace: NAMESPACE },
            apps: config.apps ?? [],
            redis: { mode: "sentinel", masterName: "mymaster", tls: false, ...config.redis },
        } as unknown as PlatformConfig,
        run: { stack: "dev", resources, invokes: [], outputs: {}, outputSecretPaths: [] },
        byUrn: new Map(resources.map((r) => [r.urn, r])),
    };
}

/** A cluster state on a fresh timeline (no checks), holding `plan`. */
export function clusterState(plan: StackPlan = stackPlan([])): ClusterState {
    return new ClusterState(plan, new Timeline(async () => []));
}

/** The labels of the events the timeline recorded, in order, with their virtual time. */
export function eventLabels(state: ClusterState): string[] {
    return state.timeline.events.map((e) => `+${e.at}s ${e.event}`);
}
