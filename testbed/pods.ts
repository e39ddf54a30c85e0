/**
 * Pods of a StatefulSet on loopback, run from the recorded pod template the way the kubelet runs them: each volume a
 * directory of the pod (Secret and ConfigMap volumes filled from the cluster's current content, `emptyDir` fresh at
 * every start, the volume claim kept across restarts), every container whose command is a script from a mounted
 * volume started with its template env, `preStop` before stop, and the template's exec probes. Containers of other
 * images (the exporter) are not run. Addresses and mount paths are the only things translated.
 */
import * as fs from "fs";
import * as path from "path";
import { LOOPBACK, Supervisor, runShellScript } from "./servers/processes";

type Obj = Record<string, any>;

/** Where a volume's content comes from, as the kubelet sees it. */
export interface VolumeSource {
    readonly kind: "configMap" | "secret";
    readonly name: string;
    /** `items`: only these keys are projected, each to its path (all keys, by name, when absent). */
    readonly items?: readonly { readonly key: string; readonly path: string }[];
    /** An optional source that does not exist projects no files (else the pod could not start). */
    readonly optional?: boolean;
}

/** What the pods read from the cluster: a Secret's or ConfigMap's files for one pod (undefined: it does not exist). */
export type ContentSource = (source: VolumeSource, pod: Pod) => Record<string, string> | undefined;

export interface PodIdentity {
    readonly set: string;
    readonly ordinal: number;
    /** Local port the pod's main container serves on (SELF_PORT). */
    readonly port: number;
}

export class Pod {
    readonly name: string;
    /** The pod template it runs (a restart picks up the StatefulSet's current one). */
    template: Obj = {};
    /** Content of each Secret/ConfigMap volume as last projected, by volume name. */
    private projected = new Map<string, string>();
    /** Set while the pod is being deleted: its containers are not started again. */
    private deleting = false;

    constructor(
        readonly id: PodIdentity,
        readonly root: string,
        private readonly supervisor: Supervisor,
        private readonly content: ContentSource,
    ) {
        this.name = `${id.set}-${id.ordinal}`;
    }

    get ordinal(): number {
        return this.id.ordinal;
    }

    get port(): number {
        return this.id.port;
    }

    private volumes(): Obj[] {
        return this.template.spec?.volumes ?? [];
    }

    private claimNames(): Set<string> {
        return new Set((this.template.claims ?? []).map((c: Obj) => c.metadata?.name));
    }

    /** Local directory of a volume (claims persist under `pvc-<name>`). */
    volumeDir(volume: string): string {
        return path.join(this.root, this.claimNames().has(volume) ? `pvc-${volume}` : volume);
    }

    /** Local path for a path inside the main container (mount paths translated; others under `rootfs`). */
    localPath(containerPath: string, container: Obj = this.mainContainer()): string {
        const mounts: Obj[] = [...(container.volumeMounts ?? [])].sort(
            (a, b) => b.mountPath.length - a.mountPath.length,
        );
        for (const m of mounts) {
            if (containerPath === m.mountPath || containerPath.startsWith(`${m.mountPath}/`)) {
                if (m.subPath) {
                    return path.join(this.volumeDir(m.name), m.subPath, containerPath.slice(m.mountPath.length));
                }
                return path.join(this.volumeDir(m.name), containerPath.slice(m.mountPath.length));
            }
        }
        return path.join(this.root, "rootfs", containerPath);
    }

    mainContainer(): Obj {
        return this.template.spec.containers[0];
    }

    /**
     * Sources of the Secret, ConfigMap and projected volumes, by volume name: a projected volume's in its order, the
     * kubelet writing every source's files into the one directory (kubernetes `pkg/volume/projected/projected.go`
     * `collectData`), a missing `optional` Secret as none.
     */
    sources(): Map<string, VolumeSource[]> {
        const out = new Map<string, VolumeSource[]>();
        const of = (kind: VolumeSource["kind"], ref: Obj, name: string): VolumeSource => ({
            kind,
            name,
            items: ref.items?.map((i: Obj) => ({ key: i.key, path: i.path })),
            optional: ref.optional === true,
        });
        for (const v of this.volumes()) {
            if (v.secret) {
                out.set(v.name, [of("secret", v.secret, v.secret.secretName)]);
            } else if (v.configMap) {
                out.set(v.name, [of("configMap", v.configMap, v.configMap.name)]);
            } else if (v.projected) {
                out.set(
                    v.name,
                    (v.projected.sources ?? []).flatMap((p: Obj) =>
                        p.secret
                            ? [of("secret", p.secret, p.secret.name)]
                            : p.configMap
                              ? [of("configMap", p.configMap, p.configMap.name)]
                              : [],
                    ),
                );
            }
        }
        return out;
    }

