/**
 * The Redis move Jobs (`components/redis/moveSpec.ts`: the copy, and with `retireOld` the old copy's deletion) run here
 * against two local groups: its entrypoint and files as the Job mounts them, the env its spec renders (mount paths
 * translated to a temporary directory).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { AppConfig } from "../../components/config/platform";
import { RedisMoveStep, freezeUsers, moveJobFiles, moveJobSpec, moveMarkKey } from "../../components/redis/moveSpec";
import { runShellScript } from "./processes";
import type { LocalRedisGroup } from "./redis";

/** One side: a running local group, its name, and its admin's password. */
export interface RedisMoveRunSide {
    readonly group: LocalRedisGroup;
    readonly name: string;
    readonly adminPassword: string;
}

/** Runs the entrypoint of one step's Job once (default: the copy); its exit code and output. */
export async function runRedisMoveJob(run: {
    readonly step?: RedisMoveStep;
    readonly app: AppConfig;
    readonly source: RedisMoveRunSide;
    readonly target: RedisMoveRunSide;
}): Promise<{ code: number; output: string }> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dp-redis-move-"));
    try {
        const volumes = {
            job: path.join(dir, "job"),
            secrets: path.join(dir, "secrets"),
            work: path.join(dir, "work"),
        };
        Object.values(volumes).forEach((v) => fs.mkdirSync(v));
        const side = (s: RedisMoveRunSide) => ({
            group: s.name,
            nodes: s.group.layout.dataNodes.map((n) => `${n.host}:${n.port}`),
            caCert: s.group.options.redis.tls
                ? fs.readFileSync(path.join(s.group.layout.dirs.tls, "ca.crt"), "utf8")
                : undefined,
        });
        const sides = { source: side(run.source), target: side(run.target) };
        const step = run.step ?? "copy";
        const files = moveJobFiles(step, run.source.group.options.redis, run.app, sides);
        for (const [file, text] of Object.entries(files)) {
            fs.writeFileSync(path.join(volumes.job, file), text);
        }
        fs.writeFileSync(path.join(volumes.secrets, "source-admin"), run.source.adminPassword);
        fs.writeFileSync(path.join(volumes.secrets, "target-admin"), run.target.adminPassword);
        const input = {
            step,
            app: run.app.name,
            markKey: moveMarkKey(run.app),
            freezeUsers: freezeUsers(run.source.group.options.redis, run.app),
            files,
            image: "(not run: the entrypoint runs here)",
            ...sides,
        };
        const container = moveJobSpec(input, "redis-move-test").template.spec.containers[0];
        const local = (value: string) => {
            const mount = container.volumeMounts.find(
                (m) => value.startsWith(`${m.mountPath}/`) || value === m.mountPath,
            );
            return mount ? volumes[mount.name as keyof typeof volumes] + value.slice(mount.mountPath.length) : value;
        };
        return await runShellScript(local(container.command[1]), {
            ...Object.fromEntries(container.env.map((e) => [e.name, local(e.value)])),
            WAIT_SECONDS: "10",
        });
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
