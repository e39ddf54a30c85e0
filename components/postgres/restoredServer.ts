/**
 * The restore's one Pulumi-side change: the restored server of a `RestorePlan` (`npm run restore`) as a resource of
 * its own beside the live server, for a stack that applies the restore through its program instead of by hand. The
 * live server is not an input: adding this changes no existing resource (tests/unit/postgres/restorePolicy.test.ts
 * checks that with plan:diff, and runs it through the policy pack and the upstream schemas).
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { Server } from "@pulumi/azure-native/dbforpostgresql";
import { AZURE_SERVER_TYPE, type RestorePlan } from "./restorePlan";

export interface RestoredServerArgs {
    /** The plan whose restored server this is. */
    readonly plan: RestorePlan;
    /** `protect` it (the stack's `protect`): until the copy is checked it holds the only data as of t. */
    readonly protect: boolean;
}

export class RestoredServer extends pulumi.ComponentResource {
    constructor(name: string, args: RestoredServerArgs, opts?: pulumi.ComponentResourceOptions) {
        const { plan } = args;
        super(
            "data-platform:postgres:RestoredServer",
            name,
            { app: plan.app, time: plan.time, kind: plan.restoredServer.kind },
            opts,
        );
        // Retained on delete like the live server: removing it from the program must not be what drops its data;
        // the plan's cleanup deletes it once the copy is checked.
        const stateful = { parent: this, protect: args.protect, retainOnDelete: true };
        if (plan.restoredServer.kind === AZURE_SERVER_TYPE) {
            new Server(`${name}-server`, plan.restoredServer.inputs, stateful);
        } else {
            new k8s.apiextensions.CustomResource(
                `${name}-sgcluster`,
                plan.restoredServer.inputs as k8s.apiextensions.CustomResourceArgs,
                stateful,
            );
        }
        this.registerOutputs({});
    }
}
