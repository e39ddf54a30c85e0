/**
 * Moving an application's Redis databases to another group (`apps[].redis.movedFrom`): the copy Job of the group it
 * moves to (`moveSpec.ts`), with both groups' admin passwords synced by External Secrets as the group's own are. The
 * application's bundle waits for it (`readyFor`), so its Secret names the new group only once the keys are there.
 * Created as children of the target group's component.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { PlatformConfig } from "../config/types";
import { AppMove, createCopyJob, movesTo } from "../moveJob";
import type { ServiceArgs } from "../serviceModule";
import { redisRoleCredentials } from "./credentials";
import { redisGroupOf, redisGroupSettings, redisMoveOf } from "./groups";
import { kubernetesLayout } from "./layout";
import {
    MOVE_JOB_WAIT_SECONDS,
    RedisMoveSide,
    freezeUsers,
    moveJobBase,
    moveJobFiles,
    moveJobName,
    moveJobSpec,
    moveMarkKey,
} from "./moveSpec";

/** The applications of `config` moving to `group`, each with the group it leaves. */
export function redisMovesTo(config: PlatformConfig, group: string): AppMove[] {
    return movesTo(config.apps, group, redisGroupOf, (app) => redisMoveOf(app)?.from);
}

function side(config: PlatformConfig, group: string, namespace: string): RedisMoveSide {
    const redis = redisGroupSettings(config.redis, group);
    return {
        group,
        nodes: kubernetesLayout(redis, namespace).dataNodes.map((n) => `${n.host}:${n.port}`),
        caCert: redis.tls ? redis.tlsCaCert : undefined,
    };
}

/** The copy Job of `app` (and its ConfigMap and synced Secret); it completes once the keys are there. */
export function createRedisMoveJob(
    parent: pulumi.Resource,
    name: string,
    args: ServiceArgs,
    move: AppMove & { to: string },
    after: pulumi.Input<pulumi.Resource>[],
): k8s.batch.v1.Job {
    const { namespace, config } = args;
    const source = redisGroupSettings(config.redis, move.from);
    const target = redisGroupSettings(config.redis, move.to);
    const base = moveJobBase(target, move.app.name);
    const sides = { source: side(config, move.from, namespace), target: side(config, move.to, namespace) };
    const files = moveJobFiles(source, move.app, sides);
    const input = {
        app: move.app.name,
        markKey: moveMarkKey(move.app),
        freezeUsers: freezeUsers(source, move.app),
        files,
        image: target.image,
        ...sides,
    };
    return createCopyJob(parent, name, args, {
        app: move.app.name,
        base,
        jobName: moveJobName(input, base),
        files,
        adminSecrets: { source: redisRoleCredentials(source).admin, target: redisRoleCredentials(target).admin },
        spec: moveJobSpec(input, base),
        waitSeconds: MOVE_JOB_WAIT_SECONDS,
        // The target's users first (its ACL sync Job), then the freeze and the copy.
        after,
    });
}
