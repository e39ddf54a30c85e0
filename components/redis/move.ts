/**
 * Moving an application's Redis databases to another group (`apps[].redis.movedFrom`): the copy Job of the group it
 * moves to (`moveSpec.ts`), with both groups' admin passwords synced by External Secrets as the group's own are. The
 * application's bundle waits for it (`readyFor`), so its Secret names the new group only once the keys are there.
 * Created as children of the target group's component. With `retireOld`, a second Job, a child of the old group's
 * component, deletes the old copy's keys there once the copy is marked complete.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { PlatformConfig } from "../config/types";
import { AppMove, createCopyJob, movesTo } from "../moveJob";
import type { ServiceArgs } from "../serviceModule";
import { redisRoleCredentials } from "./credentials";
import { redisGroupOf, redisGroupSettings, redisMoveOf } from "./groups";
import { kubernetesLayout } from "./layout";
import { MOVE_JOB_WAIT_SECONDS } from "../moveJobSpec";
import {
    RedisMoveSide,
    RedisMoveStep,
    freezeUsers,
    moveJobBase,
    moveJobFiles,
    moveJobName,
    moveJobSpec,
    moveMarkKey,
    moveStepWord,
} from "./moveSpec";

/** The applications of `config` moving to `group`, each with the group it leaves. */
export function redisMovesTo(config: PlatformConfig, group: string): AppMove[] {
    return movesTo(config.apps, group, redisGroupOf, (app) => redisMoveOf(app)?.from);
}

/** The applications of `config` whose old copy on `group` is being dropped (`retireOld`), each with its new group. */
export function redisRetiresFrom(config: PlatformConfig, group: string): (AppMove & { to: string })[] {
    return config.retiredApps.flatMap((app) => {
        const move = redisMoveOf(app);
        return move?.from === group && move.retireOld === true ? [{ app, from: group, to: redisGroupOf(app) }] : [];
    });
}

function side(config: PlatformConfig, group: string, namespace: string): RedisMoveSide {
    const redis = redisGroupSettings(config.redis, group);
    return {
        group,
        nodes: kubernetesLayout(redis, namespace).dataNodes.map((n) => `${n.host}:${n.port}`),
        caCert: redis.tls ? redis.tlsCaCert : undefined,
    };
}

/**
 * A Job of `move` (and its ConfigMap and synced Secret), a child of `parent`: the copy (`step` "copy", on the target
 * group), which completes once the keys are there, or the old copy's deletion ("retire", on the source group).
 */
export function createRedisMoveJob(
    parent: pulumi.Resource,
    name: string,
    args: ServiceArgs,
    step: RedisMoveStep,
    move: AppMove & { to: string },
    after: pulumi.Input<pulumi.Resource>[],
): k8s.batch.v1.Job {
    const { namespace, config } = args;
    const source = redisGroupSettings(config.redis, move.from);
    const target = redisGroupSettings(config.redis, move.to);
    const base = moveJobBase(step, step === "copy" ? target : source, move.app.name);
    const sides = { source: side(config, move.from, namespace), target: side(config, move.to, namespace) };
    const files = moveJobFiles(step, source, move.app, sides);
    const input = {
        step,
        app: move.app.name,
        markKey: moveMarkKey(move.app),
        freezeUsers: freezeUsers(source, move.app),
        files,
        image: (step === "copy" ? target : source).image,
        ...sides,
    };
    return createCopyJob(parent, name, args, {
        app: move.app.name,
        kind: moveStepWord(step),
        base,
        jobName: moveJobName(input, base),
        files,
        adminSecrets: { source: redisRoleCredentials(source).admin, target: redisRoleCredentials(target).admin },
        spec: moveJobSpec(input, base),
        waitSeconds: MOVE_JOB_WAIT_SECONDS,
        // The copy: after the target's users (its ACL sync Job), then the freeze and the copy. The deletion: after the
        // source's users file without the application's users.
        after,
    });
}
