/**
 * Checks after each event: (a) every application connects to PostgreSQL and Redis with clients built only from its
 * current Secret; (b) every password a platform Secret hands out is accepted by the servers that consume it;
 * (c) every older version of an application's Secret still connects (pods started before keep their env);
 * (d) no write a replica acknowledged (`WAIT 1`) is lost; and the data pods' liveness probes pass, at most one server
 * of a group is down, every mounted Secret or ConfigMap exists, no server presents an expired certificate.
 */
import * as fs from "fs";
import * as path from "path";
import * as tls from "tls";
import { ACL_MARKER_PREFIX, USERS } from "../components/redis/acl";
import { ACL_FILES, AUTH_FILES, RESTART_LOCK_SECONDS, WATCH_SECONDS } from "../components/redis/files";
import type { AppConfig } from "../components/config/platform";
import { redisGroupSettings, redisGroups, redisMoveOf } from "../components/redis/groups";
import { POD_DIRS } from "../components/redis/layout";
import { LOOPBACK, sleep, waitFor } from "./servers/processes";
import {
    BackgroundWriter,
    appKey,
    checkAuth,
    checkPostgres,
    checkRedis,
    limited,
    lostWrites,
    redisAddress,
    redisOptions,
} from "./clients";
import type { ClusterState, Obj } from "./cluster/state";
import type { RedisGroups } from "./cluster/redisGroups";
import type { Pod } from "./pods";
import { secretKey } from "./plan";
import type { RedisAdmin } from "./redisAdmin";

/** How long after an event the background writer may go without an acknowledged write (real time). */
const WRITER_PROGRESS_TIMEOUT_MS = 10_000;
/** Watch periods a `reload` sidecar gets to apply projected files (one poll, its work, and slack), and the poll. */
const SIDECAR_PERIODS = 4;
const SIDECAR_POLL_MS = 200;

type Check = () => Promise<string | undefined>;

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

export class Checks {
    /** The application whose background writes (d) follows, once the first deploy started it. */
    writer?: { readonly app: string; readonly writer: BackgroundWriter };
    connectionFailures = 0;
    lostWriteCount = 0;

    constructor(
        private readonly state: ClusterState,
        private readonly groups: RedisGroups,
        /** The harness's admin access to each group, by name. */
        private readonly admin: (group: string) => RedisAdmin,
        private readonly files: { readonly redisCa: string; readonly postgresCa: () => string },
    ) {}

    /** Whether the group's servers speak TLS (the plan applied last; a group it does not name yet has no servers). */
    private tls(group: string): boolean {
        const section = this.state.plan.config.redis;
        return redisGroups(section).includes(group) && redisGroupSettings(section, group).tls;
    }

    /** Whether the server of a group's pod speaks TLS. */
    private podTls(pod: Pod): boolean {
        const of = this.groups.ofStatefulSet(pod.id.set);
        return of !== undefined && this.tls(of.group.name);
    }

