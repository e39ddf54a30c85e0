/**
 * Lifecycle scenario on real servers (prod, TLS): `redis.storageSize` grown. The claim template cannot change in place,
 * so the StatefulSet is replaced; its pods must keep running through it (orphaned, then adopted) and every running
 * pod's claim grow in place.
 */
import { strict as assert } from "assert";
import { assertSameStack } from "../../testbed/plan";
import {
    assertNoFailures,
    baseline,
    plan,
    redisSettings,
    scenario,
    stackVariant,
    withLifecycle,
} from "../support/lifecycle";

scenario(
    "lifecycle on real servers: settings changed (prod)",
    "growing redis.storageSize keeps every Redis pod running (StatefulSet replaced, pods orphaned) and grows each claim",
    async () => {
        const before = await plan("prod", baseline("prod"));
        const after = await plan("prod", stackVariant("prod", redisSettings({ storageSize: "16Gi" })));
        assertSameStack(before, after);
        let pids: Record<string, number | undefined> = {};
        let pidsAfter: Record<string, number | undefined> = {};
        const l = await withLifecycle("prod", baseline("prod"), async (lifecycle) => {
            pids = lifecycle.serverPids();
            await lifecycle.apply(after);
            pidsAfter = lifecycle.serverPids();
        });
        assertNoFailures(l, "growing redis.storageSize from 8Gi to 16Gi");
        assert.deepEqual(pidsAfter, pids, "a Redis server was restarted");
        assert.deepEqual(l.rolled("redis"), [], "data pods rolled");
        const ns = before.config.cluster.platformNamespace;
        assert.deepEqual(l.claims(), {
            [`${ns}/data-redis-0`]: "16Gi",
            [`${ns}/data-redis-1`]: "16Gi",
            [`${ns}/data-redis-2`]: "16Gi",
            [`${ns}/data-redis-sentinel-0`]: "1Gi",
            [`${ns}/data-redis-sentinel-1`]: "1Gi",
            [`${ns}/data-redis-sentinel-2`]: "1Gi",
        });
    },
);
