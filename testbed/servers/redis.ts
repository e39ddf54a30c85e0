/**
 * Runs the stack's Redis (Sentinel group or standalone) on loopback from the same rendered files the
 * cluster gets: only addresses, ports and directories differ. Used by the sandbox, the integration
 * tests and `npm run bench:failover`; processes run under ./processes, clients live in ./redisClients, the sandbox's
 * start of a stack's group in ./redisStack.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import Redis from "ioredis";
import type { AppConfig } from "../../components/config/platform";
import type { RedisConfig } from "../../components/config/redis";
import {
    AppPasswords,
    RedisPasswords,
    RedisTenant,
    aclMarker,
    extraDatabaseUserName,
    dataAclParts,
    redisTenants,
    renderSentinelAcl,
    tenantAclMarker,
    tenantDataAclParts,
} from "../../components/redis/acl";
import { redisEnv } from "../../components/redis/env";
import {
    ACL_FILES,
    AUTH_FILES,
    FILES,
    TLS_FILES,
    dataAclPartFile,
    renderFiles,
    renderTenantAclSyncFiles,
    tenantDataAclFile,
} from "../../components/redis/files";
import { tenantLoginSuffix } from "../../components/postgres/loginJob";
import { NAMES, RedisDirs, RedisLayout } from "../../components/redis/layout";
import { RedisRole } from "../redisProbe";
import { LOOPBACK_HOST_NAME, makeCertificates } from "./certificates";
import { LOOPBACK, Supervisor, freePorts, requireCommands, runShellScript } from "./processes";
import { LocalEndpointPorts, localEndpointReady, requireHaproxy, startLocalEndpoint } from "./redisEndpoint";

export { LOOPBACK };

export type Role = RedisRole;

export interface ProcessInfo {
    readonly role: Role;
    readonly ordinal: number;
    readonly port: number;
    readonly pid: number;
}

/** The port of each data node and each Sentinel, by ordinal; in Sentinel mode the master endpoint's. */
export interface RedisPorts {
    readonly data: readonly number[];
    readonly sentinels: readonly number[];
    readonly endpoint?: LocalEndpointPorts;
}

/**
 * Ports for a group the size `redis` renders: from `basePort` when given (data node i on basePort + i,
 * Sentinel i on basePort + 100 + i, the master endpoint on basePort + 200 and its readiness check on + 201), else
 * leased ones (`freePorts`).
 */
export async function redisPorts(redis: RedisConfig, basePort?: number): Promise<RedisPorts> {
    const sentinelMode = redis.mode === "sentinel";
    const dataNodes = sentinelMode ? redis.replicas : 1;
    const sentinels = sentinelMode ? redis.sentinels : 0;
    if (basePort !== undefined) {
        return {
            data: Array.from({ length: dataNodes }, (_, i) => basePort + i),
            sentinels: Array.from({ length: sentinels }, (_, i) => basePort + 100 + i),
            ...(sentinelMode ? { endpoint: { clients: basePort + 200, health: basePort + 201 } } : {}),
        };
    }
    const ports = await freePorts(dataNodes + sentinels + (sentinelMode ? 2 : 0));
    const [clients, health] = ports.slice(dataNodes + sentinels);
    return {
        data: ports.slice(0, dataNodes),
        sentinels: ports.slice(dataNodes, dataNodes + sentinels),
        ...(sentinelMode ? { endpoint: { clients, health } } : {}),
    };
}

export interface LocalGroupOptions {
    readonly redis: RedisConfig;
    readonly apps: readonly AppConfig[];
    readonly passwords: RedisPasswords;
    /** Applications moved to another group: their users stay in the users file, off (`RedisTenant.movedOut`). */
    readonly movedOutApps?: readonly AppConfig[];
    /** As many as `redis` renders (see `redisPorts`). */
    readonly ports: RedisPorts;
    /** Root of every directory; default: a new directory under os.tmpdir(). */
    readonly root?: string;
}

/** The processes of one local group and what they were started from. */
export class LocalRedisGroup {
    readonly root: string;
    readonly layout: RedisLayout;
    private readonly supervisor: Supervisor;

    private prepared = false;
    private stopping = false;
    private secretVersions = 0;
    /** The monitor password the master endpoint was last started with. */
    private endpointPassword: string | undefined;

    /** What the group runs now (`reconfigure` changes apps and passwords, as a new Secret would). */
    options: LocalGroupOptions;
    /** Tenant stacks' users files by stack, as their own Secrets project them into the ACL directory (`syncTenant`). */
    private readonly tenantFiles = new Map<string, Record<string, string>>();

