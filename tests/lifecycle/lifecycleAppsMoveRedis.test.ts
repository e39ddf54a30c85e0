/**
 * Lifecycle scenario on real servers (dev, a second standalone Redis group `b`, each group its own local Redis): an
 * application that writes without pause through its contract moved from group `default` to `b`
 * (`apps[].redis.movedFrom`), then the old copy marked (`retireOld: true`), then both keys dropped (cleanup).
 * - 0 lost acknowledged writes: every SET either group acknowledged is on `b` at the end;
 * - after every event of the timeline the group the Secret names holds every write acknowledged until then (read as
 *   the group's admin, not as the application);
 * - the old group keeps the application's keys until the cleanup;
 * - the harness's own checks fail only on the moving application's frozen user on the old group.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import { RedisWriter, redisAddress } from "../../testbed/clients";
import type { TimelineEvent } from "../../testbed/timeline";
import type { Lifecycle } from "../../testbed/harness";
import { editApp, plan, redisGroupVariant, scenario, waitForWrites, withLifecycle } from "../support/lifecycle";

const APP = "orders";
const PREFIX = `${APP}:moved:`;
/** Lists the writes go to: several keys to copy, few enough that the copy's time is the freeze's, not the keys'. */
const KEYS = 50;

/** The dev stack with a second standalone group `b`, `orders` placed by `redis`. */
function variant(redis?: Record<string, unknown>) {
    return redisGroupVariant(redis && editApp(APP, (app) => (app.redis = redis)));
}

scenario(
    "lifecycle on real servers: applications moved between Redis groups (dev)",
    "moving an application's keys to another Redis group while it writes: 0 lost acknowledged writes, its Secret never names a group without its data, the old keys kept until cleanup",
    async () => {
        const [before, moved, retireOld, cleaned] = await Promise.all([
            plan("dev", variant()),
            plan("dev", variant({ group: "b", movedFrom: "default" })),
            plan("dev", variant({ group: "b", movedFrom: "default", retireOld: true })),
            plan("dev", variant({ group: "b" })),
        ]);
        const db = before.config.apps.find((a) => a.name === APP)!.redisDb;

        let writer: RedisWriter | undefined;
        let lifecycle: Lifecycle | undefined;
        /** The index of the event after which the Secret named group `b`. */
        let switched: number | undefined;
        /** The writes of `ids` that group `group` lacks (all of them when it does not answer). */
        const missingOn = async (l: Lifecycle, group: string, ids: readonly number[]) => {
            const present = new Set<number>();
            for (let k = 0; k < KEYS; k++) {
                const values = await l.redisCommand(group, db, "LRANGE", `${PREFIX}${k}`, "0", "-1");
                (Array.isArray(values) ? values : []).forEach((v) => present.add(Number(v)));
            }
            return ids.filter((id) => !present.has(id));
        };
        // After every event: the group the Secret names holds every write acknowledged until then.
        const checks: Promise<string | undefined>[] = [];
        const onEvent = (e: TimelineEvent) => {
            console.log(
                `+${e.at} ${e.event} ${JSON.stringify(e.detail ?? {}).slice(0, 300)}\n   ${e.failures.join("\n   ")}`,
            );
            if (!writer || !lifecycle) {
                return;
            }
            const l = lifecycle;
            const acked = writer.acknowledged.map((w) => w.id);
            const group = l.redisGroupAt(redisAddress(l.lastEnv(APP)));
            if (switched === undefined && group === "b") {
                // The timeline records the event before it tells of it.
                switched = l.timeline.events.length - 1;
            }
            checks.push(
                (async () => {
                    if (group === undefined) {
                        return `+${e.at}s ${e.event}: the Secret names no group the harness runs`;
                    }
                    const missing = await missingOn(l, group, acked);
                    return missing.length > 0
                        ? `+${e.at}s ${e.event}: the Secret names group ${group}, which lacks ${missing.length} of ${acked.length} acknowledged writes`
                        : undefined;
                })(),
            );
        };
        const figures: Record<string, unknown> = {};
        const l = await withLifecycle(
            "dev",
            variant(),
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

                assert.deepEqual((await started.apply(retireOld)).failedSteps, []);
                figures.oldKeysAfterRetireOld = oldIds.length - (await missingOn(started, "default", oldIds)).length;
                assert.deepEqual((await started.apply(cleaned)).failedSteps, []);
                figures.oldKeysAfterCleanup = oldIds.length - (await missingOn(started, "default", oldIds)).length;
                await writer.stop();

                const lost = await missingOn(
                    started,
                    "b",
                    writer.acknowledged.map((w) => w.id),
                );
                const firstNew = writer.acknowledged.find((w) => started.redisGroupAt(w.address) === "b");
                const lastOld = onOld[onOld.length - 1];
                Object.assign(figures, {
                    acknowledged: writer.acknowledged.length,
                    acknowledgedByOld: onOld.length,
                    lost: lost.length,
                    failedConnections: writer.failures.length,
                    freezeSeconds: firstNew && lastOld ? (firstNew.at - lastOld.at) / 1000 : undefined,
                    failureKinds: [...new Set(writer.failures.map((f) => f.error.replace(/"[^"]*"/g, '"…"')))],
                });
                assert.equal(lost.length, 0, `lost acknowledged writes: ${lost.slice(0, 20).join(", ")}`);
            },
            { onEvent },
        ).finally(() => writer?.stop());
        const problems = (await Promise.all(checks)).filter((p): p is string => p !== undefined);
        figures.events = l.summary().events;
        assert.deepEqual(problems, [], "the Secret named a group without the data");
        // The harness's own checks: the only failures are the moving application's frozen user on the old group, with
        // its current Secret until the switch (the freeze), then with the previous version only (pods that read their
        // Secret once at start need a restart after a move).
        const switchedAt = switched;
        assert.ok(switchedAt !== undefined, "the Secret switched during the move");
        const frozen = new RegExp(`^${APP}: Redis refuses (.*) \\(REDIS_URL\\): (WRONGPASS|NOAUTH)`);
        const other = l.timeline.events.flatMap((e, i) =>
            e.failures
                .filter((f) => {
                    const which = frozen.exec(f)?.[1];
                    return which === undefined || i >= switchedAt !== which.startsWith("the previous version");
                })
                .map((f) => `+${e.at}s ${e.event}: ${f}`),
        );
        figures.freezeEvents = l.timeline.events.filter(
            (e, i) => i < switchedAt && e.failures.some((f) => /its current Secret/.test(f)),
        ).length;
        console.log(`      move figures: ${JSON.stringify(figures)}`);
        assert.deepEqual(other, [], "failures besides the moving application's frozen user");
    },
);
