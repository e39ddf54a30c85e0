/**
 * Moving an application's Redis databases between groups (`apps[].redis.movedFrom`, `retireOld`): what the config
 * refuses, and what the move Job copies and freezes (`components/redis/moveSpec.ts`).
 */
import { strict as assert } from "assert";
import { freezeUsers, renderCopyList } from "../../../components/redis/moveSpec";
import { parseStack, problemLines } from "../../support/config";

const APPS = (redis: Record<string, unknown>) => ({
    "data-platform:redis": { mode: "standalone", groups: { b: { mode: "standalone" } } },
    "data-platform:apps": [{ name: "orders", namespace: "orders", redisDb: 1, redis }],
});

describe("Redis move: config and what the Job copies", () => {
    it("refuses a move from an unknown group, from its own group, retireOld alone, and (until the stack runs the copy Job) any move", () => {
        assert.deepEqual(problemLines("dev", APPS({ group: "b", movedFrom: "nope" })), [
            'data-platform:apps[0].redis.movedFrom: given "nope"; allowed: one of default, b (redis.groups)',
            'data-platform:apps[0].redis.movedFrom: given "nope"; allowed: unset: the stack does not run the Redis copy Job yet (README "Moving an application")',
        ]);
        assert.deepEqual(problemLines("dev", APPS({ group: "b", movedFrom: "b" })), [
            'data-platform:apps[0].redis.movedFrom: given "b"; allowed: a group other than its own redis.group (b): the one it moves from',
            'data-platform:apps[0].redis.movedFrom: given "b"; allowed: unset: the stack does not run the Redis copy Job yet (README "Moving an application")',
        ]);
        assert.deepEqual(problemLines("dev", APPS({ group: "b", retireOld: true })), [
            "data-platform:apps[0].redis.retireOld: given true; allowed: only with redis.movedFrom (the group of the old copy)",
        ]);
        assert.deepEqual(problemLines("dev", APPS({ group: "b", movedFrom: "default" })), [
            'data-platform:apps[0].redis.movedFrom: given "default"; allowed: unset: the stack does not run the Redis copy Job yet (README "Moving an application")',
        ]);
    });

    it("copies its patterns on a shared group, whole databases on a dedicated one; freezes its users (and default when it stands for it)", () => {
        const app = {
            ...parseStack("dev", APPS({})).apps[0],
            redisExtraDatabases: [{ name: "cache", db: 5, keyPatterns: [] }],
        } as ReturnType<typeof parseStack>["apps"][number];
        assert.equal(renderCopyList({ dedicated: false }, app), "1 orders:*\n5 orders:*\n");
        assert.equal(renderCopyList({ dedicated: true }, app), "1 *\n5 *\n");
        assert.deepEqual(freezeUsers({ dedicated: false }, app), ["orders", "orders-cache"]);
        const sessions = { ...app, redis: { clients: ["sessions" as const] } };
        assert.deepEqual(freezeUsers({ dedicated: true }, sessions), ["orders", "orders-cache", "default"]);
        assert.deepEqual(freezeUsers({ dedicated: false }, sessions), ["orders", "orders-cache"]);
    });
});