    constructor(options: LocalGroupOptions) {
        this.options = options;
        // Created with the first process, so a group that never starts leaves nothing behind.
        this.root =
            options.root ??
            path.join(os.tmpdir(), `redis-group-${process.pid}-${crypto.randomBytes(6).toString("hex")}`);
        this.supervisor = new Supervisor(this.root);
        const { ports } = options;
        this.layout = {
            dataNodes: ports.data.map((port) => ({ host: LOOPBACK, port, tlsName: LOOPBACK_HOST_NAME })),
            sentinels: ports.sentinels.map((port) => ({ host: LOOPBACK, port })),
            ...(ports.endpoint ? { masterEndpoint: { host: LOOPBACK, port: ports.endpoint.clients } } : {}),
            dirs: this.dirsFor("shared"),
        };
    }

    /** Before the first process: the synced Secret's files and the certificates (fails loudly without the binaries). */
    private prepare(): void {
        if (this.prepared) {
            return;
        }
        requireRedisBinaries();
        const { redis } = this.options;
        if (redis.mode === "sentinel") {
            requireHaproxy();
        }
        fs.mkdirSync(this.root, { recursive: true });
        this.writeSecretFiles(this.layout.dirs.acl, this.aclFiles());
        this.writeSecretFiles(this.layout.dirs.auth, authFiles(redis, this.options.passwords));
        if (redis.tls) {
            makeCertificates(this.layout.dirs.tls, TLS_FILES);
        }
        this.prepared = true;
    }

    /**
     * A synced Secret's files as the kubelet updates a mounted Secret: a new directory, then one atomic swap of the
     * symlink `link`, so a reader sees the old files or the new ones, never a mix.
     */
    private writeSecretFiles(link: string, files: Record<string, string>): void {
        const version = `${link}..${++this.secretVersions}`;
        fs.mkdirSync(version, { recursive: true });
        for (const [file, text] of Object.entries(files)) {
            fs.writeFileSync(path.join(version, file), text, { mode: 0o600 });
        }
        fs.symlinkSync(path.basename(version), `${link}.new`);
        fs.renameSync(`${link}.new`, link);
    }

    /** The applications as the group's users file renders them (all `dedicated` on a dedicated group). */
    private tenants(): RedisTenant[] {
        const { redis, apps, movedOutApps = [] } = this.options;
        return [
            ...redisTenants(redis, apps),
            ...redisTenants(redis, movedOutApps).map((app) => ({ ...app, movedOut: true })),
        ];
    }

    /** The users files of the current apps and passwords, ending with their marker (named here by their content). */
    private aclFiles(): Record<string, string> {
        const { redis, passwords } = this.options;
        const apps = this.tenants();
        const marker = aclMarker(redis.mode, apps, passwords);
        return {
            ...Object.fromEntries(
                dataAclParts(redis.mode, apps, passwords, marker).map((part, i) => [dataAclPartFile(i), part]),
            ),
            ...(redis.mode === "sentinel" ? { [ACL_FILES.sentinel]: renderSentinelAcl(passwords, marker) } : {}),
            ...Object.assign({}, ...this.tenantFiles.values()),
        };
    }

    /**
     * A tenant stack's `pulumi up` on this group: its users file, in its parts, projected beside the platform's (its own
     * Secret: nothing of the platform's changes), then its ACL sync Job's rendered script, from its own files (data
     * nodes only), waits for its marker. `apps` empty: its Secret is gone (the stack destroyed).
     */
    async syncTenant(stack: string, apps: readonly AppConfig[], passwords: AppPasswords): Promise<void> {
        const suffix = tenantLoginSuffix(stack);
        const tenants = redisTenants(this.options.redis, apps);
        const marker = tenantAclMarker(stack, tenants, passwords);
        if (apps.length === 0) {
            this.tenantFiles.delete(stack);
            this.writeSecretFiles(this.layout.dirs.acl, this.aclFiles());
            return;
        }
        this.tenantFiles.set(
            stack,
            Object.fromEntries(
                tenantDataAclParts(tenants, passwords, marker).map((part, i) => [tenantDataAclFile(suffix, i), part]),
            ),
        );
        this.writeSecretFiles(this.layout.dirs.acl, this.aclFiles());
        const dir = path.join(this.root, `acl-sync-${suffix}`);
        fs.mkdirSync(dir, { recursive: true });
        for (const [file, text] of Object.entries(renderTenantAclSyncFiles(this.options.redis, this.layout))) {
            fs.writeFileSync(path.join(dir, file), text, { mode: 0o644 });
        }
        const sync = await runShellScript(path.join(dir, FILES.awaitAcl), { ACL_MARKER: marker, WAIT_SECONDS: "30" });
        if (sync.code !== 0) {
            throw new Error(`tenant ${stack}'s ACL sync script failed: ${sync.output}`);
        }
    }