    /** Mounts through `subPath` never see updates (kubernetes.io/docs/concepts/storage/volumes/#using-subpath). */
    private subPathOnly(volume: string): boolean {
        const mounts = this.template.spec.containers
            .flatMap((c: Obj) => c.volumeMounts ?? [])
            .filter((m: Obj) => m.name === volume);
        return mounts.length > 0 && mounts.every((m: Obj) => m.subPath);
    }

    /**
     * Writes a volume's current content, each file replaced atomically (the kubelet swaps a `..data` symlink).
     * @returns whether anything changed
     */
    project(volume: string, initial = false): boolean {
        const sources = this.sources().get(volume);
        if (!sources || (!initial && this.subPathOnly(volume))) {
            return false;
        }
        const contents = sources.map((source) => this.content(source, this));
        // A missing source that is not optional fails the kubelet's volume setup: the files stay as they were.
        if (!initial && sources.some((source, i) => contents[i] === undefined && !source.optional)) {
            return false;
        }
        const wanted: Record<string, string> = {};
        for (const [i, source] of sources.entries()) {
            for (const [key, text] of Object.entries(contents[i] ?? {})) {
                const item = source.items?.find((i) => i.key === key);
                if (!source.items || item) {
                    wanted[item?.path ?? key] = text;
                }
            }
        }
        const digest = JSON.stringify(wanted);
        if (!initial && this.projected.get(volume) === digest) {
            return false;
        }
        const dir = this.volumeDir(volume);
        fs.mkdirSync(dir, { recursive: true });
        for (const old of fs.readdirSync(dir)) {
            if (!(old in wanted)) {
                fs.rmSync(path.join(dir, old), { force: true });
            }
        }
        for (const [file, text] of Object.entries(wanted)) {
            fs.writeFileSync(path.join(dir, `.${file}.tmp`), text, { mode: 0o600 });
            fs.renameSync(path.join(dir, `.${file}.tmp`), path.join(dir, file));
        }
        this.projected.set(volume, digest);
        return true;
    }

    /** The kubelet's periodic sync: re-projects every Secret/ConfigMap volume; the volumes that changed. */
    sync(): string[] {
        return [...this.sources().keys()].filter((v) => this.project(v));
    }

    /** Names of the Secret/ConfigMap volumes whose source is `source`. */
    mounts(kind: VolumeSource["kind"], name: string): boolean {
        return [...this.sources().values()].flat().some((s) => s.kind === kind && s.name === name);
    }

    /** Env of a container: template values, `$(VAR)` expanded, the pod's own name and loopback address. */
    private env(container: Obj): Record<string, string> {
        const env: Record<string, string> = {};
        for (const e of container.env ?? []) {
            if (e.valueFrom?.fieldRef?.fieldPath === "metadata.name") {
                env[e.name] = this.name;
            } else if (e.valueFrom?.secretKeyRef) {
                const ref = e.valueFrom.secretKeyRef;
                const value = this.content({ kind: "secret", name: ref.name }, this)?.[ref.key];
                if (value !== undefined) {
                    env[e.name] = value;
                }
            } else if (e.value !== undefined) {
                const value = String(e.value).replace(/\$\((\w+)\)/g, (_, v) => env[v] ?? "");
                // Paths into the container's mounts point at the pod's local volumes.
                const local = value.startsWith("/") ? this.localPath(value, container) : "";
                env[e.name] = local && !local.startsWith(path.join(this.root, "rootfs")) ? local : value;
            }
        }
        return { ...env, SELF_HOST: LOOPBACK, SELF_PORT: String(this.port) };
    }

    /** `["sh", "<mounted script>"]` of a container or hook, translated; undefined for anything else (other images). */
    private script(command: unknown, container: Obj): string | undefined {
        if (!Array.isArray(command) || command.length !== 2 || !/^(\/bin\/)?sh$/.test(command[0])) {
            return undefined;
        }
        const local = this.localPath(command[1], container);
        return local.startsWith(path.join(this.root, "rootfs")) ? undefined : local;
    }

    private processName(container: Obj): string {
        return `${this.name}.${container.name}`;
    }

    /** Creates the pod's volumes from `template`: fresh emptyDirs, claims kept, Secrets and ConfigMaps projected now. */
    prepare(template: Obj): void {
        this.template = template;
        const claims = this.claimNames();
        for (const v of this.volumes()) {
            if (v.emptyDir) {
                fs.rmSync(this.volumeDir(v.name), { recursive: true, force: true });
            }
            fs.mkdirSync(this.volumeDir(v.name), { recursive: true });
        }
        for (const c of claims) {
            fs.mkdirSync(this.volumeDir(c), { recursive: true });
        }
        this.projected = new Map();
        for (const v of this.sources().keys()) {
            this.project(v, true);
        }
    }

