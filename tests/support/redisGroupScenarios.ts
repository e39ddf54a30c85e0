/**
 * Lifecycle scenarios of Redis groups on real servers, each group its own local Redis, run on dev (standalone groups,
 * no TLS) and prod (Sentinel groups with TLS) by the files of tests/lifecycle that name them.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import { RedisWriter, redisAddress } from "../../testbed/clients";
import type { Lifecycle } from "../../testbed/harness";
import {
    assertNoFailures,
    baseline,
    editApp,
    plan,
    redisGroupVariant,
    scenario,
    waitForWrites,
    withLifecycle,
    failuresBesidesFreeze,
    moveFigures,
    movedDataChecks,
} from "./lifecycle";

const APP = "billing";
/** The application placed on a group added to a running stack. */
const NEW_APP = "reports";
const PREFIX = `${APP}:moved:`;
/** Lists the writes go to: several keys to copy, few enough that the copy's time is the freeze's, not the keys'. */
const KEYS = 50;

/** Lua: the elements of every list in KEYS, in one reply. */
const READ_LISTS =
    "local out = {} for _, k in ipairs(KEYS) do for _, v in ipairs(redis.call('LRANGE', k, 0, -1)) do " +
    "out[#out + 1] = v end end return out";

/** `billing` placed by `redis` (`apps[].redis`); not the first application, whose writes the harness follows through every event (testbed/checks.ts). */
const placed = (redis: Record<string, unknown>) => editApp(APP, (app) => (app.redis = redis));

/**
 * The stack with a second group `b` of the default group's settings: an application writing without pause through
 * its contract (`RedisWriter`, a list append per write) moved from group `default` to `b` (`apps[].redis.movedFrom`),
 * then the old copy marked (`retireOld: true`), then both keys dropped (the cleanup).
 * - 0 lost acknowledged writes: every write either group acknowledged is on `b` at the end;
 * - after every event of the timeline the group the Secret names holds every write acknowledged until then (read as
 *   the group's admin, not as the application);
 * - the old group keeps the application's keys after the move, until `retireOld` deletes them;
 * - the harness's own checks fail only on the moving application's frozen user on the old group.
 */
export function redisMoveScenario(stack: "dev" | "prod"): void {
    scenario(
        `lifecycle on real servers: applications moved between Redis groups (${stack})`,
        "moving an application's keys to another Redis group while it writes: 0 lost acknowledged writes, its Secret never names a group without its data, the old keys kept until retireOld",
        async () => {
            const from = redisGroupVariant(stack);
            const [before, moved, retireOld, cleaned] = await Promise.all([
                plan(stack, from),
                plan(stack, redisGroupVariant(stack, placed({ group: "b", movedFrom: "default" }))),
                plan(stack, redisGroupVariant(stack, placed({ group: "b", movedFrom: "default", retireOld: true }))),
                plan(stack, redisGroupVariant(stack, placed({ group: "b" }))),
            ]);
            const db = before.config.apps.find((a) => a.name === APP)!.redisDb;

            let writer: RedisWriter | undefined;
            let lifecycle: Lifecycle | undefined;
            /** The writes of `ids` that group `group` lacks (all of them when it does not answer). */
            const missingOn = async (l: Lifecycle, group: string, ids: readonly number[]) => {
                // Every list's elements in one command (one connection per check, not one per list).
                const keys = Array.from({ length: KEYS }, (_, k) => `${PREFIX}${k}`);
                const values = await l.redisCommand(group, db, "EVAL", READ_LISTS, String(KEYS), ...keys);
                const present = new Set((Array.isArray(values) ? values : []).map(Number));
                return ids.filter((id) => !present.has(id));
            };
            const checks = movedDataChecks(
                () => writer,
                () => lifecycle,
                (l) => {
                    const group = l.redisGroupAt(redisAddress(l.lastEnv(APP)));
                    return { instance: group, isNew: group === "b" };
                },
                missingOn,
            );
            const figures: Record<string, unknown> = {};
            const problems: string[] = [];
            const l = await withLifecycle(
                stack,
                from,
                async (started) => {
                    lifecycle = started;
                    assert.equal(started.redisGroupAt(redisAddress(started.lastEnv(APP))), "default");
                    const ca = () => fs.readFileSync(started.redisCaFile, "utf8");
                    writer = new RedisWriter(() => started.lastEnv(APP), started.endpoints, ca, PREFIX, KEYS);
                    await waitForWrites(writer, 20);

                    assert.deepEqual((await started.apply(moved)).failedSteps, []);
                    assert.equal(started.redisGroupAt(redisAddress(started.lastEnv(APP))), "b");
                    await waitForWrites(writer, writer.acknowledged.length + 20);
                    const onOld = writer.acknowledged.filter((w) => started.redisGroupAt(w.address) === "default");
                    assert.ok(onOld.length > 0, "writes went to the old group before the move");
                    const oldIds = onOld.map((w) => w.id);
                    assert.deepEqual(await missingOn(started, "default", oldIds), [], "the old group keeps the keys");

                    // `retireOld`: the old group's retire Job deletes the old copy (the new group holds it).
                    assert.deepEqual((await started.apply(retireOld)).failedSteps, []);
                    const kept = oldIds.length - (await missingOn(started, "default", oldIds)).length;
                    assert.equal(kept, 0, `${kept} of the ${oldIds.length} old keys are still on the old group`);
                    assert.deepEqual((await started.apply(cleaned)).failedSteps, []);
                    await writer.stop();

                    const lost = await missingOn(
                        started,
                        "b",
                        writer.acknowledged.map((w) => w.id),
                    );
                    const firstNew = writer.acknowledged.find((w) => started.redisGroupAt(w.address) === "b");
                    Object.assign(figures, moveFigures(writer, onOld, firstNew, lost.length));
                    assert.equal(lost.length, 0, `lost acknowledged writes: ${lost.slice(0, 20).join(", ")}`);
                    problems.push(...(await checks.problems()));
                },
                { onEvent: checks.onEvent },
            ).finally(() => writer?.stop());
            figures.events = l.summary().events;
            assert.deepEqual(problems, [], "the Secret named a group without the data");
            // The harness's own checks: the only failures are the moving application's own, frozen on the old instance.
            const switchedAt = checks.switched();
            assert.ok(switchedAt !== undefined, "the Secret switched during the move");
            const frozen = new RegExp(
                `^${APP}: Redis refuses (.*) \\((REDIS_URL|REDIS_USERNAME ${APP}, .*)\\): (WRONGPASS|NOAUTH)`,
            );
            const { other, freezeEvents } = failuresBesidesFreeze(l, switchedAt, frozen);
            figures.freezeEvents = freezeEvents;
            console.log(`      move figures: ${JSON.stringify(figures)}`);
            assert.deepEqual(other, [], "failures besides the moving application's frozen user");
        },
    );
}