    /**
     * New applications or passwords reach the servers as a `pulumi up` brings them: first the users files
     * (`redis-acl`, which the sidecars apply live), then, once the rendered ACL sync script saw every server apply
     * them, the passwords the scripts use (`redis-auth`). Nothing restarts. `beforeAuth` runs between the two.
     */
    async reconfigure(
        change: Partial<Pick<LocalGroupOptions, "apps" | "passwords" | "movedOutApps">>,
        beforeAuth?: () => void,
    ): Promise<void> {
        this.options = { ...this.options, ...change };
        const { redis, passwords } = this.options;
        const apps = this.tenants();
        this.writeSecretFiles(this.layout.dirs.acl, this.aclFiles());
        const config = this.dirsFor(this.processName("data", 0)).config;
        const sync = await runShellScript(path.join(config, FILES.awaitAcl), {
            ACL_MARKER: aclMarker(redis.mode, apps, passwords),
            WAIT_SECONDS: "30",
        });
        if (sync.code !== 0) {
            throw new Error(`the ACL sync script failed: ${sync.output}`);
        }
        beforeAuth?.();
        this.writeSecretFiles(this.layout.dirs.auth, authFiles(redis, passwords));
        // A new monitor password rolls the endpoint's pods (their annotation names its version); they read it at start.
        if (passwords.monitor !== this.endpointPassword && this.endpointPid() !== undefined) {
            await this.stopEndpoint();
            this.startEndpoint();
        }
    }

    /** cert-manager renews the certificate: a new key and certificate from the same CA, in the same files. */
    renewCertificates(): void {
        const dir = this.layout.dirs.tls;
        const next = `${dir}.next`;
        fs.mkdirSync(next, { recursive: true });
        for (const file of [TLS_FILES.ca, "ca.key"]) {
            fs.copyFileSync(path.join(dir, file), path.join(next, file));
        }
        makeCertificates(next, TLS_FILES, true);
        for (const file of [TLS_FILES.key, TLS_FILES.cert]) {
            fs.renameSync(path.join(next, file), path.join(dir, file));
        }
        fs.rmSync(next, { recursive: true, force: true });
    }

    /** Per-process directories (each pod has its own volumes; config differs only in these paths). */
    dirsFor(processName: string): RedisDirs {
        return {
            config: path.join(this.root, processName, "config"),
            acl: path.join(this.root, "acl"),
            auth: path.join(this.root, "auth"),
            tls: path.join(this.root, "tls"),
            data: path.join(this.root, processName, "data"),
            sentinelData: path.join(this.root, processName, "data"),
            run: path.join(this.root, processName, "run"),
        };
    }

    private processName(role: Role, ordinal: number): string {
        return role === "data" ? `${NAMES.data}-${ordinal}` : `${NAMES.sentinel}-${ordinal}`;
    }

    port(role: Role, ordinal: number): number {
        return (role === "data" ? this.layout.dataNodes : this.layout.sentinels)[ordinal].port;
    }

    /** Runs the rendered start script of one process (it execs the server, so the pid is the server's). */
    start(role: Role, ordinal: number): void {
        this.prepare();
        const name = this.processName(role, ordinal);
        const dirs = this.dirsFor(name);
        fs.mkdirSync(dirs.config, { recursive: true });
        fs.mkdirSync(dirs.data, { recursive: true });
        for (const [file, text] of Object.entries(
            renderFiles(this.options.redis, {
                ...this.layout,
                dirs: { ...dirs, acl: this.layout.dirs.acl, auth: this.layout.dirs.auth, tls: this.layout.dirs.tls },
            }),
        )) {
            fs.writeFileSync(path.join(dirs.config, file), text, { mode: 0o644 });
        }
        const script = path.join(dirs.config, role === "data" ? FILES.startRedis : FILES.startSentinel);
        const child = this.supervisor.start(name, "sh", [script], this.selfEnv(role, ordinal));
        // The kubelet starts a container again when its process exits (a Sentinel's SHUTDOWN for a new certificate).
        child.once("exit", (code) => {
            if (code === 0 && role === "sentinel" && !this.stopping) {
                this.start(role, ordinal);
            }
        });
        // The pod's sidecar keeps running across restarts of the server.
        if (this.supervisor.pid(`${name}-reload`) === undefined) {
            this.startSidecar(role, ordinal);
        }
    }

