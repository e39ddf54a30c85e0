/**
 * The lifecycle harness: starts a stack's servers exactly as its plan renders them, then applies a change (the next
 * plan) the way `pulumi up`, Kubernetes, External Secrets and cert-manager would, on an ordered virtual timeline, and
 * checks after every event that applications and servers keep working with what the Secrets hand out.
 *
 * It wires the simulated cluster's controllers (`cluster/`: the `pulumi up` applier with a handler table per
 * resource kind from Azure, ESO, the kubelet, workloads and cert-manager, each citing the semantics it models) to
 * the checks (`checks.ts`) and the shared Redis probe (`redisProbe.ts`). Every Redis group of the plan runs on loopback
 * ports of its own (`cluster/redisGroups.ts`).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { NAMES } from "../components/redis/layout";
import { Supervisor } from "./servers/processes";
import { RedisPorts, requireRedisBinaries } from "./servers/redis";
import { Checks } from "./checks";
import { BackgroundWriter, appKey, checkPostgres, checkRedis, queryPostgres, redisOptions } from "./clients";
import { Applier, handlerTable } from "./cluster/applier";
import { Azure, writeVault } from "./cluster/azure";
import { CertManager } from "./cluster/certManager";
import { ExternalSecrets } from "./cluster/eso";
import { Kubelet, projectedContent, storeConfigMap } from "./cluster/kubelet";
import { Namespaces } from "./cluster/namespaces";
import { RedisGroups } from "./cluster/redisGroups";
import { ClusterState, Obj } from "./cluster/state";
import { Workloads } from "./cluster/workloads";
import { Issuer } from "./issuer";
import { LifecyclePostgres } from "./postgres";
import { StackPlan, TYPES, secretKey, topologicalOrder } from "./plan";
import { RedisAdmin } from "./redisAdmin";
import { waitHealthy } from "./redisProbe";
import { Timeline, TimelineEvent } from "./timeline";

/** How long a group restarted at once may take to be healthy again (real seconds). */
const RESTART_HEALTHY_TIMEOUT_MS = 120_000;

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
    private readonly state: ClusterState;
    private readonly supervisor: Supervisor;
    private readonly admin: RedisAdmin;
    /** The harness's admin access to each Redis group by name (`admin` is the default group's). */
    private readonly admins = new Map<string, RedisAdmin>();
    private readonly checks: Checks;
    private readonly workloads: Workloads;
    private readonly kubelet: Kubelet;
    private readonly eso: ExternalSecrets;
    private readonly certManager: CertManager;
    private readonly applier: Applier;
    private pg!: LifecyclePostgres;
    /** Every Flexible Server of the plan by its name, each its own local PostgreSQL (`pg` is the first). */
    private pgByName = new Map<string, LifecyclePostgres>();
    /** Every local server's CA in one file: the stand-in for the CA a Job or an application verifies with. */
    private readonly pgCaFile: string;

    private constructor(
        before: StackPlan,
        private readonly groups: RedisGroups,
        private readonly pgStarting: Promise<ReadonlyMap<string, LifecyclePostgres>>,
        private readonly issuer: Issuer,
        private readonly root: string,
        private readonly ownRoot: boolean,
        options: LifecycleOptions,
    ) {
        this.supervisor = new Supervisor(path.join(root, "logs"));
        this.pgCaFile = path.join(root, "postgres-ca.pem");
        this.timeline = new Timeline(() => this.checks.run(), options.onEvent);
        const state = (this.state = new ClusterState(before, this.timeline));
        this.admin = this.adminOf(groups.default.name);
        this.checks = new Checks(state, groups, (group) => this.adminOf(group), {
            redisCa: issuer.caFile,
            postgresCa: () => this.pgCaFile,
        });
        this.workloads = new Workloads(
            state,
            groups,
            this.supervisor,
            root,
            projectedContent(state, groups),
            () => this.pgCaFile,
        );
        this.kubelet = new Kubelet(state, {
            awaitReloadSidecars: () => this.checks.awaitReloadSidecars(),
            retryJobs: async (jobs) => {
                for (const job of jobs) {
                    await this.workloads.tryJob(job);
                }
            },
        });
        const secretChanged = (target: string) => this.kubelet.secretChanged(target);
        this.eso = new ExternalSecrets(state, secretChanged);
        this.certManager = new CertManager(state, (now, seconds) => issuer.issue(now, seconds), secretChanged);
        const azure = new Azure(
            state,
            (serverName) => (serverName !== undefined ? this.pgByName.get(serverName) : undefined) ?? this.pg,
            (name) => this.eso.vaultSecretWritten(name),
        );
        this.applier = new Applier(
            state,
            handlerTable(
                new Namespaces(state).handlers(),
                azure.handlers(),
                this.eso.handlers(),
                this.kubelet.handlers(),
                this.workloads.handlers(),
                this.certManager.handlers(),
            ),
            this.workloads,
        );
    }

    /** Starts the servers of `before` as its plan renders them, with every Secret synced, and a background writer. */
    static async start(before: StackPlan, options: LifecycleOptions = {}): Promise<Lifecycle> {
        requireRedisBinaries();
        const root = options.root ?? fs.mkdtempSync(path.join(os.tmpdir(), "dp-lifecycle-"));
        const groups = await RedisGroups.lease(before.config.redis);
        // PostgreSQL starts while the Redis pods do: one local server per Flexible Server (StackGres: one).
        const servers = before.run.resources.filter((r) => r.type === TYPES.pgServer);
        const pg = startAll(
            (servers.length > 0 ? servers : [undefined]).map(async (server) => {
                const local = await LifecyclePostgres.start({
                    mode: before.config.postgres.mode,
                    maxConnections: before.config.postgres.maxConnections,
                    adminLogin: server?.inputs.administratorLogin,
                    adminPassword: server?.inputs.administratorLoginPassword,
                });
                return [String(server?.inputs.serverName ?? ""), local] as const;
            }),
        );
        const lifecycle = new Lifecycle(
            before,
            groups,
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

    /** The first deploy, already settled: every object as the plan has it, Secrets synced, servers healthy. */
    private async bootstrap(plan: StackPlan): Promise<void> {
        const { state } = this;
        this.registerEndpoints(plan);
        state.setApps(plan.config.apps);
        // Settled: Key Vault holds every secret before any ExternalSecret reads it.
        const order = topologicalOrder(plan.run.resources)
            .filter((r) => r.custom)
            .sort((a, b) => Number(b.type === TYPES.vaultSecret) - Number(a.type === TYPES.vaultSecret));
        for (const r of order) {
            state.applied.set(r.urn, { resource: r, failed: false });
            switch (r.type) {
                case TYPES.namespace:
                case TYPES.namespacePatch:
                    state.namespaces.add(r.inputs.metadata.name);
                    break;
                case TYPES.vaultSecret:
                    writeVault(state, r);
                    break;
                case TYPES.externalSecret:
                    this.eso.bootstrap(r);
                    break;
                case TYPES.configMap:
                    storeConfigMap(state, r, plan);
                    break;
                case TYPES.certificate:
                    this.certManager.issue(r.inputs, false);
                    break;
            }
        }
        // Pods last: their Secrets exist now (the StatefulSets dependsOn them).
        for (const r of order.filter((x) => x.type === TYPES.statefulSet)) {
            this.workloads.create(r);
        }
        for (const pod of state.allPods()) {
            this.workloads.start(pod);
        }
        this.pgByName = new Map(await this.pgStarting);
        this.pg = [...this.pgByName.values()][0];
        state.postgresPort = this.pg.port;
        fs.writeFileSync(
            this.pgCaFile,
            [...this.pgByName.values()].map((local) => fs.readFileSync(local.caFile, "utf8")).join(""),
        );
        for (const r of order.filter((x) => x.type === TYPES.pgServer)) {
            const host = r.outputs.fullyQualifiedDomainName;
            const local = this.pgByName.get(r.inputs.serverName);
            if (host && local) {
                state.postgresHosts.set(host, local.port);
            }
        }
        for (const r of order.filter((x) => x.type === TYPES.pgDatabase)) {
            await (this.pgByName.get(r.inputs.serverName) ?? this.pg).createDatabase(r.inputs.databaseName);
        }
        for (const r of order.filter((x) => x.type === TYPES.sgCluster)) {
            await this.pg.setSuperuserPassword(stackGresSuperuserPassword(state, r.inputs));
        }
        for (const group of this.groups.all()) {
            await waitHealthy(this.adminOf(group.name).probeAccess(), 30_000);
        }
        for (const r of order.filter((x) => x.type === TYPES.job)) {
            const job = this.workloads.startJob(r);
            await this.workloads.tryJob(job);
            if (job.state !== "complete") {
                throw new Error(`the first deploy's Job ${job.name} did not complete: ${job.output}`);
            }
        }
        for (const app of plan.config.apps) {
            state.recordAppEnv(app.name);
        }
        const writerApp = plan.config.apps[0];
        const env = state.appEnvs.get(writerApp.name)?.[0];
        if (env && plan.config.redis.mode === "sentinel") {
            this.checks.writer = {
                app: writerApp.name,
                writer: new BackgroundWriter(
                    redisOptions(env, state.endpoints, fs.readFileSync(this.issuer.caFile, "utf8")),
                    appKey(writerApp, "lifecycle-writer"),
                ),
            };
        }
        await this.timeline.emit(`servers of ${plan.file} started as rendered`, async () => ({
            postgres: { mode: this.pg.mode, port: this.pg.port },
            redis: { mode: plan.config.redis.mode, data: this.ports.data, sentinels: this.ports.sentinels },
        }));
    }

    /** Cluster addresses (pod FQDNs, Service names) of every Redis group to its loopback ports; PostgreSQL hosts as seen. */
    private registerEndpoints(plan: StackPlan): void {
        this.groups.registerEndpoints(plan.config.redis, plan.config.cluster.platformNamespace, this.state.endpoints);
    }

    /**
     * Applies `after` as `pulumi up` would, then lets the timeline run until nothing more is pending. A Redis group
     * `after` adds gets its ports now and its pods when its StatefulSet is created.
     */
    async apply(after: StackPlan): Promise<{ failedSteps: string[] }> {
        await this.groups.add(after.config.redis);
        this.registerEndpoints(after);
        return this.applier.apply(after);
    }

    /** `pulumi destroy -s <stack>` of a tenant stack applied beside the platform's: only its resources go. */
    destroy(stack: string): Promise<{ failedSteps: string[] }> {
        return this.applier.destroy(stack);
    }

    /** The default group's ports (the group `failover` and `restartAll` act on). */
    private get ports(): RedisPorts {
        return this.groups.default.ports;
    }

    private adminOf(group: string): RedisAdmin {
        let admin = this.admins.get(group);
        if (!admin) {
            admin = new RedisAdmin(this.state, this.groups.get(group), this.issuer.caFile);
            this.admins.set(group, admin);
        }
        return admin;
    }

    private waitHealthy(timeoutMs: number): Promise<number> {
        return waitHealthy(this.admin.probeAccess(), timeoutMs);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Operations a scenario performs besides a change.

    /**
     * The master moves off its ordinal as an operator moves it: its pod deleted (`kubectl delete pod`), so its preStop
     * hands over (writes paused until every replica has them, then `SENTINEL FAILOVER`), and it comes back as a
     * replica. A bare `SENTINEL FAILOVER` loses writes: the old master takes and acknowledges them (`WAIT 1`, through
     * its other replica) until the Sentinels demote it (redis/redis#4819); measured here, 4,105 of 33,744.
     */
    async failover(): Promise<TimelineEvent> {
        return this.timeline.emit("the master's pod deleted (its preStop hands over to a replica)", async () => {
            const before = await this.admin.master();
            if (before === undefined) {
                throw new Error("no master to move");
            }
            const { preStop } = await this.workloads.recreate(this.state.pods.get(NAMES.data)![before]);
            const after = await this.waitHealthy(30_000);
            if (after === before) {
                throw new Error(
                    `redis-${before} is master again after its pod was deleted (preStop: ${preStop.join("; ")})`,
                );
            }
            return { from: `redis-${before}`, to: `redis-${after}`, preStop };
        });
    }

    /**
     * Every Redis pod stops at once (SIGTERM, as at a node pool restart) and starts again together
     * (podManagementPolicy Parallel); `loseVolumes` lists data pods whose volume is gone meanwhile.
     */
    async restartAll(loseVolumes: readonly number[] = []): Promise<TimelineEvent> {
        const label = `every Redis pod restarted at once${loseVolumes.length ? ` (${loseVolumes.map((o) => `redis-${o}`).join(", ")} lost its volume)` : ""}`;
        return this.timeline.emit(label, async () => {
            const pods = this.state.allPods();
            const before = await this.admin.master();
            await Promise.all(pods.map((p) => p.stop({ preStop: false })));
            for (const o of loseVolumes) {
                this.state.pods.get(NAMES.data)![o].loseVolumes();
            }
            const started = Date.now();
            for (const pod of pods) {
                this.workloads.start(pod);
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

    /** A namespace someone made outside the stack (a team's own), before an application names it. */
    createNamespaceOutsideStack(name: string): Promise<TimelineEvent> {
        return this.timeline.emit(`kubectl create namespace ${name} (outside the stack)`, async () => {
            this.state.namespaces.add(name);
        });
    }

    /** Whether namespace `name` exists in the cluster (the stack's or not). */
    hasNamespace(name: string): boolean {
        return this.state.namespaces.has(name);
    }

    /** Whether database `name` exists on the server (the Flexible Server named `server`; default the first). */
    hasDatabase(name: string, server?: string): Promise<boolean> {
        return this.postgresServer(server).hasDatabase(name);
    }

    /** The local PostgreSQL playing Flexible Server `name` (default: the stack's first server). */
    postgresServer(name?: string): LifecyclePostgres {
        const local = name === undefined ? this.pg : this.pgByName.get(name);
        if (!local) {
            throw new Error(`no PostgreSQL server ${name} in the plan`);
        }
        return local;
    }

    /** The CA(s) of the local PostgreSQL servers (what an application verifies them with here). */
    get postgresCaFile(): string {
        return this.pgCaFile;
    }

    /** The CA the Redis servers' certificates chain to (what an application verifies them with here). */
    get redisCaFile(): string {
        return this.issuer.caFile;
    }

    /** Cluster addresses to loopback ports, as clients built from a contract need them. */
    get endpoints(): ReadonlyMap<string, number> {
        return this.state.endpoints;
    }

    /** The Flexible Server (by name) that a host an application's Secret names belongs to. */
    postgresServerOfHost(host: string): string | undefined {
        const port = this.state.postgresHosts.get(host);
        return [...this.pgByName].find(([, local]) => local.port === port)?.[0];
    }

    /** The Redis group a cluster address (`host:port`: `redisAddress` of a contract) reaches; undefined when none does. */
    redisGroupAt(address: string): string | undefined {
        const local = this.state.endpoints.get(address);
        return local === undefined ? undefined : this.groups.ofPort(local)?.name;
    }

    /** One command as the admin of Redis group `group`, in database `db` of its master; undefined if it fails. */
    async redisCommand(group: string, db: number, ...args: string[]): Promise<unknown> {
        const admin = this.adminOf(group);
        const master = await admin.master();
        return master === undefined
            ? undefined
            : admin.commandIn(this.groups.get(group).ports.data[master], db, ...args);
    }

    /** The last contract application `app` was handed (what its running pods hold), even after it left the config. */
    lastEnv(app: string): Record<string, string> {
        const history = this.state.appEnvs.get(app) ?? [];
        const env = history[history.length - 1];
        if (!env) {
            throw new Error(`application ${app} was never handed a Secret`);
        }
        return env;
    }

    /** Runs `sql` as application `app` with its last contract, as its pods would; the rows. */
    queryAsApp(app: string, sql: string): Promise<Record<string, unknown>[]> {
        return queryPostgres(this.lastEnv(app), this.state.endpoints, fs.readFileSync(this.pgCaFile, "utf8"), sql);
    }

    /** What PostgreSQL and Redis say to application `app`'s last contract: each one's error, undefined if accepted. */
    async appAccess(app: string): Promise<{ postgres?: string; redis?: string }> {
        const env = this.lastEnv(app);
        const ca = fs.readFileSync(this.pgCaFile, "utf8");
        const redisCa = fs.readFileSync(this.issuer.caFile, "utf8");
        return {
            postgres: await checkPostgres(env, this.state.endpoints, ca),
            redis: await checkRedis(env, `${app}:lifecycle-access`, this.state.endpoints, redisCa),
        };
    }

    /** cert-manager renews every Certificate `renewBefore` its expiry; the timeline then runs past the old expiry. */
    renewCertificates(): Promise<void> {
        return this.certManager.renewAll();
    }

    // ---------------------------------------------------------------------------------------------------------

    summary(): LifecycleSummary {
        const failures = this.timeline.events.flatMap((e) => e.failures.map((f) => `+${e.at}s ${e.event}: ${f}`));
        const lostEvents = this.timeline.events
            .flatMap((e) => e.failures)
            .filter((f) => /writes acknowledged with WAIT 1 are lost/.test(f)).length;
        const writer = this.checks.writer?.writer;
        return {
            events: this.timeline.events.length,
            failedConnections: this.checks.connectionFailures,
            lostWrites: this.checks.lostWriteCount,
            otherFailures: failures.length - this.checks.connectionFailures - lostEvents,
            failures,
            acknowledgedWrites: writer?.acknowledged.length ?? 0,
            longestWritePauseMs: writer?.longestPauseMs ?? 0,
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

    /** The process id of every pod's server, by pod name (a restarted server has a new one). */
    serverPids(): Record<string, number | undefined> {
        return Object.fromEntries(this.state.allPods().map((p) => [p.name, p.mainPid()]));
    }

    /** What each PersistentVolumeClaim requests, by `<namespace>/<name>`. */
    claims(): Record<string, string> {
        return Object.fromEntries([...this.state.claims].map(([key, claim]) => [key, claim.storage]));
    }

    log(podName: string): string {
        return (
            this.state
                .allPods()
                .find((p) => p.name === podName)
                ?.log() ?? ""
        );
    }

    async stop(): Promise<void> {
        await this.checks.writer?.writer.stop().catch(() => undefined);
        await this.supervisor.stopAll();
        const started = await this.pgStarting.catch(() => new Map<string, LifecyclePostgres>());
        await Promise.all([...started.values()].map((local) => local.stop().catch(() => undefined)));
        if (this.ownRoot) {
            fs.rmSync(this.root, { recursive: true, force: true });
        }
    }
}

/** The password StackGres gives its superuser: the one the SGCluster's credentials Secret holds at creation. */
function stackGresSuperuserPassword(state: ClusterState, cluster: Obj): string {
    const ref = cluster.spec?.configurations?.credentials?.users?.superuser?.password;
    const password = ref && state.secrets.get(secretKey(cluster.metadata.namespace, ref.name))?.[ref.key];
    if (password === undefined) {
        throw new Error(
            `SGCluster ${cluster.metadata.name}: no superuser password (Secret ${ref?.name}, key ${ref?.key})`,
        );
    }
    return password;
}

/** Every local PostgreSQL by name, or (one failed to start) the others stopped and the first error thrown. */
async function startAll(
    starting: Promise<readonly [string, LifecyclePostgres]>[],
): Promise<ReadonlyMap<string, LifecyclePostgres>> {
    const settled = await Promise.allSettled(starting);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
    const started = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
    if (failed) {
        await Promise.all(started.map(([, local]) => local.stop().catch(() => undefined)));
        throw failed.reason;
    }
    return new Map(started);
}
