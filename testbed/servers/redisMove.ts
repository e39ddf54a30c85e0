/**
 * The Redis move Jobs (`components/redis/moveSpec.ts`: the copy, and with `retireOld` the old copy's deletion) run here
 * against two local groups: its entrypoint and files as the Job mounts them, the env its spec renders (mount paths
 * translated to a temporary directory).
 */
import * as fs from "fs";
import * as path from "path";
import type { AppConfig } from "../../components/config/platform";
import { RedisMoveStep, freezeUsers, moveJobFiles, moveJobSpec, moveMarkKey } from "../../components/redis/moveSpec";
import { withLocalMoveJob } from "./moveJob";
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
    const secrets = { "source-admin": run.source.adminPassword, "target-admin": run.target.adminPassword };
    return withLocalMoveJob("dp-redis-move-", files, secrets, container, (script, env) =>
        runShellScript(script, { ...env, WAIT_SECONDS: "10" }),
    );
}