    private startSidecar(role: Role, ordinal: number): void {
        const name = this.processName(role, ordinal);
        const file = path.join(this.dirsFor(name).config, role === "data" ? FILES.watchRedis : FILES.watchSentinel);
        this.supervisor.start(`${name}-reload`, "sh", [file], this.selfEnv(role, ordinal));
    }

    /** Sends the process's sidecar `signal` (SIGSTOP: it looks at nothing until killed). */
    signalSidecar(role: Role, ordinal: number, signal: NodeJS.Signals): void {
        this.supervisor.signal(`${this.processName(role, ordinal)}-reload`, signal);
    }

    /** The sidecar crashes and the kubelet starts it again; the server keeps running. */
    async restartSidecar(role: Role, ordinal: number): Promise<void> {
        await this.supervisor.stop(`${this.processName(role, ordinal)}-reload`, "SIGKILL");
        this.startSidecar(role, ordinal);
    }

    /** What the pod gets from the downward API. */
    selfEnv(role: Role, ordinal: number): Record<string, string> {
        return {
            SELF_NAME: this.processName(role, ordinal),
            SELF_HOST: LOOPBACK,
            SELF_PORT: String(this.port(role, ordinal)),
        };
    }

    /** Runs another rendered script (probe, preStop) as the pod would; returns its exit code. */
    runScript(role: Role, ordinal: number, file: string): Promise<{ code: number; output: string }> {
        const config = this.dirsFor(this.processName(role, ordinal)).config;
        return runShellScript(path.join(config, file), this.selfEnv(role, ordinal));
    }

    startAll(): void {
        this.layout.sentinels.forEach((_, i) => this.start("sentinel", i));
        this.layout.dataNodes.forEach((_, i) => this.start("data", i));
        if (this.options.ports.endpoint) {
            this.startEndpoint();
        }
    }

    /** Sentinel mode: starts the master endpoint (HAProxy) as its pod runs it. */
    startEndpoint(): void {
        const ports = this.options.ports.endpoint;
        if (!ports) {
            throw new Error("a standalone group has no master endpoint");
        }
        this.prepare();
        startLocalEndpoint(this.supervisor, NAMES.master, {
            redis: this.options.redis,
            layout: this.layout,
            ports,
            dir: path.join(this.root, NAMES.master),
        });
        this.endpointPassword = this.options.passwords.monitor;
    }

    /** Stops the master endpoint (`signal`: default kill -9) and waits until it is gone. */
    async stopEndpoint(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
        await this.supervisor.stop(NAMES.master, signal);
    }

    endpointPid(): number | undefined {
        return this.supervisor.pid(NAMES.master);
    }

    /** Whether the master endpoint's readiness check passes (a master is up behind it). */
    endpointReady(): Promise<boolean> {
        const ports = this.options.ports.endpoint;
        return ports ? localEndpointReady(ports) : Promise.resolve(false);
    }

    /** What the master endpoint logged (its health checks' changes). */
    endpointLog(): string {
        return this.supervisor.log(NAMES.master);
    }

    pid(role: Role, ordinal: number): number | undefined {
        return this.supervisor.pid(this.processName(role, ordinal));
    }

    signal(role: Role, ordinal: number, signal: NodeJS.Signals): void {
        this.supervisor.signal(this.processName(role, ordinal), signal);
    }

    /** Sends `signal` (default kill -9) and waits until the process is gone (SIGKILL after 20 s). */
    async kill(role: Role, ordinal: number, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
        await this.supervisor.stop(this.processName(role, ordinal), signal);
    }

    processes(): ProcessInfo[] {
        const out: ProcessInfo[] = [];
        for (const role of ["data", "sentinel"] as const) {
            (role === "data" ? this.layout.dataNodes : this.layout.sentinels).forEach((e, i) => {
                const pid = this.pid(role, i);
                if (pid !== undefined) {
                    out.push({ role, ordinal: i, port: e.port, pid });
                }
            });
        }
        return out;
    }

    /** The CA certificate clients trust (TLS only). */
    caCertificate(): Buffer {
        return fs.readFileSync(path.join(this.layout.dirs.tls, TLS_FILES.ca));
    }

