/**
 * Lifecycle scenario on real servers (dev): a Redis group added to a running stack (`redis.groups.b`) with a new
 * application placed on it (`apps[].redis.group`). The group's first deploy: its ACL sync Job finds no pod behind its
 * servers' names yet, or pods that load the current users file at start (await-acl.sh), and completes; its
 * StatefulSet's pods start on ports of their own; the application connects to the new group; nothing else restarts
 * or fails.
 */
import { strict as assert } from "assert";
import { redisAddress } from "../../testbed/clients";
import { assertNoFailures, baseline, plan, redisGroupVariant, scenario, withLifecycle } from "../support/lifecycle";

const APP = "reports";

scenario(
    "lifecycle on real servers: a Redis group added (dev)",
    "adding a Redis group with an application on it: its pods start, its ACL sync Job completes, the application connects to it, nothing else restarts",
    async () => {
        const to = await plan(
            "dev",
            redisGroupVariant((c) => {
                c["data-platform:apps"].push({
                    name: APP,
                    namespace: APP,
                    redisDb: 3,
                    poolSize: 5,
                    replicas: 1,
                    redis: { group: "b" },
                });
            }),
        );
        let pidsBefore: Record<string, number | undefined> = {};
        let pidsAfter: Record<string, number | undefined> = {};
        const l = await withLifecycle("dev", baseline("dev"), async (started) => {
            pidsBefore = started.serverPids();
            assert.deepEqual((await started.apply(to)).failedSteps, []);
            pidsAfter = started.serverPids();
            assert.deepEqual(await started.appAccess(APP), { postgres: undefined, redis: undefined });
            assert.equal(started.redisGroupAt(redisAddress(started.lastEnv(APP))), "b");
        });
        assertNoFailures(l, `adding Redis group b with application ${APP}`);
        const labels = l.timeline.events.map((e) => e.event);
        const created = labels.indexOf("StatefulSet redis-b created: its pods start");
        assert.ok(created >= 0, `the new group's StatefulSet was created:\n${labels.join("\n")}`);
        // The first deploy: the Job runs before the StatefulSet exists (nothing it waits for depends on the pods) and
        // completes at once, no server name resolving yet (await-acl.sh: "no pod yet").
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
        assert.deepEqual(l.rolled("redis"), [], "adding a group rolled the default group's pods");
        console.log(
            `      group added: ${l.summary().events} events, ${JSON.stringify(l.timeline.events[created].detail)}`,
        );
    },
);
