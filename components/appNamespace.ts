/** An application's namespace, created or adopted, labelled for restricted Pod Security and as a data consumer. */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { AppConfig } from "./config/platform";

/** Label that marks namespaces allowed to reach the platform's data services (NetworkPolicies select on it). */
export const CONSUMER_LABEL = "data-platform.io/consumer";

/** Labels enforcing the restricted Pod Security Standard. */
export const RESTRICTED_POD_SECURITY: Readonly<Record<string, string>> = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
    "pod-security.kubernetes.io/warn": "restricted",
    "pod-security.kubernetes.io/audit": "restricted",
};

export interface AppNamespaceArgs {
    readonly app: AppConfig;
    /** Protect the namespace from deletion (it holds the application's workloads). */
    readonly protect: boolean;
}

export class AppNamespace extends pulumi.ComponentResource {
    /** The namespace name, known once the namespace (or its label patch) exists. */
    public readonly namespace: pulumi.Output<string>;

    constructor(name: string, args: AppNamespaceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("data-platform:apps:AppNamespace", name, { app: args.app.name, namespace: args.app.namespace }, opts);
        const metadata = {
            name: args.app.namespace,
            labels: { ...RESTRICTED_POD_SECURITY, [CONSUMER_LABEL]: "true", "app.kubernetes.io/part-of": args.app.name },
        };
        // A namespace holds everything the application runs: never delete it with the stack.
        const safety = { parent: this, protect: args.protect, retainOnDelete: true };
        const ns = args.app.createNamespace
            ? new k8s.core.v1.Namespace(`${name}-ns`, { metadata }, safety)
            // Adopted: only our labels are applied (server-side), the namespace stays the owner's.
            : new k8s.core.v1.NamespacePatch(`${name}-ns`, { metadata }, safety);
        this.namespace = ns.metadata.name;
        this.registerOutputs({ namespace: this.namespace });
    }
}
