/**
 * The lifecycle harness: starts a stack's servers exactly as its plan renders them, then applies a change (the next
 * plan) the way `pulumi up`, Kubernetes, External Secrets and cert-manager would, on an ordered virtual timeline, and
 * checks after every event that applications and servers keep working with what the Secrets hand out.
 *
 * Semantics modelled (each with its source):
 * - `pulumi up`: resources in dependency order; a StatefulSet update is awaited until its rollout finished, a Job
 *   until it completed (pulumi-kubernetes await logic); a failed step holds back its dependents; a resource whose
 *   create failed is updated again by the next `up`, and a Failed Job is awaited again unless it carries
 *   `pulumi.com/replaceUnready: "true"` (pulumi-kubernetes docs, "replaceUnready").
 * - External Secrets: an ExternalSecret is reconciled at once when it is created or its object changes (spec or
 *   metadata, e.g. an annotation), otherwise at its next `refreshInterval`; `creationPolicy: Owner` makes the Secret
 *   go with it (external-secrets.io docs, "Lifecycle" and "Owner").
 * - Kubelet: Secret and ConfigMap volumes are updated in place after the sync delay (kubelet sync period, 1 min by
 *   default), never through a `subPath` mount; env from a Secret is read at container start only
 *   (kubernetes.io/docs/concepts/configuration/secret/#using-secrets-as-files-from-a-pod).
 * - StatefulSet RollingUpdate: one pod at a time from the highest ordinal, each deleted (its preStop runs within
 *   the grace period) and re-created, the next only once it is Ready (kubernetes.io StatefulSet "Rolling Updates").
 * - cert-manager: a Certificate is re-issued `renewBefore` its expiry, with a new key (`rotationPolicy: Always`), and
 *   the TLS Secret rewritten (cert-manager.io/docs/usage/certificate/#renewal).
 *
 * Checks after each event: (a) every application connects to PostgreSQL and Redis with clients built only from its
 * current Secret; (b) every password a platform Secret hands out is accepted by the servers that consume it;
 * (c) every older version of an application's Secret still connects (pods started before keep their env);
 * (d) no write a replica acknowledged (`WAIT 1`) is lost; and the data pods' liveness probes pass.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tls from "tls";
import { isDeepStrictEqual } from "util";
import type { AppConfig } from "../../components/config/platform";
import type { RedisConfig } from "../../components/config/redis";
import { ACL_MARKER_PREFIX, USERS } from "../../components/redis/acl";
import { ACL_FILES, AUTH_FILES, RESTART_LOCK_SECONDS, WATCH_SECONDS, renderFiles } from "../../components/redis/files";
import { NAMES, POD_DIRS, RedisDirs, RedisLayout, kubernetesLayout } from "../../components/redis/layout";
import type { RecordedResource } from "../../offline/mockEngine";
import { LOOPBACK, Supervisor, freePorts, sleep, waitFor } from "../../testbed/servers/processes";
import { PG_BIN } from "../../testbed/servers/postgres";
import { requireRedisBinaries } from "../../testbed/servers/redis";
import {
    BackgroundWriter,
    appKey,
    checkAuth,
    checkPostgres,
    checkRedis,
    localPort,
    limited,
    lostWrites,
    redisOptions,
} from "./clients";
import { IssuedCertificate, Issuer } from "./issuer";
import { Pod, VolumeSource, podTemplate } from "./pods";
import { LifecyclePostgres } from "./postgres";
import { LifecycleInputError, StackPlan, TYPES, dependentsOf, secretKey, topologicalOrder } from "./plan";
import { Timeline, TimelineEvent, goDurationSeconds } from "./timeline";

type Obj = Record<string, any>;

/** Kubelet sync period (KubeletConfiguration `syncPeriod`, default 1m): how long a changed Secret takes to reach files. */
export const KUBELET_SYNC_SECONDS = 60;
/** How long a rolled pod may take to become Ready before the rollout counts as stuck (real seconds). */
const READY_TIMEOUT_MS = 90_000;
/** Watch periods a `reload` sidecar gets to apply projected files (one poll, its work, and slack), and the poll. */
const SIDECAR_PERIODS = 4;
const SIDECAR_POLL_MS = 200;
/** How long a group restarted at once may take to be healthy again (real seconds). */
const RESTART_HEALTHY_TIMEOUT_MS = 120_000;
const REPLACE_UNREADY = "pulumi.com/replaceUnready";

/**
 * The passwords `redis-auth` hands out, by file, and who must accept them: which ACL user, on the data nodes and/or
 * the Sentinels (components/redis/acl.ts). The ACL files themselves are what servers load, not handed-out passwords.
 */
const AUTH_FILE_CONSUMERS: Record<string, { user: string; data: boolean; sentinel: boolean }> = {
    [AUTH_FILES.admin]: { user: USERS.admin, data: true, sentinel: true },
    [AUTH_FILES.monitor]: { user: USERS.monitor, data: true, sentinel: true },
    [AUTH_FILES.replication]: { user: USERS.replication, data: true, sentinel: false },
    [AUTH_FILES.sentinel]: { user: USERS.sentinel, data: true, sentinel: true },
    [AUTH_FILES.sentinelClient]: { user: "default", data: false, sentinel: true },
};

interface ExternalSecretState {
    readonly urn: string;
    readonly body: Obj;
}

interface JobState {
    readonly name: string;
    readonly urn: string;
    readonly pod: Pod;
    readonly startedAt: number;
    readonly waitSeconds: number;
    state: "waiting" | "complete" | "failed";
    output: string;
}

interface CertificateState {
    readonly spec: Obj;
    readonly issued: IssuedCertificate[];
}

export interface LifecycleOptions {
    /** Called with every event as it happens (the CLI prints them). */
    readonly onEvent?: (e: TimelineEvent) => void;
    /** Working directory; default a new one under the OS temp dir (removed by `stop`). */
    readonly root?: string;
}

export interface LifecycleSummary {
    readonly events: number;
    readonly failedConnections: number;
    readonly lostWrites: number;
    readonly otherFailures: number;
    readonly failures: string[];
    readonly acknowledgedWrites: number;
    readonly longestWritePauseMs: number;
}

