/**
 * What the simulated cluster and the Pulumi state hold: the objects each controller reads and writes (Key Vault,
 * ExternalSecrets, Secrets, ConfigMaps, StatefulSets and their pods, Jobs, Certificates), the applications and every
 * version of their Secret, and the cluster addresses mapped to loopback ports. No behaviour beyond bookkeeping.
 */
import type { AppConfig } from "../../components/config/platform";
import type { RedisConfig } from "../../components/config/redis";
import type { RedisLayout } from "../../components/redis/layout";
import type { RecordedResource } from "../../offline/mockEngine";
import type { IssuedCertificate } from "../issuer";
import type { Pod } from "../pods";
import { StackPlan, secretKey } from "../plan";
import type { Timeline } from "../timeline";

export type Obj = Record<string, any>;

export interface ExternalSecretState {
    readonly urn: string;
    readonly body: Obj;
}

/** A Key Vault secret: its newest value and version URI, and every version's value by its id (Key Vault keeps them). */
export interface VaultSecret {
    readonly value: string;
    readonly version: string;
    readonly versions?: ReadonlyMap<string, string>;
}

export interface JobState {
    readonly name: string;
    readonly urn: string;
    readonly pod: Pod;
    readonly startedAt: number;
    readonly waitSeconds: number;
    state: "waiting" | "complete" | "failed";
    output: string;
}

export interface CertificateState {
    readonly spec: Obj;
    readonly issued: IssuedCertificate[];
}

export class ClusterState {
    /** What the cluster and the Pulumi state hold, by URN; `failed` marks a create/update that failed. */
    readonly applied = new Map<string, { resource: RecordedResource; failed: boolean }>();
    readonly vault = new Map<string, VaultSecret>();
    readonly externalSecrets = new Map<string, ExternalSecretState>();
    /** ExternalSecrets whose last reconcile failed (a remote secret missing). */
    readonly erroring = new Set<string>();
    readonly secrets = new Map<string, Record<string, string>>();
    /**
     * With the Redis settings of the plan that wrote them; the Redis files among them with their renderer (rendered per
     * pod for its loopback layout).
     */
    readonly configMaps = new Map<
        string,
        { data: Record<string, string>; redis: RedisConfig; render?: (layout: RedisLayout) => Record<string, string> }
    >();
    readonly statefulSets = new Map<string, Obj>();
    /** PersistentVolumeClaims by `<namespace>/<name>`: what each requests, of which StorageClass. */
    readonly claims = new Map<string, { storage: string; storageClass?: string }>();
    readonly pods = new Map<string, Pod[]>();
    readonly jobs = new Map<string, JobState>();
    readonly certificates = new Map<string, CertificateState>();
    /** Namespaces in the cluster, by name (the stack's and any made outside it). */
    readonly namespaces = new Set<string>();
    /** Every version of each application's Secret handed out since the start, oldest first. */
    readonly appEnvs = new Map<string, Record<string, string>[]>();
    readonly apps = new Map<string, AppConfig>();
    /** The stack each application of `apps` belongs to (the platform's or a tenant stack beside it). */
    private readonly appStacks = new Map<string, string>();
    /** Tenant stacks applied beside the platform's (`plan`), each by its last applied plan. */
    readonly tenantPlans = new Map<string, StackPlan>();
    /** Cluster addresses (`host:port`) to loopback ports. */
    readonly endpoints = new Map<string, number>();
    /** The local PostgreSQL's port, once it runs: every PostgreSQL host an application or Job names maps to it... */
    postgresPort?: number;
    /** ...unless it is the host of one of the stack's other servers (each its own local PostgreSQL), by host. */
    readonly postgresHosts = new Map<string, number>();

    constructor(
        public plan: StackPlan,
        readonly timeline: Timeline,
    ) {}

    get namespace(): string {
        return this.plan.config.cluster.platformNamespace;
    }

    allPods(): Pod[] {
        return [...this.pods.values()].flat();
    }

    /**
     * Stack `stack`'s applications are `apps` only: one removed from its config loses its access with this `up`; other
     * stacks' applications stay.
     */
    setApps(apps: readonly AppConfig[], stack: string = this.plan.stack): void {
        for (const name of [...this.apps.keys()].filter((n) => this.stackOfApp(n) === stack)) {
            if (!apps.some((a) => a.name === name)) {
                this.apps.delete(name);
                this.appStacks.delete(name);
            }
        }
        for (const app of apps) {
            this.apps.set(app.name, app);
            this.appStacks.set(app.name, stack);
        }
    }

    private stackOfApp(app: string): string {
        return this.appStacks.get(app) ?? this.plan.stack;
    }

    /** The last plan applied of `stack` (the platform's or a tenant's); undefined before its first `up`. */
    planOf(stack: string): StackPlan | undefined {
        return stack === this.plan.stack ? this.plan : this.tenantPlans.get(stack);
    }

    /** What the state holds of stack `stack` alone: a stack's `up` diffs and deletes only its own resources. */
    appliedOf(stack: string): { resource: RecordedResource; failed: boolean }[] {
        return [...this.applied.values()].filter((a) => urnStack(a.resource.urn) === stack);
    }

    /** Keeps the application's current Secret as its newest version (when it changed). */
    recordAppEnv(appName: string): void {
        const app = this.apps.get(appName);
        const env = app && this.secrets.get(secretKey(app.namespace, app.secretName));
        if (!env) {
            return;
        }
        const history = this.appEnvs.get(appName) ?? [];
        if (JSON.stringify(history[history.length - 1]) !== JSON.stringify(env)) {
            history.push({ ...env });
        }
        this.appEnvs.set(appName, history);
        this.registerPostgresHost(env.DB_HOST, env.DB_PORT);
    }

    registerPostgresHost(host: string | undefined, port: string | number | undefined): void {
        if (host && port !== undefined && !this.endpoints.has(`${host}:${port}`)) {
            if (this.postgresPort === undefined) {
                throw new Error(`PostgreSQL host ${host}:${port} named before the local PostgreSQL runs`);
            }
            this.endpoints.set(`${host}:${port}`, this.postgresHosts.get(host) ?? this.postgresPort);
        }
    }
}

/** The stack of a URN (`urn:pulumi:<stack>::<project>::<type>::<name>`). */
export function urnStack(urn: string): string {
    return urn.split("::")[0].slice("urn:pulumi:".length);
}

/** `<namespace>/<name>` of a Kubernetes object in the plan. */
export function objKey(r: Pick<RecordedResource, "inputs">): string {
    return secretKey(r.inputs.metadata.namespace, r.inputs.metadata.name);
}