    /** An admin connection to one process (TLS when configured). */
    admin(role: Role, ordinal: number): Redis {
        return new Redis({
            host: LOOPBACK,
            port: this.port(role, ordinal),
            username: "admin",
            password: this.options.passwords.admin,
            tls: this.options.redis.tls ? { ca: this.caCertificate() } : undefined,
            lazyConnect: true,
            maxRetriesPerRequest: 0,
            retryStrategy: () => null,
            enableOfflineQueue: false,
            connectTimeout: 2000,
        });
    }

    /** Runs one admin command against a process; undefined when it does not answer. */
    async command(role: Role, ordinal: number, ...args: (string | number)[]): Promise<unknown> {
        const client = this.admin(role, ordinal);
        client.on("error", () => undefined);
        try {
            await client.connect();
            return await client.call(String(args[0]), ...args.slice(1).map(String));
        } catch {
            return undefined;
        } finally {
            client.disconnect();
        }
    }

    async role(ordinal: number): Promise<string | undefined> {
        const reply = await this.command("data", ordinal, "ROLE");
        return Array.isArray(reply) ? String(reply[0]) : undefined;
    }

    /** Ordinals of the data nodes that currently say they are master. */
    async masters(): Promise<number[]> {
        const roles = await Promise.all(this.layout.dataNodes.map((_, i) => this.role(i)));
        return roles.flatMap((r, i) => (r === "master" ? [i] : []));
    }

    /** The master as each running Sentinel names it ("host:port"). */
    async sentinelViews(): Promise<(string | undefined)[]> {
        return Promise.all(
            this.layout.sentinels.map(async (_, i) => {
                const reply = await this.command(
                    "sentinel",
                    i,
                    "SENTINEL",
                    "GET-MASTER-ADDR-BY-NAME",
                    this.options.redis.masterName,
                );
                return Array.isArray(reply) && reply.length === 2 ? `${reply[0]}:${reply[1]}` : undefined;
            }),
        );
    }

    ordinalOf(address: string): number {
        return this.layout.dataNodes.findIndex((e) => `${e.host}:${e.port}` === address);
    }

    /** Each application's contract, pointing at this group. */
    env(): Record<string, Record<string, string>> {
        const out: Record<string, Record<string, string>> = {};
        for (const app of this.options.apps) {
            out[app.name] = redisEnv({
                // This run's CA stands in for the issuer's: REDIS_CA_CERT is what clients verify against.
                redis: this.options.redis.tls
                    ? { ...this.options.redis, tlsCaCert: this.caCertificate().toString("utf8") }
                    : this.options.redis,
                layout: this.layout,
                app,
                password: this.options.passwords.apps[app.name],
                extraPasswords: Object.fromEntries(
                    app.redisExtraDatabases.map((x) => [
                        x.name,
                        this.options.passwords.apps[extraDatabaseUserName(app, x)],
                    ]),
                ),
                sentinelPassword: this.options.passwords.sentinelClient ?? "",
            }) as Record<string, string>;
        }
        return out;
    }

    log(role: Role, ordinal: number): string {
        return this.supervisor.log(this.processName(role, ordinal));
    }

    /** What the process's sidecar logged. */
    watcherLog(role: Role, ordinal: number): string {
        return this.supervisor.log(`${this.processName(role, ordinal)}-reload`);
    }

    /** Kills every process and removes the directories. */
    async stop(): Promise<void> {
        this.stopping = true;
        await this.supervisor.stopAll();
        if (!this.options.root) {
            fs.rmSync(this.root, { recursive: true, force: true });
        }
    }
}

/** `redis-auth`'s files: the passwords the scripts use. */
function authFiles(redis: RedisConfig, passwords: RedisPasswords): Record<string, string> {
    const roles: [string, "admin" | "monitor" | "replication" | "sentinel" | "sentinelClient" | "backup"][] = [
        [AUTH_FILES.admin, "admin"],
        [AUTH_FILES.monitor, "monitor"],
    ];
    if (redis.mode === "sentinel") {
        roles.push(
            [AUTH_FILES.replication, "replication"],
            [AUTH_FILES.sentinel, "sentinel"],
            [AUTH_FILES.sentinelClient, "sentinelClient"],
        );
    }
    if (redis.backup) {
        roles.push([AUTH_FILES.backup, "backup"]);
    }
    return Object.fromEntries(roles.map(([file, role]) => [file, passwords[role] ?? ""]));
}

/** Fails loudly (never skips) when the servers are not installed. */
export function requireRedisBinaries(): void {
    requireCommands(
        ["redis-server", "redis-sentinel", "redis-cli", "openssl"],
        "apt-get install redis-server redis-sentinel openssl; Redis integration needs it",
    );
}
