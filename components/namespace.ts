/** A namespace the platform creates or adopts, labelled for Pod Security (and, for applications, as a data consumer). */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { AppConfig, AppImport } from "./config/platform";
import {
    CONNECTION_DEMAND_ANNOTATION,
    CONSUMER_LABEL,
    POSTGRES_SERVER_ANNOTATION,
    REDIS_GROUP_ANNOTATION,
    recommendedLabels,
} from "./labels";
import { instancePrefix } from "./instanceNames";

export type PodSecurityLevel = "restricted" | "baseline";

/** The type token of `DataNamespace` (tests find it by this). */
export const NAMESPACE_COMPONENT_TYPE = "data-platform:cluster:DataNamespace";

/** Labels enforcing `level`, and warning and auditing against restricted in every case. */
export function podSecurityLabels(level: PodSecurityLevel): Record<string, string> {
    return {
        "pod-security.kubernetes.io/enforce": level,
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
    };
}

export interface DataNamespaceArgs {
    readonly name: string;
    /** Create the namespace; false adopts an existing one and applies only these labels and annotations. */
    readonly create: boolean;
    /** Pod Security Standard enforced on its pods; undefined: the namespace keeps its own Pod Security labels. */
    readonly podSecurity: PodSecurityLevel | undefined;
    readonly labels?: Record<string, string>;
    readonly annotations?: Record<string, string>;
    /** Protect it from deletion (it holds workloads and volumes). */
    readonly protect: boolean;
    /**
     * It exists and is imported (Pulumi's `import` option, by its name), not created: pulumi-kubernetes 4.29+ creates
     * client-side and fails AlreadyExists on an existing object (its CHANGELOG, #2926). Only with `create`.
     */
    readonly imported?: boolean;
}

export class DataNamespace extends pulumi.ComponentResource {
    /** The namespace name, known once the namespace (or its label patch) exists. */
    public readonly namespace: pulumi.Output<string>;
    /** The Kubernetes object; resources that must wait for the namespace depend on it. */
    public readonly resource: pulumi.CustomResource;

    constructor(name: string, args: DataNamespaceArgs, opts?: pulumi.ComponentResourceOptions) {
        super(NAMESPACE_COMPONENT_TYPE, name, { namespace: args.name, create: args.create }, opts);
        const metadata = {
            name: args.name,
            labels: { ...(args.podSecurity && podSecurityLabels(args.podSecurity)), ...args.labels },
            annotations: args.annotations,
        };
        // A namespace holds workloads and their volumes: never delete it with the stack.
        const safety = { parent: this, protect: args.protect, retainOnDelete: true };
        if (args.imported && !args.create) {
            throw new Error(`namespace ${args.name}: only a namespace the stack creates is imported`);
        }
        const ns = args.create
            ? new k8s.core.v1.Namespace(
                  `${name}-ns`,
                  { metadata },
                  { ...safety, import: args.imported ? args.name : undefined },
              )
            : // Adopted: only our labels are applied (server-side), the namespace stays its owner's.
              new k8s.core.v1.NamespacePatch(`${name}-ns`, { metadata }, safety);
        this.resource = ns;
        this.namespace = pulumi.output(ns.metadata).apply((m) => m.name ?? args.name);
        this.registerOutputs({ namespace: this.namespace });
    }
}

/**
 * An application's namespace: restricted (an adopted one only when the application asks), marked as a data consumer,
 * annotated with its connection demand; `imports` from `apps[].import`.
 */
export function appNamespaceArgs(
    app: AppConfig,
    protect: boolean,
    imports: readonly AppImport[] = [],
): DataNamespaceArgs {
    return {
        imported: imports.includes("namespace"),
        name: app.namespace,
        create: app.createNamespace,
        podSecurity: app.podSecurity === "restricted" ? "restricted" : undefined,
        labels: { [CONSUMER_LABEL]: "true", ...recommendedLabels({ partOf: app.name }) },
        annotations: {
            [CONNECTION_DEMAND_ANNOTATION]: String(app.replicas * app.poolSize),
            ...(app.postgres?.server === undefined
                ? {}
                : { [POSTGRES_SERVER_ANNOTATION]: instancePrefix("postgres", app.postgres.server) }),
            ...(app.redis?.group === undefined
                ? {}
                : { [REDIS_GROUP_ANNOTATION]: instancePrefix("redis", app.redis.group) }),
        },
        protect,
    };
}