    /**
     * Starts the pod from `template`: its volumes, then every script container. A container whose process exits is
     * started again, as the kubelet does under `restartPolicy: Always` (a Sentinel's SHUTDOWN for a new certificate).
     */
    start(template: Obj): string[] {
        this.prepare(template);
        this.deleting = false;
        const started: string[] = [];
        for (const c of template.spec.containers as Obj[]) {
            const file = this.script(c.command, c);
            if (file) {
                this.run(c, file, template);
                started.push(c.name);
            }
        }
        return started;
    }

    private run(container: Obj, file: string, template: Obj): void {
        const child = this.supervisor.start(this.processName(container), "sh", [file], this.env(container));
        child.once("exit", () => {
            if (!this.deleting && this.template === template && !this.supervisor.closed) {
                this.run(container, file, template);
            }
        });
    }

    /** The main container's process id while it runs (undefined while the kubelet starts it again). */
    mainPid(): number | undefined {
        return this.supervisor.pid(this.processName(this.mainContainer()));
    }

    mainRunning(): boolean {
        return this.mainPid() !== undefined;
    }

    /** Runs the main container to completion (a Job's pod), its env adjusted by `adjust`. */
    async runToCompletion(
        adjust: (env: Record<string, string>) => Record<string, string>,
        timeoutMs: number,
    ): Promise<{ code: number; output: string }> {
        const c = this.mainContainer();
        const file = this.script(c.command, c);
        if (!file) {
            throw new Error(
                `${this.name}: container ${c.name} does not run a mounted script (${JSON.stringify(c.command)})`,
            );
        }
        return runShellScript(file, adjust(this.env(c)), timeoutMs);
    }

    running(): boolean {
        return (this.template.spec?.containers ?? []).some(
            (c: Obj) => this.supervisor.pid(this.processName(c)) !== undefined,
        );
    }

    /**
     * Pod deletion: every preStop (within the grace period), then SIGTERM. Without `preStop` (a node going down
     * with all its pods) only the signal.
     */
    async stop(options: { preStop: boolean } = { preStop: true }): Promise<{ preStop: string[] }> {
        this.deleting = true;
        const preStop: string[] = [];
        if (options.preStop) {
            const grace = (this.template.spec.terminationGracePeriodSeconds ?? 30) * 1000;
            await Promise.all(
                (this.template.spec.containers as Obj[]).map(async (c) => {
                    const file = this.script(c.lifecycle?.preStop?.exec?.command, c);
                    if (file && this.supervisor.pid(this.processName(c)) !== undefined) {
                        const r = await runShellScript(file, this.env(c), grace);
                        preStop.push(`${c.name}: exit ${r.code}${r.output.trim() ? `: ${lastLine(r.output)}` : ""}`);
                    }
                }),
            );
        }
        await Promise.all(
            (this.template.spec.containers as Obj[]).map((c) => this.supervisor.stop(this.processName(c), "SIGTERM")),
        );
        return { preStop };
    }

    /** Runs one kind of probe of every container that has it; the failures, as `container: output`. */
    async probe(kind: "readinessProbe" | "livenessProbe"): Promise<string[]> {
        const failures: string[] = [];
        await Promise.all(
            (this.template.spec.containers as Obj[]).map(async (c) => {
                const file = this.script(c[kind]?.exec?.command, c);
                if (!file || this.supervisor.pid(this.processName(c)) === undefined) {
                    return;
                }
                const r = await runShellScript(file, this.env(c), (c[kind].timeoutSeconds ?? 1) * 1000 + 2000);
                if (r.code !== 0) {
                    failures.push(`${c.name}: ${lastLine(r.output) || `exit ${r.code}`}`);
                }
            }),
        );
        return failures;
    }

    /** Removes the volume claims (a lost disk); the pod must be stopped. */
    loseVolumes(): void {
        for (const c of this.claimNames()) {
            fs.rmSync(this.volumeDir(c), { recursive: true, force: true });
        }
    }

    log(): string {
        return (this.template.spec?.containers ?? [])
            .map((c: Obj) => this.supervisor.log(this.processName(c)))
            .join("\n");
    }
}

function lastLine(text: string): string {
    return text.trim().split("\n").slice(-1)[0] ?? "";
}

/** The pod template of a recorded StatefulSet, with its volume claims (so a pod knows which volumes persist). */
export function podTemplate(statefulSet: Obj): Obj {
    return { ...statefulSet.spec.template, claims: statefulSet.spec.volumeClaimTemplates ?? [] };
}