/**
 * A Redis group added to a running stack (`redis.groups.b`) with a new application placed on it (`apps[].redis.group`).
 * The group's first deploy: its ACL sync Job runs before its StatefulSet exists and completes (await-acl.sh: a server
 * name that does not resolve has no pod yet, and that pod loads the current users file when it starts); its pods start
 * on ports of their own; the application connects to the new group; nothing else restarts or fails.
 */
export function redisGroupAddScenario(stack: "dev" | "prod"): void {
    scenario(
        `lifecycle on real servers: a Redis group added (${stack})`,
        "adding a Redis group with an application on it: its pods start, its ACL sync Job completes, the application connects to it, nothing else restarts",
        async () => {
            const to = await plan(
                stack,
                redisGroupVariant(stack, (c) => {
                    c["data-platform:apps"].push({
                        name: NEW_APP,
                        namespace: NEW_APP,
                        redisDb: 4,
                        poolSize: 5,
                        replicas: 1,
                        redis: { group: "b" },
                    });
                }),
            );
            let pidsBefore: Record<string, number | undefined> = {};
            let pidsAfter: Record<string, number | undefined> = {};
            const l = await withLifecycle(stack, baseline(stack), async (started) => {
                pidsBefore = started.serverPids();
                assert.deepEqual((await started.apply(to)).failedSteps, []);
                pidsAfter = started.serverPids();
                assert.deepEqual(await started.appAccess(NEW_APP), { postgres: undefined, redis: undefined });
                assert.equal(started.redisGroupAt(redisAddress(started.lastEnv(NEW_APP))), "b");
            });
            assertNoFailures(l, `adding Redis group b with application ${NEW_APP}`);
            const labels = l.timeline.events.map((e) => e.event);
            const created = labels.indexOf("StatefulSet redis-b created: its pods start");
            assert.ok(created >= 0, `the new group's StatefulSet was created:\n${labels.join("\n")}`);
            // The first deploy: the Job runs before the StatefulSet exists (its pods mount `redis-b-auth`, which waits for
            // the Job) and completes at once, no server name resolving yet (await-acl.sh: "no pod yet").
            const sync = l.timeline.events.findIndex((e) => /^Job redis-b-acl-sync-\w+ starts$/.test(e.event));
            assert.ok(sync >= 0 && sync < created, `the ACL sync Job ran before the pods:\n${labels.join("\n")}`);
            assert.deepEqual(l.timeline.events[sync].detail, { state: "complete" });
            assert.ok(
                labels.some((e) => /^pulumi: Job redis-b-acl-sync-\w+ complete$/.test(e)),
                `the new group's ACL sync Job completed:\n${labels.join("\n")}`,
            );
            // The pods that ran before kept their servers (the same processes); the new group's pod runs.
            const kept = Object.fromEntries(Object.keys(pidsBefore).map((pod) => [pod, pidsAfter[pod]]));
            assert.deepEqual(kept, pidsBefore, "a pod of the stack restarted");
            assert.ok(pidsAfter["redis-b-0"] !== undefined, `the new group's pod runs: ${JSON.stringify(pidsAfter)}`);
            assert.deepEqual(
                [...l.rolled("redis"), ...l.rolled("redis-sentinel")],
                [],
                "adding a group rolled the default group's pods",
            );
            console.log(
                `      group added: ${l.summary().events} events, ${JSON.stringify(l.timeline.events[created].detail)}`,
            );
        },
    );
}