export class Lifecycle {
    readonly timeline: Timeline;
    private plan: StackPlan;
    /** What the cluster and the Pulumi state hold, by URN; `failed` marks a create/update that failed. */
    private readonly applied = new Map<string, { resource: RecordedResource; failed: boolean }>();
    private readonly vault = new Map<string, { value: string; version: string }>();
    private readonly externalSecrets = new Map<string, ExternalSecretState>();
    /** ExternalSecrets whose last reconcile failed (a remote secret missing). */
    private readonly erroring = new Set<string>();
    private readonly secrets = new Map<string, Record<string, string>>();
    private readonly configMaps = new Map<string, { data: Record<string, string>; redis: RedisConfig }>();
    private readonly statefulSets = new Map<string, Obj>();
    private readonly pods = new Map<string, Pod[]>();
    private readonly jobs = new Map<string, JobState>();
    private readonly certificates = new Map<string, CertificateState>();
    /** Every version of each application's Secret handed out since the start, oldest first. */
    private readonly appEnvs = new Map<string, Record<string, string>[]>();
    private readonly apps = new Map<string, AppConfig>();
    private readonly adminPasswords: string[] = [];
    private readonly endpoints = new Map<string, number>();
    private readonly supervisor: Supervisor;
    private readonly ownRoot: boolean;
    private writer?: BackgroundWriter;
    private writerApp?: string;
    private connectionFailures = 0;
    private lostWriteCount = 0;
    private readonly root: string;

    private pg!: LifecyclePostgres;

    private constructor(
        before: StackPlan,
        private readonly ports: { data: number[]; sentinels: number[] },
        private readonly pgStarting: Promise<LifecyclePostgres>,
        private readonly issuer: Issuer,
        root: string,
        ownRoot: boolean,
        options: LifecycleOptions,
    ) {
        this.plan = before;
        this.root = root;
        this.ownRoot = ownRoot;
        this.supervisor = new Supervisor(path.join(root, "logs"));
        this.timeline = new Timeline(() => this.check(), options.onEvent);
    }

    private get namespace(): string {
        return this.plan.config.cluster.platformNamespace;
    }

    /** Starts the servers of `before` as its plan renders them, with every Secret synced, and a background writer. */
    static async start(before: StackPlan, options: LifecycleOptions = {}): Promise<Lifecycle> {
        requireRedisBinaries();
        const root = options.root ?? fs.mkdtempSync(path.join(os.tmpdir(), "dp-lifecycle-"));
        const redis = before.redis;
        const dataCount = redis.mode === "sentinel" ? redis.replicas : 1;
        const sentinelCount = redis.mode === "sentinel" ? redis.sentinels : 0;
        const free = await freePorts(dataCount + sentinelCount);
        const ports = { data: free.slice(0, dataCount), sentinels: free.slice(dataCount) };
        const server = before.run.resources.find((r) => r.type === TYPES.pgServer);
        // PostgreSQL starts while the Redis pods do.
        const pg = LifecyclePostgres.start({
            mode: before.config.postgres.mode,
            maxConnections: before.config.postgres.maxConnections,
            adminLogin: server?.inputs.administratorLogin,
            adminPassword: server?.inputs.administratorLoginPassword,
        });
        const lifecycle = new Lifecycle(
            before,
            ports,
            pg,
            new Issuer(path.join(root, "issuer")),
            root,
            !options.root,
            options,
        );
        try {
            await lifecycle.bootstrap(before);
        } catch (err) {
            await lifecycle.stop();
            throw err;
        }
        return lifecycle;
    }

    // ---------------------------------------------------------------------------------------------------------
    // The first deploy, already settled: every object as the plan has it, Secrets synced, servers healthy.

    private async bootstrap(plan: StackPlan): Promise<void> {
        this.registerEndpoints(plan);
        for (const app of plan.config.apps) {
            this.apps.set(app.name, app);
        }
        // Settled: Key Vault holds every secret before any ExternalSecret reads it.
        const order = topologicalOrder(plan.run.resources)
            .filter((r) => r.custom)
            .sort((a, b) => Number(b.type === TYPES.vaultSecret) - Number(a.type === TYPES.vaultSecret));
        for (const r of order) {
            this.applied.set(r.urn, { resource: r, failed: false });
            switch (r.type) {
                case TYPES.vaultSecret:
                    this.writeVault(r);
                    break;
                case TYPES.externalSecret:
                    this.externalSecrets.set(objKey(r), { urn: r.urn, body: r.inputs });
                    this.syncExternalSecret(objKey(r), false);
                    break;
                case TYPES.configMap:
                    this.storeConfigMap(r, plan);
                    break;
                case TYPES.certificate:
                    this.issueCertificate(r.inputs, false);
                    break;
            }
        }
        // Pods last: their Secrets exist now (the StatefulSets dependsOn them).
        for (const r of order.filter((x) => x.type === TYPES.statefulSet)) {
            this.statefulSets.set(r.inputs.metadata.name, r.inputs);
            this.pods.set(
                r.inputs.metadata.name,
                this.portsOf(r.inputs.metadata.name).map(
                    (port, ordinal) =>
                        new Pod(
                            { set: r.inputs.metadata.name, ordinal, port },
                            path.join(this.root, "pods", `${r.inputs.metadata.name}-${ordinal}`),
                            this.supervisor,
                            (source, pod) => this.volumeContent(source, pod),
                        ),
                ),
            );
        }
        const allPods = [...this.pods.values()].flat();
        for (const pod of allPods) {
            pod.start(podTemplate(this.statefulSets.get(pod.id.set)!));
        }
        this.pg = await this.pgStarting;
        for (const r of order.filter((x) => x.type === TYPES.pgDatabase)) {
            await this.pg.createDatabase(r.inputs.databaseName);
        }
        for (const r of order.filter((x) => x.type === TYPES.sgCluster)) {
            await this.pg.setSuperuserPassword(this.stackGresSuperuserPassword(r.inputs));
        }
        await this.waitHealthy(30_000);
        for (const r of order.filter((x) => x.type === TYPES.job)) {
            const job = this.startJob(r);
            await this.tryJob(job);
            if (job.state !== "complete") {
                throw new Error(`the first deploy's Job ${job.name} did not complete: ${job.output}`);
            }
        }
        for (const app of plan.config.apps) {
            this.recordAppEnv(app.name);
        }
        const writerApp = plan.config.apps[0];
        const env = this.appEnvs.get(writerApp.name)?.[0];
        if (env && plan.redis.mode === "sentinel") {
            this.writerApp = writerApp.name;
            this.writer = new BackgroundWriter(
                redisOptions(env, this.endpoints, this.issuer.caFile),
                appKey(writerApp, "lifecycle-writer"),
            );
        }
        await this.timeline.emit(`servers of ${plan.file} started as rendered`, async () => ({
            postgres: { mode: this.pg.mode, port: this.pg.port },
            redis: { mode: plan.redis.mode, data: this.ports.data, sentinels: this.ports.sentinels },
        }));
    }

    private portsOf(statefulSet: string): number[] {
        return statefulSet === NAMES.sentinel ? this.ports.sentinels : this.ports.data;
    }

