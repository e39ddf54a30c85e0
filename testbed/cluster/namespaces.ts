/**
 * Namespaces as the API server keeps them: made by a `Namespace` resource, or outside the stack (a team's own, or one
 * a removed application left behind: every `DataNamespace` is retained on delete), and gone only with a delete that is
 * not retained. A `NamespacePatch` needs none of this: server-side apply patches what exists.
 */
import { TYPES } from "../plan";
import type { HandlerTable } from "./applier";
import type { ClusterState } from "./state";

export class Namespaces {
    constructor(private readonly state: ClusterState) {}

    handlers(): HandlerTable {
        const name = (r: { inputs: Record<string, any> }): string => r.inputs.metadata.name;
        return {
            [TYPES.namespace]: {
                exists: async (r) => this.state.namespaces.has(name(r)),
                apply: async ({ resource }) => {
                    this.state.namespaces.add(name(resource));
                    return true;
                },
                remove: async (r) => {
                    this.state.namespaces.delete(name(r));
                },
            },
        };
    }
}
