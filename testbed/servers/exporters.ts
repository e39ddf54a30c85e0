/**
 * Prometheus exporters on loopback, started from a rendered container exactly as the kubelet would start it: its
 * args, and its env resolved the kubelet's way (downward API, Secret keys, `$(VAR)` references). Only what a pod has
 * and a loopback process has not is translated: the pod's own address, Secret files and mount paths.
 */
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import type * as k8s from "@pulumi/kubernetes";
import { LOOPBACK, Supervisor, freePorts, requireCommands, waitFor } from "./processes";

export type Container = k8s.types.input.core.v1.Container;

/**
 * The exporters at the images' versions, which Debian 12 lacks (it has redis_exporter 1.45, postgres_exporter 0.11):
 * Debian 13's builds, unpacked by .ci/install.sh into `EXPORTERS_DIR` (default: the user's cache). redis_exporter
 * 1.69.0 exports the client list as the image's v1.67.0 does (exporter/clients.go is the same in both tags);
 * postgres_exporter 0.17.1 is the Azure exporter image's own version.
 */
const PINNED_EXPORTERS_DIR =
    process.env.EXPORTERS_DIR ??
    path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "data-platform", "exporters-trixie");
export const PINNED_EXPORTERS = {
    redis: path.join(PINNED_EXPORTERS_DIR, "usr", "bin", "prometheus-redis-exporter"),
    postgres: path.join(PINNED_EXPORTERS_DIR, "usr", "bin", "prometheus-postgres-exporter"),
} as const;

/** Where an exporter takes its listen address: an environment variable, or a flag (postgres_exporter 0.17 has none). */
export type ListenOption = { readonly env: string } | { readonly flag: string };
type EnvVar = k8s.types.input.core.v1.EnvVar;

/** What the pod provides that the container's env reads. */
export interface PodContext {
    /** Downward API values by fieldPath (`metadata.name`). */
    readonly fields: Readonly<Record<string, string>>;
    /** The value of key `key` of Secret `name`. */
    readonly secret: (name: string, key: string) => string;
    /** Local directory standing in for each mount path the container's env names. */
    readonly mounts: Readonly<Record<string, string>>;
}

/** `$(VAR)` of an earlier variable is replaced, `$$` escapes; unknown references stay as written (kubelet rules). */
function expand(value: string, env: Record<string, string>): string {
    return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name?: string) =>
        name === undefined ? "$" : (env[name] ?? whole),
    );
}

/** The container's env as the kubelet hands it to the process, with mount paths mapped to local directories. */
export function resolveEnv(container: Container, pod: PodContext): Record<string, string> {
    const env: Record<string, string> = {};
    for (const variable of (container.env ?? []) as EnvVar[]) {
        const name = variable.name as string;
        const from = variable.valueFrom as any;
        let value: string;
        if (variable.value !== undefined) {
            value = expand(variable.value as string, env);
        } else if (from?.fieldRef) {
            value = required(pod.fields[from.fieldRef.fieldPath], `downward field ${from.fieldRef.fieldPath}`);
        } else if (from?.secretKeyRef) {
            value = pod.secret(from.secretKeyRef.name, from.secretKeyRef.key);
        } else {
            throw new Error(`env ${name}: unsupported source ${JSON.stringify(variable)}`);
        }
        env[name] = mapMounts(value, pod.mounts);
    }
    return env;
}

function required(value: string | undefined, what: string): string {
    if (value === undefined) {
        throw new Error(`the pod context has no ${what}`);
    }
    return value;
}

function mapMounts(value: string, mounts: Readonly<Record<string, string>>): string {
    for (const [mountPath, local] of Object.entries(mounts)) {
        if (value === mountPath || value.startsWith(`${mountPath}/`)) {
            return local + value.slice(mountPath.length);
        }
    }
    return value;
}

/** The container's args with their `$(VAR)` references expanded from its env. */
export function resolveArgs(container: Container, env: Record<string, string>): string[] {
    return ((container.args ?? []) as string[]).map((arg) => expand(arg, env));
}

export interface RunningExporter {
    readonly name: string;
    readonly port: number;
}

/** Exporter processes of one test, each on a leased loopback port, logs under `logDir`. */
export class Exporters {
    private readonly supervisor: Supervisor;
    private readonly started: RunningExporter[] = [];

    constructor(private readonly logDir: string) {
        this.supervisor = new Supervisor(logDir);
    }

    /**
     * Runs `binary` (a Debian build of the container's image) with the container's resolved args and env;
     * `listen` is where the exporter takes its listen address, the one setting that differs from the pod.
     */
    async start(
        name: string,
        binary: string,
        args: readonly string[],
        env: Record<string, string>,
        listen: ListenOption,
    ): Promise<RunningExporter> {
        requireCommands(
            [binary],
            "apt-get install prometheus-redis-exporter prometheus-postgres-exporter; the pinned versions: bash .ci/install.sh",
        );
        const [port] = await freePorts(1);
        const address = `${LOOPBACK}:${port}`;
        this.supervisor.start(
            name,
            binary,
            "env" in listen ? args : [...args, `${listen.flag}=${address}`],
            "env" in listen ? { ...env, [listen.env]: address } : env,
        );
        const exporter = { name, port };
        this.started.push(exporter);
        await waitFor(`${name} listening on ${port}`, 10_000, async () =>
            (await httpGet(port).catch(() => undefined)) === undefined ? undefined : true,
        );
        return exporter;
    }

    /** One scrape of `/metrics`. */
    scrape(exporter: RunningExporter): Promise<string> {
        return httpGet(exporter.port);
    }

    log(name: string): string {
        return this.supervisor.log(name);
    }

    async stop(): Promise<void> {
        await this.supervisor.stopAll();
        fs.rmSync(this.logDir, { recursive: true, force: true });
    }
}

function httpGet(port: number): Promise<string> {
    return new Promise((resolve, reject) => {
        const request = http.get({ host: LOOPBACK, port, path: "/metrics", timeout: 15_000 }, (response) => {
            let body = "";
            response.setEncoding("utf8");
            response.on("data", (chunk: string) => (body += chunk));
            response.on("end", () =>
                response.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${response.statusCode}`)),
            );
        });
        request.on("error", reject);
        request.on("timeout", () => request.destroy(new Error("timeout")));
    });
}

/** Names of the samples in a Prometheus text exposition (comments skipped). */
export function sampleNames(exposition: string): Set<string> {
    const names = new Set<string>();
    for (const line of exposition.split("\n")) {
        const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{\s]/.exec(line);
        if (match) {
            names.add(match[1]);
        }
    }
    return names;
}

/** The samples named `name`, as label maps with their value. */
export function samples(exposition: string, name: string): { labels: Record<string, string>; value: number }[] {
    const out: { labels: Record<string, string>; value: number }[] = [];
    for (const line of exposition.split("\n")) {
        const match = new RegExp(`^${name}(?:\\{(.*)\\})?\\s+(\\S+)`).exec(line);
        if (match) {
            const labels = Object.fromEntries(
                [...(match[1] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [
                    m[1],
                    m[2],
                ]),
            );
            out.push({ labels, value: Number(match[2]) });
        }
    }
    return out;
}