    /** Cluster addresses (pod FQDNs, Service names) of Redis to the loopback ports; PostgreSQL hosts as seen. */
    private registerEndpoints(plan: StackPlan): void {
        const layout = kubernetesLayout(plan.redis, plan.config.cluster.platformNamespace);
        layout.dataNodes.forEach((e, i) => this.endpoints.set(`${e.host}:${e.port}`, this.ports.data[i]));
        layout.sentinels.forEach((e, i) => this.endpoints.set(`${e.host}:${e.port}`, this.ports.sentinels[i]));
        if (layout.standaloneService) {
            // The standalone Service selects the one data pod.
            this.endpoints.set(`${layout.standaloneService.host}:${layout.standaloneService.port}`, this.ports.data[0]);
        }
    }

    private registerPostgresHost(host: string | undefined, port: string | number | undefined): void {
        if (host && port !== undefined && !this.endpoints.has(`${host}:${port}`)) {
            this.endpoints.set(`${host}:${port}`, this.pg.port);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Cluster content.

    private writeVault(r: RecordedResource): boolean {
        const value = String(r.inputs.properties?.value ?? "");
        const version = String(r.outputs.properties?.secretUriWithVersion ?? "");
        const old = this.vault.get(r.inputs.secretName);
        this.vault.set(r.inputs.secretName, { value, version });
        return old?.version !== version;
    }

    private storeConfigMap(r: RecordedResource, plan: StackPlan): void {
        const name = r.inputs.metadata.name;
        const data = r.inputs.data ?? {};
        if (name === NAMES.config) {
            // Pods run the files rendered for loopback; that is faithful only if the plan holds exactly renderFiles' text.
            const rendered = renderFiles(
                plan.redis,
                kubernetesLayout(plan.redis, plan.config.cluster.platformNamespace),
            );
            if (!isDeepStrictEqual(rendered, data)) {
                throw new LifecycleInputError(
                    `the plan's ConfigMap ${name} is not what renderFiles renders from the Redis component's config; ` +
                        "the harness cannot run it faithfully",
                );
            }
        }
        this.configMaps.set(secretKey(r.inputs.metadata.namespace, name), { data, redis: plan.redis });
    }

    /** What ESO would write into the target Secret now; an error when a remote key or property is missing. */
    private esoData(body: Obj): Record<string, string> {
        const out: Record<string, string> = {};
        for (const d of body.spec.data ?? []) {
            const remote = this.vault.get(d.remoteRef.key);
            if (!remote) {
                throw new Error(`Key Vault has no secret ${d.remoteRef.key}`);
            }
            if (d.remoteRef.property === undefined) {
                out[d.secretKey] = remote.value;
            } else {
                const parsed = JSON.parse(remote.value);
                if (!(d.remoteRef.property in parsed)) {
                    throw new Error(`Key Vault secret ${d.remoteRef.key} has no property ${d.remoteRef.property}`);
                }
                out[d.secretKey] = String(parsed[d.remoteRef.property]);
            }
        }
        for (const d of body.spec.dataFrom ?? []) {
            const remote = this.vault.get(d.extract?.key);
            if (!remote) {
                throw new Error(`Key Vault has no secret ${d.extract?.key}`);
            }
            Object.assign(out, JSON.parse(remote.value));
        }
        return out;
    }

    /**
     * ESO's reconcile of one ExternalSecret; returns the Secret keys that changed. A remote secret that does not exist
     * yet fails the reconcile, which ESO retries with a short backoff: modelled as a retry when Key Vault gets it.
     */
    private syncExternalSecret(key: string, schedule = true): string[] | { syncError: string } {
        const es = this.externalSecrets.get(key);
        if (!es) {
            return [];
        }
        const target = secretKey(es.body.metadata.namespace, es.body.spec.target?.name ?? es.body.metadata.name);
        let data: Record<string, string>;
        try {
            data = this.esoData(es.body);
            this.erroring.delete(key);
        } catch (err) {
            this.erroring.add(key);
            return { syncError: (err as Error).message };
        }
        const old = this.secrets.get(target);
        const changed = Object.keys({ ...old, ...data }).filter((k) => old?.[k] !== data[k]);
        if (changed.length > 0) {
            this.secrets.set(target, data);
            if (schedule) {
                this.secretChanged(target);
            }
        }
        return changed.sort();
    }

    /** After a Secret's content changed: the kubelet projects it into every pod that mounts it, after its sync delay. */
    private secretChanged(target: string): void {
        const [namespace, name] = target.split("/");
        for (const app of this.apps.values()) {
            if (app.namespace === namespace && app.secretName === name) {
                this.recordAppEnv(app.name);
            }
        }
        this.scheduleKubelet("secret", namespace, name);
    }

    private scheduleKubelet(kind: VolumeSource["kind"], namespace: string, name: string): void {
        if (namespace !== this.namespace) {
            return;
        }
        const label = `kubelet projects ${kind === "secret" ? "Secret" : "ConfigMap"} ${namespace}/${name} into the pods that mount it`;
        if (this.timeline.pending(label)) {
            return;
        }
        this.timeline.schedule(KUBELET_SYNC_SECONDS, label, async () => {
            const updated: string[] = [];
            for (const pod of this.allPods()) {
                if (pod.running() && pod.mounts(kind, name) && pod.sync().length > 0) {
                    updated.push(pod.name);
                }
            }
            const waiting = [...this.jobs.values()].filter((job) => job.state === "waiting");
            const jobs = waiting.filter((job) => job.pod.mounts(kind, name) && job.pod.sync().length > 0);
            const sidecarMs = updated.length > 0 ? await this.awaitReloadSidecars() : undefined;
            // A waiting Job looks again: at its files if they changed, at the servers (the sidecars applied theirs).
            for (const job of waiting) {
                await this.tryJob(job);
            }
            return {
                pods: updated,
                jobs: jobs.map((job) => job.name),
                ...(sidecarMs !== undefined ? { sidecarMs } : {}),
            };
        });
    }

    /**
     * The pods' `reload` sidecars apply changed files within WATCH_SECONDS of real time: polls the servers until they
     * accept what the Secrets (platform and applications) hand out and serve the newest certificate, at most a few watch periods; what still
     * differs then is left to the checks. @returns real milliseconds waited
     */
    private async awaitReloadSidecars(): Promise<number> {
        const started = Date.now();
        const redisCa = fs.readFileSync(this.issuer.caFile, "utf8");
        // Sentinels restart one at a time for a new certificate, each within its lock's time.
        const limitMs = (SIDECAR_PERIODS * WATCH_SECONDS + this.ports.sentinels.length * RESTART_LOCK_SECONDS) * 1000;
        while (Date.now() - started < limitMs) {
            const appChecks = [...this.apps.values()].map((app) => () => {
                const env = this.secrets.get(secretKey(app.namespace, app.secretName));
                return env
                    ? checkRedis(env, appKey(app, "lifecycle-check"), this.endpoints, redisCa)
                    : Promise.resolve(undefined);
            });
            const checks = [...this.platformCredentialChecks(redisCa), ...appChecks, ...this.mountedAclChecks(redisCa)];
            const refused = (await limited(checks)).some((f) => f !== undefined);
            if (!refused && (await this.serveNewestCertificates())) {
                break;
            }
            await sleep(SIDECAR_POLL_MS);
        }
        return Date.now() - started;
    }

    /** For each running pod: has its server loaded the users file the pod mounts (its marker user)? */
    private mountedAclChecks(ca: string): (() => Promise<string | undefined>)[] {
        return this.allPods()
            .filter((pod) => pod.mainRunning())
            .flatMap((pod) => {
                const file = pod.id.set === NAMES.sentinel ? ACL_FILES.sentinel : ACL_FILES.data;
                const text = readIfExists(path.join(pod.localPath(POD_DIRS.acl), file));
                const marker = new RegExp(`^user (${ACL_MARKER_PREFIX}\\S+) `, "m").exec(text)?.[1];
                if (marker === undefined) {
                    return [];
                }
                return [
                    async () => {
                        // The marker may run no command: NOPERM after a successful AUTH means the file is loaded.
                        const err = await checkAuth(pod.port, marker, "marker", this.plan.redis.tls ? ca : undefined);
                        return err !== undefined && /NOPERM/.test(err)
                            ? undefined
                            : `${pod.name}: has not loaded ${file} (${marker}): ${err}`;
                    },
                ];
            });
    }

    /** Whether every running TLS pod presents the newest certificate issued (true without TLS). */
    private async serveNewestCertificates(): Promise<boolean> {
        if (!this.plan.redis.tls) {
            return true;
        }
        const newest = new Set([...this.certificates.values()].map((c) => c.issued[c.issued.length - 1]?.fingerprint));
        const served = await Promise.all(
            this.allPods()
                .filter((p) => p.running())
                .map((p) => servedFingerprint(p.port)),
        );
        return served.every((f) => f !== undefined && newest.has(f));
    }

    private volumeContent(source: VolumeSource, pod: Pod): Record<string, string> | undefined {
        const key = secretKey(this.namespace, source.name);
        if (source.kind === "secret") {
            return this.secrets.get(key);
        }
        const cm = this.configMaps.get(key);
        if (!cm) {
            return undefined;
        }
        return source.name === NAMES.config ? renderFiles(cm.redis, this.localLayout(pod)) : cm.data;
    }

    /** The layout a pod's files are rendered for: loopback ports, its own volume directories. */
    private localLayout(pod: Pod): RedisLayout {
        const dirs = Object.fromEntries(
            Object.entries(POD_DIRS).map(([k, p]) => [k, pod.localPath(p)]),
        ) as unknown as RedisDirs;
        return {
            dataNodes: this.ports.data.map((port) => ({ host: LOOPBACK, port })),
            sentinels: this.ports.sentinels.map((port) => ({ host: LOOPBACK, port })),
            dirs,
        };
    }

    private issueCertificate(body: Obj, schedule = true): IssuedCertificate {
        const key = secretKey(body.metadata.namespace, body.metadata.name);
        const state: CertificateState = this.certificates.get(key) ?? { spec: body.spec, issued: [] };
        this.certificates.set(key, state);
        const cert = this.issuer.issue(this.timeline?.now ?? 0, goDurationSeconds(body.spec.duration ?? "2160h"));
        state.issued.push(cert);
        const target = secretKey(body.metadata.namespace, body.spec.secretName);
        this.secrets.set(target, cert.files);
        if (schedule) {
            this.secretChanged(target);
        }
        return cert;
    }

    private recordAppEnv(appName: string): void {
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

    private allPods(): Pod[] {
        return [...this.pods.values()].flat();
    }

    // ---------------------------------------------------------------------------------------------------------
    // PostgreSQL: the login Job.

    private startJob(r: RecordedResource): JobState {
        const name = r.inputs.metadata.name;
        const pod = new Pod(
            { set: name, ordinal: 0, port: 0 },
            path.join(this.root, "jobs", name),
            this.supervisor,
            (s, p) => this.volumeContent(s, p),
        );
        const template = r.inputs.spec.template;
        pod.prepare(template);
        const env = (template.spec.containers[0].env ?? []) as Obj[];
        const wait = env.find((e) => e.name === "WAIT_SECONDS")?.value;
        const job: JobState = {
            name,
            urn: r.urn,
            pod,
            startedAt: this.timeline.now,
            waitSeconds: wait !== undefined ? Number(wait) : (r.inputs.spec.activeDeadlineSeconds ?? 600),
            state: "waiting",
            output: "",
        };
        this.jobs.set(name, job);
        return job;
    }

    /**
     * Runs the Job's real entrypoint once against the pod's current files; its own wait (for the synced Secret, for
     * the servers) is virtual: WAIT_SECONDS=0 per attempt, retried after each kubelet sync, until the Job's deadline.
     */
    private async tryJob(job: JobState): Promise<void> {
        const result = await job.pod.runToCompletion((env) => {
            this.registerPostgresHost(env.PGHOST, env.PGPORT);
            const postgres: Record<string, string> =
                env.PGHOST === undefined
                    ? {}
                    : {
                          PGHOST: LOOPBACK,
                          PGPORT: String(localPort(this.endpoints, env.PGHOST, env.PGPORT)),
                          PATH: `${PG_BIN}:${process.env.PATH ?? "/usr/bin:/bin"}`,
                      };
            return { ...env, WAIT_SECONDS: "0", ...postgres };
        }, 60_000);
        job.output = result.output.trim();
        if (result.code === 0) {
            job.state = "complete";
        } else if (/does not hold the expected password|not yet applied/.test(result.output)) {
            job.state = this.timeline.now - job.startedAt >= job.waitSeconds ? "failed" : "waiting";
        } else {
            job.state = "failed";
        }
    }

    /** The password StackGres gives its superuser: the one the SGCluster's credentials Secret holds at creation. */
    private stackGresSuperuserPassword(cluster: Obj): string {
        const ref = cluster.spec?.configurations?.credentials?.users?.superuser?.password;
        const password = ref && this.secrets.get(secretKey(cluster.metadata.namespace, ref.name))?.[ref.key];
        if (password === undefined) {
            throw new Error(
                `SGCluster ${cluster.metadata.name}: no superuser password (Secret ${ref?.name}, key ${ref?.key})`,
            );
        }
        return password;
    }

    // ---------------------------------------------------------------------------------------------------------
    // `pulumi up` to a new plan.

    /** Applies `after` as `pulumi up` would, then lets the timeline run until nothing more is pending. */
    async apply(after: StackPlan): Promise<{ failedSteps: string[] }> {
        this.registerEndpoints(after);
        // An application removed from the config loses its access in this `up` (its users go with the users files,
        // before its Secret is deleted at the end): only the applications of the new config must keep connecting.
        for (const name of [...this.apps.keys()].filter((n) => !after.config.apps.some((a) => a.name === n))) {
            this.apps.delete(name);
        }
        for (const app of after.config.apps) {
            this.apps.set(app.name, app);
        }
        const previous = this.plan;
        const order = topologicalOrder(after.run.resources).filter((r) => r.custom);
        const steps = order.filter((r) => {
            const was = this.applied.get(r.urn);
            return !was || was.failed || JSON.stringify(was.resource.inputs) !== JSON.stringify(r.inputs);
        });
        const deleted = [...this.applied.values()].map((a) => a.resource).filter((r) => !after.byUrn.has(r.urn));
        await this.timeline.emit(
            `pulumi up ${path.basename(previous.file)} -> ${path.basename(after.file)}`,
            async () => ({
                create: steps.filter((r) => !this.applied.has(r.urn)).length,
                update: steps.filter((r) => this.applied.has(r.urn)).length,
                delete: deleted.length,
            }),
        );
        this.plan = after;
        const failedSteps = await this.runSteps(steps, after);
        if (failedSteps.length === 0) {
            for (const r of topologicalOrder(deleted).reverse()) {
                await this.remove(r);
                this.applied.delete(r.urn);
            }
        }
        const held2 = steps.filter((r) => this.applied.get(r.urn)?.resource !== r).map((r) => r.urn);
        await this.timeline.emit(failedSteps.length === 0 ? "pulumi up finished" : "pulumi up failed", async () => ({
            failedSteps,
            heldBack: held2.length,
        }));
        if (failedSteps.length > 0) {
            this.timeline.events[this.timeline.events.length - 1].failures.push(
                `pulumi up failed at ${failedSteps.join(", ")}${held2.length ? `; ${held2.length} dependent resources not applied` : ""}`,
            );
        }
        await this.timeline.runUntil();
        return { failedSteps };
    }

    /**
     * Pulumi's parallel walk: a step starts once none of its dependencies is pending; steps that do not wait run at
     * once (a StatefulSet rollout takes only the real time it needs), and only when nothing else can start does the
     * clock move on, until a running Job finishes. A failed step holds back everything that depends on it.
     * @returns the failed steps
     */
    private async runSteps(steps: RecordedResource[], plan: StackPlan): Promise<string[]> {
        const pending = new Map(steps.map((r) => [r.urn, r]));
        const running = new Map<string, { resource: RecordedResource; job: JobState; deadline: number }>();
        const failed: string[] = [];
        const finish = (r: RecordedResource, ok: boolean) => {
            this.applied.set(r.urn, { resource: r, failed: !ok });
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
                const was = this.applied.get(r.urn);
                const job = await this.startJobStep(r, was?.resource, was?.failed ?? false);
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
            await this.timeline.runUntil(
                () => [...running.values()].some((j) => j.job.state !== "waiting"),
                Math.max(0, deadline - this.timeline.now),
            );
            for (const [urn, j] of running) {
                if (j.job.state === "waiting" && this.timeline.now >= j.deadline) {
                    j.job.state = "failed";
                    j.job.output = `still waiting at activeDeadlineSeconds: ${j.job.output}`;
                }
                if (j.job.state !== "waiting") {
                    running.delete(urn);
                    finish(j.resource, await this.finishJobStep(j.job));
                }
            }
        }
        return failed;
    }

    /** One resource's create or update; false when the step fails (pulumi would stop its dependents). */
    private async step(r: RecordedResource, plan: StackPlan): Promise<boolean> {
        const was = this.applied.get(r.urn);
        const verb = was ? "update" : "create";
        const name = r.inputs.metadata?.name ?? r.inputs.secretName ?? r.name;
        switch (r.type) {
            case TYPES.vaultSecret: {
                const changed = this.writeVault(r);
                if (changed) {
                    await this.timeline.emit(`Key Vault: new version of ${name}`, async () => {
                        this.scheduleRefreshes(name);
                    });
                    for (const key of [...this.erroring].filter((k) => this.reads(k).includes(name))) {
                        await this.timeline.emit(
                            `ESO retries ExternalSecret ${key} (its Key Vault secret exists now)`,
                            async () => ({
                                changedKeys: this.syncExternalSecret(key),
                            }),
                        );
                    }
                }
                return true;
            }
            case TYPES.externalSecret: {
                const key = objKey(r);
                this.externalSecrets.set(key, { urn: r.urn, body: r.inputs });
                const event = await this.timeline.emit(`ESO reconciles ExternalSecret ${key} (${verb}d)`, async () => ({
                    changedKeys: this.syncExternalSecret(key),
                }));
                return event.failures.length === 0 || !event.failures.some((f) => f.startsWith("ESO"));
            }
            case TYPES.configMap: {
                this.storeConfigMap(r, plan);
                this.scheduleKubelet("configMap", r.inputs.metadata.namespace, name);
                return true;
            }
            case TYPES.certificate: {
                await this.timeline.emit(`cert-manager issues Certificate ${objKey(r)} (${verb}d)`, async () => {
                    this.issueCertificate(r.inputs);
                });
                return true;
            }
            case TYPES.statefulSet:
                return this.rollStatefulSet(r);
            case TYPES.pgServer: {
                const password = r.inputs.administratorLoginPassword;
                if (was && was.resource.inputs.administratorLoginPassword !== password) {
                    await this.timeline.emit(
                        `Azure sets the new password of admin ${r.inputs.administratorLogin}`,
                        () => this.pg.setAdminPassword(password),
                    );
                }
                return true;
            }
            case TYPES.pgDatabase:
                // A new databaseName replaces the database (ARM: create the new one; the old is retained).
                if (!was || was.resource.inputs.databaseName !== r.inputs.databaseName) {
                    await this.timeline.emit(`Azure creates database ${r.inputs.databaseName}`, async () => ({
                        created: await this.pg.createDatabase(r.inputs.databaseName),
                    }));
                }
                return true;
            case TYPES.pgConfiguration: {
                const parameter = r.inputs.configurationName;
                if (parameter === "max_connections") {
                    // Static on Azure: stored now, effective at the next restart (which the harness performs at once).
                    await this.timeline.emit(
                        `Azure sets static parameter ${parameter}=${r.inputs.value}; server restarted`,
                        async () => {
                            await this.pg.setParameter(parameter, r.inputs.value, true);
                            return { [parameter]: await this.pg.show(parameter) };
                        },
                    );
                }
                return true;
            }
            default:
                return true;
        }
    }

    /** ESO reads Key Vault again at each ExternalSecret's next refresh (worst case a full interval after the write). */
    private scheduleRefreshes(vaultSecret: string): void {
        for (const [key, es] of this.externalSecrets) {
            if (!this.reads(key).includes(vaultSecret)) {
                continue;
            }
            const label = `ESO refreshes ExternalSecret ${key} (refreshInterval ${es.body.spec.refreshInterval})`;
            if (!this.timeline.pending(label)) {
                this.timeline.schedule(goDurationSeconds(es.body.spec.refreshInterval ?? "1h"), label, async () => ({
                    changedKeys: this.syncExternalSecret(key),
                }));
            }
        }
    }

    /** The Key Vault secrets an ExternalSecret reads. */
    private reads(key: string): string[] {
        const spec = this.externalSecrets.get(key)?.body.spec ?? {};
        return [
            ...(spec.data ?? []).map((d: Obj) => d.remoteRef.key),
            ...(spec.dataFrom ?? []).map((d: Obj) => d.extract?.key),
        ];
    }

    private async remove(r: RecordedResource): Promise<void> {
        if (r.type === TYPES.externalSecret) {
            const key = objKey(r);
            const es = this.externalSecrets.get(key);
            this.externalSecrets.delete(key);
            const policy = es?.body.spec.target?.creationPolicy ?? "Owner";
            const target = secretKey(r.inputs.metadata.namespace, es?.body.spec.target?.name ?? r.inputs.metadata.name);
            await this.timeline.emit(`ExternalSecret ${key} deleted (creationPolicy ${policy})`, async () => {
                if (policy === "Owner") {
                    this.secrets.delete(target);
                    return { secretDeleted: target };
                }
                return { secretKept: target };
            });
        } else if (r.type === TYPES.vaultSecret) {
            this.vault.delete(r.inputs.secretName);
        } else if (r.type === TYPES.statefulSet || r.type === TYPES.configMap) {
            throw new LifecycleInputError(
                `the change deletes ${r.type} ${r.name}; the harness does not remove servers`,
            );
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // StatefulSets and Jobs.

    private async rollStatefulSet(r: RecordedResource): Promise<boolean> {
        const name = r.inputs.metadata.name;
        const old = this.statefulSets.get(name);
        if (!old) {
            throw new LifecycleInputError(`the change creates StatefulSet ${name}; the harness does not add servers`);
        }
        if (r.inputs.spec.replicas !== old.spec.replicas) {
            throw new LifecycleInputError(`the change scales StatefulSet ${name}; the harness does not resize groups`);
        }
        this.statefulSets.set(name, r.inputs);
        const template = podTemplate(r.inputs);
        const pods = [...(this.pods.get(name) ?? [])].reverse();
        for (const pod of pods) {
            if (JSON.stringify(pod.template) === JSON.stringify(template)) {
                continue;
            }
            const event = await this.timeline.emit(
                `rolling StatefulSet ${name}: ${pod.name} deleted and re-created`,
                async () => {
                    const started = Date.now();
                    const { preStop } = await pod.stop();
                    pod.start(template);
                    await this.waitReady(pod);
                    return { preStop, seconds: (Date.now() - started) / 1000 };
                },
            );
            if (event.failures.some((f) => f.startsWith("rolling"))) {
                return false;
            }
        }
        return true;
    }

    private async waitReady(pod: Pod, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
        let last: string[] = [];
        await waitFor(
            `${pod.name} Ready`,
            timeoutMs,
            async () => {
                last = await pod.probe("readinessProbe");
                return last.length === 0 ? true : undefined;
            },
            250,
        ).catch((err: Error) => {
            throw new Error(`${err.message} (readiness: ${last.join("; ")})`);
        });
    }

    /** A new Job (a new name, or a replacement) starts and runs its entrypoint once; undefined when pulumi is wedged. */
    private async startJobStep(
        r: RecordedResource,
        was: RecordedResource | undefined,
        failedBefore: boolean,
    ): Promise<JobState | undefined> {
        const name = r.inputs.metadata.name;
        const replaceUnready = r.inputs.metadata.annotations?.[REPLACE_UNREADY] === "true";
        if (this.jobs.has(name) && failedBefore && was && isDeepStrictEqual(was.inputs, r.inputs) && !replaceUnready) {
            await this.timeline.emit(`pulumi awaits Job ${name} again`, async () => {
                throw new Error(
                    `Job ${name} stays Failed: pulumi-kubernetes awaits the same failed Job (no ${REPLACE_UNREADY}), so every later up fails`,
                );
            });
            return undefined;
        }
        const job = this.startJob(r);
        await this.timeline.emit(`Job ${name} starts`, async () => {
            await this.tryJob(job);
            return { state: job.state };
        });
        return job;
    }

    private async finishJobStep(job: JobState): Promise<boolean> {
        await this.timeline.emit(`pulumi: Job ${job.name} ${job.state}`, async () => {
            if (job.state !== "complete") {
                throw new Error(
                    `Job ${job.name} failed after ${this.timeline.now - job.startedAt} s: ${lastLine(job.output)}`,
                );
            }
            return { seconds: this.timeline.now - job.startedAt };
        });
        return job.state === "complete";
    }

    // ---------------------------------------------------------------------------------------------------------
    // Operations a scenario performs besides a change.

    /** Asks the Sentinels for a failover and waits until the group is healthy under another master. */
    async failover(): Promise<TimelineEvent> {
        return this.timeline.emit("SENTINEL FAILOVER (the master moves off its ordinal)", async () => {
            const before = await this.master();
            await this.admin(this.ports.sentinels[0], "SENTINEL", "FAILOVER", this.plan.redis.masterName);
            await waitFor("a new master", 30_000, async () => {
                const m = await this.master();
                return m !== undefined && m !== before ? m : undefined;
            });
            return { from: `redis-${before}`, to: `redis-${await this.waitHealthy(30_000)}` };
        });
    }

    /**
     * Every Redis pod stops at once (SIGTERM, as at a node pool restart) and starts again together
     * (podManagementPolicy Parallel); `loseVolumes` lists data pods whose volume is gone meanwhile.
     */
    async restartAll(loseVolumes: readonly number[] = []): Promise<TimelineEvent> {
        const label = `every Redis pod restarted at once${loseVolumes.length ? ` (${loseVolumes.map((o) => `redis-${o}`).join(", ")} lost its volume)` : ""}`;
        return this.timeline.emit(label, async () => {
            const pods = this.allPods();
            const before = await this.master();
            await Promise.all(pods.map((p) => p.stop({ preStop: false })));
            for (const o of loseVolumes) {
                this.pods.get(NAMES.data)![o].loseVolumes();
            }
            const started = Date.now();
            for (const pod of pods) {
                pod.start(podTemplate(this.statefulSets.get(pod.id.set)!));
            }
            const master = await this.waitHealthy(RESTART_HEALTHY_TIMEOUT_MS);
            const detail = {
                before: `redis-${before}`,
                master: `redis-${master}`,
                healthyAfterSeconds: (Date.now() - started) / 1000,
            };
            // The master held the newest data and the Sentinels' persisted state names it: nothing justifies a failover.
            if (before !== undefined && master !== before && !loseVolumes.includes(before)) {
                throw new Error(
                    `the full restart moved the master from redis-${before} to redis-${master} (healthy after ${detail.healthyAfterSeconds} s): ` +
                        "data nodes followed another node instead of the master the Sentinels had persisted",
                );
            }
            return detail;
        });
    }

    /** cert-manager renews every Certificate `renewBefore` its expiry; the timeline then runs past the old expiry. */
    async renewCertificates(): Promise<void> {
        for (const [key, state] of this.certificates) {
            const current = state.issued[state.issued.length - 1];
            const renewAt = current.notAfter - goDurationSeconds(state.spec.renewBefore ?? "720h");
            this.timeline.schedule(renewAt - this.timeline.now, `cert-manager renews Certificate ${key}`, async () => {
                const [namespace, name] = key.split("/");
                const cert = this.issueCertificate({ metadata: { namespace, name }, spec: state.spec });
                return { generation: cert.generation };
            });
            this.timeline.schedule(
                current.notAfter - this.timeline.now,
                `certificate ${key} generation ${current.generation} expires`,
                async () => undefined,
            );
        }
        await this.timeline.runUntil();
    }

    // ---------------------------------------------------------------------------------------------------------
    // Observation (as the harness, with any admin password the Secret ever held).

    private async admin(port: number, ...args: string[]): Promise<unknown> {
        const passwords = [
            this.secrets.get(secretKey(this.namespace, NAMES.auth))?.[AUTH_FILES.admin],
            ...this.adminPasswords,
        ];
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const Redis = (require("ioredis") as typeof import("ioredis")).default;
        for (const password of new Set(passwords.filter((p): p is string => p !== undefined))) {
            const client = new Redis({
                host: LOOPBACK,
                port,
                username: USERS.admin,
                password,
                tls: this.plan.redis.tls ? { ca: fs.readFileSync(this.issuer.caFile) } : undefined,
                lazyConnect: true,
                maxRetriesPerRequest: 0,
                retryStrategy: () => null,
                enableOfflineQueue: false,
                connectTimeout: 2000,
            });
            client.on("error", () => undefined);
            try {
                await client.connect();
                return await client.call(args[0], ...args.slice(1));
            } catch (err) {
                if (!/WRONGPASS|NOAUTH/.test(String(err))) {
                    return undefined;
                }
            } finally {
                client.disconnect();
            }
        }
        return undefined;
    }

    /** The data node ordinal every running Sentinel names as master (undefined unless they agree). */
    private async master(): Promise<number | undefined> {
        if (this.plan.redis.mode !== "sentinel") {
            return 0;
        }
        const views = await Promise.all(
            this.ports.sentinels.map((p) =>
                this.admin(p, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", this.plan.redis.masterName),
            ),
        );
        const named = new Set(views.map((v) => (Array.isArray(v) ? Number(v[1]) : -1)));
        if (named.size !== 1) {
            return undefined;
        }
        const ordinal = this.ports.data.indexOf([...named][0]);
        return ordinal >= 0 ? ordinal : undefined;
    }

    /** One master that every Sentinel names and that says it is master, and every pod Ready. */
    private async waitHealthy(timeoutMs: number): Promise<number> {
        return waitFor(
            "a healthy Redis group (one master, named by every Sentinel, every pod Ready)",
            timeoutMs,
            async () => {
                const master = await this.master();
                if (master === undefined) {
                    return undefined;
                }
                const role = await this.admin(this.ports.data[master], "ROLE");
                if (!Array.isArray(role) || role[0] !== "master") {
                    return undefined;
                }
                const notReady = await Promise.all(this.allPods().map((p) => p.probe("readinessProbe")));
                return notReady.every((f) => f.length === 0) ? master : undefined;
            },
            300,
        );
    }

    // ---------------------------------------------------------------------------------------------------------
    // Checks after every event.

    private async check(): Promise<string[]> {
        const ca = fs.readFileSync(this.pg.caFile, "utf8");
        const redisCa = fs.readFileSync(this.issuer.caFile, "utf8");
        const connection: (() => Promise<string | undefined>)[] = [];
        for (const app of this.apps.values()) {
            const ref = `${app.namespace}/${app.secretName}`;
            const current = this.secrets.get(secretKey(app.namespace, app.secretName));
            if (!current) {
                continue;
            }
            const history = this.appEnvs.get(app.name) ?? [];
            const versions = [...history.filter((e) => JSON.stringify(e) !== JSON.stringify(current)), current];
            versions.forEach((env, i) => {
                const which =
                    i === versions.length - 1
                        ? `its current Secret ${ref}`
                        : `the previous version ${i + 1} of ${ref} (a pod started before keeps it)`;
                connection.push(
                    () =>
                        checkPostgres(env, this.endpoints, ca).then((err) =>
                            err
                                ? `${app.name}: PostgreSQL refuses ${which} (DB_USER ${env.DB_USER}, DB_PASSWORD): ${err}`
                                : undefined,
                        ),
                    () =>
                        checkRedis(env, appKey(app, "lifecycle-check"), this.endpoints, redisCa).then((err) =>
                            err
                                ? `${app.name}: Redis refuses ${which} (${redisCredentialNames(env)}): ${err}`
                                : undefined,
                        ),
                );
            });
        }
        connection.push(...this.platformCredentialChecks(redisCa));
        const connectionFailures = (await limited(connection)).filter((f): f is string => f !== undefined);
        this.connectionFailures += connectionFailures.length;
        const lost = await this.lostWriteCheck();
        const others = [
            ...this.availabilityChecks(),
            ...(await this.livenessChecks()),
            ...(await this.mountChecks()),
            ...(await this.certificateChecks()),
        ];
        return [...connectionFailures, ...lost, ...others];
    }

    /** (b) for the platform's own Secrets: every password handed out is accepted by the servers that consume it. */
    private platformCredentialChecks(ca: string): (() => Promise<string | undefined>)[] {
        const out: (() => Promise<string | undefined>)[] = [];
        const auth = this.secrets.get(secretKey(this.namespace, NAMES.auth)) ?? {};
        const admin = auth[AUTH_FILES.admin];
        if (admin && !this.adminPasswords.includes(admin)) {
            this.adminPasswords.push(admin);
        }
        for (const [file, consumer] of Object.entries(AUTH_FILE_CONSUMERS)) {
            const password = auth[file];
            if (password === undefined) {
                continue;
            }
            const targets = [
                ...(consumer.data ? (this.pods.get(NAMES.data) ?? []) : []),
                ...(consumer.sentinel ? (this.pods.get(NAMES.sentinel) ?? []) : []),
            ];
            // A server the kubelet is starting again accepts nothing yet; `availabilityChecks` bounds how many.
            for (const pod of targets.filter((p) => p.mainRunning())) {
                out.push(() =>
                    checkAuth(pod.port, consumer.user, password, this.plan.redis.tls ? ca : undefined).then((err) =>
                        err
                            ? `${pod.name}: refuses user ${consumer.user} with the ${file} that Secret ${this.namespace}/${NAMES.auth} hands out: ${err}`
                            : undefined,
                    ),
                );
            }
        }
        return out;
    }

    /** At most one server of a group restarting at a time (a Sentinel quorum, or a replica to fail over to, remains). */
    private availabilityChecks(): string[] {
        return [...this.pods.entries()].flatMap(([set, pods]) => {
            const down = pods.filter((p) => p.running() && !p.mainRunning()).map((p) => p.name);
            return down.length > 1
                ? [`${down.join(", ")} are down at once: ${set} restarts more than one at a time`]
                : [];
        });
    }

    private async livenessChecks(): Promise<string[]> {
        const results = await limited(
            this.allPods()
                .filter((p) => p.running())
                .map(
                    (p) => async () =>
                        (await p.probe("livenessProbe")).map((f) => `${p.name}: liveness probe fails (${f})`),
                ),
            3,
        );
        return results.flat();
    }

    /** A StatefulSet whose pods mount a Secret or ConfigMap that no longer exists cannot start its next pod. */
    private async mountChecks(): Promise<string[]> {
        const out: string[] = [];
        for (const [name, set] of this.statefulSets) {
            for (const v of set.spec.template.spec.volumes ?? []) {
                const ref = v.secret ? v.secret.secretName : v.configMap?.name;
                const present = v.secret
                    ? this.secrets.has(secretKey(this.namespace, ref))
                    : !v.configMap || this.configMaps.has(secretKey(this.namespace, ref));
                if (!present) {
                    out.push(
                        `StatefulSet ${name} mounts ${v.secret ? "Secret" : "ConfigMap"} ${this.namespace}/${ref}, which no longer exists: its next pod cannot start`,
                    );
                }
            }
        }
        return out;
    }

    /** After a certificate's virtual expiry, no TLS server may still present it. */
    private async certificateChecks(): Promise<string[]> {
        if (!this.plan.redis.tls) {
            return [];
        }
        const expired = [...this.certificates.values()].flatMap((c) =>
            c.issued.filter((i) => i.notAfter <= this.timeline.now),
        );
        if (expired.length === 0) {
            return [];
        }
        const out: string[] = [];
        await Promise.all(
            this.allPods()
                .filter((p) => p.running())
                .map(async (p) => {
                    const fingerprint = await servedFingerprint(p.port);
                    const old = expired.find((e) => e.fingerprint === fingerprint);
                    if (old) {
                        out.push(
                            `${p.name}: still serves certificate generation ${old.generation}, expired at +${old.notAfter} s (day ${old.notAfter / 86400}): clients, replication and Sentinel links fail`,
                        );
                    }
                }),
        );
        return out;
    }

    /** (d) Writes a replica acknowledged that the master no longer has. */
    private async lostWriteCheck(): Promise<string[]> {
        if (!this.writer || !this.writerApp || this.writer.acknowledged.length === 0) {
            return [];
        }
        const keys = [...this.writer.acknowledged];
        const envs = [...(this.appEnvs.get(this.writerApp) ?? [])].reverse();
        for (const env of envs) {
            try {
                const lost = await lostWrites(redisOptions(env, this.endpoints, this.issuer.caFile), keys);
                this.lostWriteCount = Math.max(this.lostWriteCount, lost.length);
                return lost.length > 0
                    ? [`${lost.length} of ${keys.length} writes acknowledged with WAIT 1 are lost (first: ${lost[0]})`]
                    : [];
            } catch {
                // The next version of the contract may still connect; a refused one is reported by the connection checks.
            }
        }
        return [];
    }

    // ---------------------------------------------------------------------------------------------------------

    summary(): LifecycleSummary {
        const failures = this.timeline.events.flatMap((e) => e.failures.map((f) => `+${e.at}s ${e.event}: ${f}`));
        const lostEvents = this.timeline.events
            .flatMap((e) => e.failures)
            .filter((f) => /writes acknowledged with WAIT 1 are lost/.test(f)).length;
        return {
            events: this.timeline.events.length,
            failedConnections: this.connectionFailures,
            lostWrites: this.lostWriteCount,
            otherFailures: failures.length - this.connectionFailures - lostEvents,
            failures,
            acknowledgedWrites: this.writer?.acknowledged.length ?? 0,
            longestWritePauseMs: this.writer?.longestPauseMs ?? 0,
        };
    }

    /** Every failure of events whose label matches, for a test's message. */
    failuresOf(pattern: RegExp = /./): string[] {
        return this.timeline.events
            .filter((e) => pattern.test(e.event))
            .flatMap((e) => e.failures.map((f) => `+${e.at}s ${e.event}: ${f}`));
    }

    /** Pods of a StatefulSet that were rolled (by event label). */
    rolled(statefulSet: string): string[] {
        const prefix = `rolling StatefulSet ${statefulSet}: `;
        return this.timeline.events
            .filter((e) => e.event.startsWith(prefix))
            .map((e) => e.event.slice(prefix.length).split(" ")[0]);
    }

    log(podName: string): string {
        return (
            this.allPods()
                .find((p) => p.name === podName)
                ?.log() ?? ""
        );
    }

    async stop(): Promise<void> {
        await this.writer?.stop().catch(() => undefined);
        await this.supervisor.stopAll();
        await (await this.pgStarting.catch(() => undefined))?.stop().catch(() => undefined);
        if (this.ownRoot) {
            fs.rmSync(this.root, { recursive: true, force: true });
        }
    }
}

function objKey(r: RecordedResource): string {
    return secretKey(r.inputs.metadata.namespace, r.inputs.metadata.name);
}

function readIfExists(file: string): string {
    return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
}

function lastLine(text: string): string {
    return text.trim().split("\n").slice(-1)[0] ?? "";
}

function redisCredentialNames(env: Record<string, string>): string {
    return env.REDIS_SENTINEL_HOSTS !== undefined
        ? `REDIS_USERNAME ${env.REDIS_USERNAME}, REDIS_PASSWORD, REDIS_SENTINEL_PASSWORD`
        : "REDIS_URL";
}

/** SHA-256 fingerprint of the certificate a TLS server presents (undefined when it does not answer). */
function servedFingerprint(port: number): Promise<string | undefined> {
    return new Promise((resolve) => {
        const socket = tls.connect({ host: LOOPBACK, port, rejectUnauthorized: false }, () => {
            const cert = socket.getPeerCertificate();
            socket.end();
            resolve(cert?.fingerprint256);
        });
        socket.setTimeout(2000, () => {
            socket.destroy();
            resolve(undefined);
        });
        socket.on("error", () => resolve(undefined));
    });
}