    /** Every check; the failures, each saying which app or server and which credential. */
    async run(): Promise<string[]> {
        const { state } = this;
        const ca = fs.readFileSync(this.files.postgresCa(), "utf8");
        const redisCa = fs.readFileSync(this.files.redisCa, "utf8");
        const connection: Check[] = [];
        for (const app of state.apps.values()) {
            const ref = `${app.namespace}/${app.secretName}`;
            const current = state.secrets.get(secretKey(app.namespace, app.secretName));
            if (!current) {
                continue;
            }
            const history = state.appEnvs.get(app.name) ?? [];
            const versions = [...history.filter((e) => JSON.stringify(e) !== JSON.stringify(current)), current];
            versions.forEach((env, i) => {
                const which =
                    i === versions.length - 1
                        ? `its current Secret ${ref}`
                        : `the previous version ${i + 1} of ${ref} (a pod started before keeps it)`;
                connection.push(
                    () =>
                        checkPostgres(env, state.endpoints, ca).then((err) =>
                            err
                                ? `${app.name}: PostgreSQL refuses ${which} (DB_USER ${env.DB_USER}, DB_PASSWORD): ${err}`
                                : undefined,
                        ),
                    () =>
                        checkRedis(env, appKey(app, "lifecycle-check"), state.endpoints, redisCa).then((err) =>
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
        const lost = await this.writerChecks(redisCa);
        const others = [
            ...availabilityChecks(state),
            ...(await this.livenessChecks()),
            ...mountChecks(state),
            ...(await this.certificateChecks()),
        ];
        return [...connectionFailures, ...lost, ...others];
    }

    /**
     * (b) for the platform's own Secrets: every password a group's `<prefix>-auth` hands out is accepted by the
     * group's servers that consume it.
     */
    private platformCredentialChecks(ca: string): Check[] {
        const { state } = this;
        const out: Check[] = [];
        for (const { name: group, names } of this.groups.all()) {
            const auth = state.secrets.get(secretKey(state.namespace, names.auth)) ?? {};
            if (auth[AUTH_FILES.admin]) {
                this.admin(group).remember(auth[AUTH_FILES.admin]);
            }
            for (const [file, consumer] of Object.entries(AUTH_FILE_CONSUMERS)) {
                const password = auth[file];
                if (password === undefined) {
                    continue;
                }
                const targets = [
                    ...(consumer.data ? (state.pods.get(names.data) ?? []) : []),
                    ...(consumer.sentinel ? (state.pods.get(names.sentinel) ?? []) : []),
                ];
                // A server the kubelet is starting again accepts nothing yet; `availabilityChecks` bounds how many.
                for (const pod of targets.filter((p) => p.mainRunning())) {
                    out.push(() =>
                        checkAuth(pod.port, consumer.user, password, this.tls(group) ? ca : undefined).then((err) =>
                            err
                                ? `${pod.name}: refuses user ${consumer.user} with the ${file} that Secret ${state.namespace}/${names.auth} hands out: ${err}`
                                : undefined,
                        ),
                    );
                }
            }
        }
        return out;
    }

    private async livenessChecks(): Promise<string[]> {
        const results = await limited(
            this.state
                .allPods()
                .filter((p) => p.running())
                .map(
                    (p) => async () =>
                        (await p.probe("livenessProbe")).map((f) => `${p.name}: liveness probe fails (${f})`),
                ),
            3,
        );
        return results.flat();
    }

    /** After a certificate's virtual expiry, no TLS server may still present it. */
    private async certificateChecks(): Promise<string[]> {
        if (!this.groups.all().some((g) => this.tls(g.name))) {
            return [];
        }
        const expired = [...this.state.certificates.values()].flatMap((c) =>
            c.issued.filter((i) => i.notAfter <= this.state.timeline.now),
        );
        if (expired.length === 0) {
            return [];
        }
        const out: string[] = [];
        await Promise.all(
            this.state
                .allPods()
                .filter((p) => p.running() && this.podTls(p))
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

    /**
     * (d) The background writer goes on: a write acknowledged after the event (a writer that cannot connect would
     * otherwise pass every check below); and no write a replica acknowledged is missing from the master.
     */
    private async writerChecks(redisCa: string): Promise<string[]> {
        if (!this.writer) {
            return [];
        }
        const { app, writer } = this.writer;
        const before = writer.acknowledged.length;
        const progressed = await waitFor("a write acknowledged", WRITER_PROGRESS_TIMEOUT_MS, async () =>
            writer.acknowledged.length > before ? true : undefined,
        ).catch(() => false);
        const stalled = progressed
            ? []
            : [
                  `${app}: the background writer had no write acknowledged within ${WRITER_PROGRESS_TIMEOUT_MS / 1000} s ` +
                      `(${before} so far; last error: ${writer.lastError || "none"})`,
              ];
        const keys = [...writer.acknowledged];
        const envs = [...(this.state.appEnvs.get(app) ?? [])].reverse();
        const errors: string[] = [];
        for (const env of envs) {
            try {
                const lost = await lostWrites(redisOptions(env, this.state.endpoints, redisCa), keys);
                this.lostWriteCount = Math.max(this.lostWriteCount, lost.length);
                return lost.length > 0
                    ? [
                          ...stalled,
                          `${lost.length} of ${keys.length} writes acknowledged with WAIT 1 are lost (first: ${lost[0]})`,
                      ]
                    : stalled;
            } catch (err) {
                // The next version of the contract may still connect; a refused one is reported by the connection checks.
                errors.push((err as Error).message);
            }
        }
        return [...stalled, `${app}: no version of its Secret reads the acknowledged writes: ${errors.join("; ")}`];
    }

    /**
     * The pods' `reload` sidecars apply changed files within WATCH_SECONDS of real time: polls the servers until they
     * accept what the Secrets (platform and applications) hand out and serve the newest certificate, at most a few
     * watch periods; what still differs then is left to the checks. @returns real milliseconds waited
     */
    async awaitReloadSidecars(): Promise<number> {
        const { state } = this;
        const started = Date.now();
        const redisCa = fs.readFileSync(this.files.redisCa, "utf8");
        // Sentinels restart one at a time for a new certificate, each within its lock's time.
        const sentinels = Math.max(...this.groups.all().map((g) => g.ports.sentinels.length));
        const limitMs = (SIDECAR_PERIODS * WATCH_SECONDS + sentinels * RESTART_LOCK_SECONDS) * 1000;
        while (Date.now() - started < limitMs) {
            const appChecks = [...state.apps.values()].map((app) => () => {
                const env = state.secrets.get(secretKey(app.namespace, app.secretName));
                return env && !this.frozenOnOldGroup(app, env)
                    ? checkRedis(env, appKey(app, "lifecycle-check"), state.endpoints, redisCa)
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

    /**
     * Whether `env` of an application moving between Redis groups still names the group it leaves, whose users file
     * turns its user off (the move's freeze): refused there once the sidecars applied it, so nothing to wait for.
     */
    private frozenOnOldGroup(app: AppConfig, env: Record<string, string>): boolean {
        const from = redisMoveOf(app)?.from;
        const port = from === undefined ? undefined : this.state.endpoints.get(redisAddress(env));
        return port !== undefined && this.groups.ofPort(port)?.name === from;
    }

    /** For each running pod: has its server loaded the users files the pod mounts (each one's marker user)? */
    private mountedAclChecks(ca: string): Check[] {
        return this.state
            .allPods()
            .filter((pod) => pod.mainRunning())
            .flatMap((pod) => {
                const role = this.groups.ofStatefulSet(pod.id.set)?.role;
                const file = role === "sentinel" ? ACL_FILES.sentinel : ACL_FILES.data;
                // The data nodes' file is in parts (users.acl, users.acl.001, ...): the marker ends the last.
                const dir = pod.localPath(POD_DIRS.acl);
                const parts = fs.existsSync(dir)
                    ? fs.readdirSync(dir).filter((f) => f === file || f.startsWith(`${file}.`))
                    : [];
                const text = parts
                    .sort()
                    .map((f) => readIfExists(path.join(dir, f)))
                    .join("");
                // One marker per file joined: the platform's, and each tenant stack's after its users.
                const markers = [...text.matchAll(new RegExp(`^user (${ACL_MARKER_PREFIX}\\S+) `, "gm"))].map(
                    (m) => m[1],
                );
                return markers.map((marker) => async () => {
                    // The marker may run no command: NOPERM after a successful AUTH means the file is loaded.
                    const err = await checkAuth(pod.port, marker, "marker", this.podTls(pod) ? ca : undefined);
                    return err !== undefined && /NOPERM/.test(err)
                        ? undefined
                        : `${pod.name}: has not loaded ${file} (${marker}): ${err}`;
                });
            });
    }

    /** Whether every running TLS pod presents the newest certificate issued (true without TLS). */
    private async serveNewestCertificates(): Promise<boolean> {
        if (!this.groups.all().some((g) => this.tls(g.name))) {
            return true;
        }
        const newest = new Set(
            [...this.state.certificates.values()].map((c) => c.issued[c.issued.length - 1]?.fingerprint),
        );
        const served = await Promise.all(
            this.state
                .allPods()
                .filter((p) => p.running() && this.podTls(p))
                .map((p) => servedFingerprint(p.port)),
        );
        return served.every((f) => f !== undefined && newest.has(f));
    }
}

/** At most one server of a group restarting at a time (a Sentinel quorum, or a replica to fail over to, remains). */
export function availabilityChecks(state: ClusterState): string[] {
    return [...state.pods.entries()].flatMap(([set, pods]) => {
        const down = pods.filter((p) => p.running() && !p.mainRunning()).map((p) => p.name);
        return down.length > 1 ? [`${down.join(", ")} are down at once: ${set} restarts more than one at a time`] : [];
    });
}

/**
 * A StatefulSet whose pods mount a Secret or ConfigMap that no longer exists cannot start its next pod; an `optional`
 * source of a projected volume (a tenant stack's users file) may be absent.
 */
export function mountChecks(state: ClusterState): string[] {
    const out: string[] = [];
    for (const [name, set] of state.statefulSets) {
        for (const v of set.spec.template.spec.volumes ?? []) {
            const sources: { secret?: string; configMap?: string }[] = v.projected
                ? (v.projected.sources ?? [])
                      .filter((p: Obj) => !(p.secret ?? p.configMap)?.optional)
                      .map((p: Obj) => ({ secret: p.secret?.name, configMap: p.configMap?.name }))
                : [{ secret: v.secret?.secretName, configMap: v.configMap?.name }];
            for (const { secret, configMap } of sources) {
                const present = secret
                    ? state.secrets.has(secretKey(state.namespace, secret))
                    : !configMap || state.configMaps.has(secretKey(state.namespace, configMap));
                if (!present) {
                    out.push(
                        `StatefulSet ${name} mounts ${secret ? "Secret" : "ConfigMap"} ${state.namespace}/${secret ?? configMap}, which no longer exists: its next pod cannot start`,
                    );
                }
            }
        }
    }
    return out;
}

function readIfExists(file: string): string {
    return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
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
