/**
 * A dedicated Redis group (`redis.groups.<name>.dedicated`) on a real server: its one application's ACL user reaches
 * every key and channel, so Celery as seed 000 writes it (no key prefix: `celery`, `_kombu.binding.*`, `unacked`,
 * reply queues named by UUID) runs a task and answers `control.ping()`. The same application on the shared group is
 * refused (NOPERM): what the dedicated group is for. It still gets its own database only.
 */
import { strict as assert } from "assert";
import Redis from "ioredis";
import type { PlatformConfig } from "../../../components/config";
import { redisGroupSettings } from "../../../components/redis/groups";
import { waitFor } from "../../../testbed/servers/processes";
import { LOOPBACK, LocalRedisGroup, redisPorts } from "../../../testbed/servers/redis";
import { parseStack } from "../../support/config";
import { PYTHON, runCeleryTask } from "../../support/consumers";
import { expectError, testPasswords } from "../../support/redis";

/** Seed 000's Celery on `REDIS_URL` as it is: no transport options, no key prefix. */
const PLAIN_CELERY = `import os
from urllib.parse import quote

from celery import Celery

e = os.environ
url = f"redis://{quote(e['REDIS_USERNAME'], safe='')}:{quote(e['REDIS_PASSWORD'], safe='')}@{e['REDIS_HOST']}:{e['REDIS_PORT']}/{e['REDIS_DB']}"
app = Celery("matrix", broker=url, backend=url)


@app.task
def add(x, y):
    return x + y
`;

/** One task through the broker and the result backend, then the worker's answer to a broadcast ping. */
const TASK_AND_PING = [
    "from matrix_celery import app, add",
    "print(add.delay(2, 3).get(timeout=30))",
    "print(len(app.control.ping(timeout=5)))",
].join("\n");

/** The dev stack with a standalone group `celery`, dedicated or not, holding the application `worker` alone. */
function stack(dedicated: boolean): PlatformConfig {
    return parseStack("dev", {
        "data-platform:redis": { mode: "standalone", groups: { celery: { mode: "standalone", dedicated } } },
        "data-platform:apps": [
            { name: "orders", namespace: "orders", redisDb: 1 },
            { name: "worker", namespace: "worker", redisDb: 1, redis: { group: "celery" } },
        ],
    });
}

async function startGroup(config: PlatformConfig): Promise<LocalRedisGroup> {
    const redis = redisGroupSettings(config.redis, "celery");
    const group = new LocalRedisGroup({
        redis,
        apps: config.apps.filter((app) => app.redis?.group === "celery"),
        passwords: testPasswords(config),
        ports: await redisPorts(redis),
    });
    group.startAll();
    await waitFor("the standalone master", 10_000, async () =>
        (await group.masters()).length === 1 ? true : undefined,
    );
    return group;
}

function celeryEnv(group: LocalRedisGroup): Record<string, string> {
    return {
        REDIS_USERNAME: "worker",
        REDIS_PASSWORD: group.options.passwords.apps.worker,
        REDIS_HOST: LOOPBACK,
        REDIS_PORT: String(group.port("data", 0)),
        REDIS_DB: "1",
    };
}

describe("a dedicated Redis group on a real server (seed 000's Celery, unprefixed)", function () {
    this.timeout(120_000);
    const groups: LocalRedisGroup[] = [];
    after(async () => {
        await Promise.all(groups.map((g) => g.stop()));
    });

    it("dedicated: Celery runs a task and answers control.ping() with its own key names", async () => {
        const group = await startGroup(stack(true));
        groups.push(group);
        const { result, worker } = await runCeleryTask(PYTHON, celeryEnv(group), PLAIN_CELERY, TASK_AND_PING);
        assert.equal(result, "5\n1", `${result}\n${worker}`);
        const admin = group.admin("data", 0);
        await admin.connect();
        await admin.select(1);
        const keys = (await admin.keys("*")).sort();
        admin.disconnect();
        assert.ok(keys.includes("_kombu.binding.celery"), keys.join(", "));
        assert.ok(
            keys.some((k) => k.startsWith("celery-task-meta-")),
            keys.join(", "),
        );
    });

    it("dedicated: still its own database only (the platform's restart lock lives in another)", async () => {
        const group = await startGroup(stack(true));
        groups.push(group);
        const client = new Redis({
            host: LOOPBACK,
            port: group.port("data", 0),
            username: "worker",
            password: group.options.passwords.apps.worker,
            db: 1,
            lazyConnect: true,
            maxRetriesPerRequest: 0,
        });
        await client.connect();
        await client.set("anything", "v");
        await expectError(client.select(0), /NOPERM/);
        await expectError(client.call("FLUSHALL"), /NOPERM/);
        client.disconnect();
    });

    it("shared: the same Celery is refused (no permissions on its unprefixed keys)", async () => {
        const group = await startGroup(stack(false));
        groups.push(group);
        const { result } = await runCeleryTask(PYTHON, celeryEnv(group), PLAIN_CELERY, TASK_AND_PING);
        assert.match(result, /^failed: [\s\S]*(NOPERM|no permissions to access one of the keys)/);
    });
});
