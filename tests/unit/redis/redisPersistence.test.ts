/** `redis.snapshots`: RDB snapshot rules rendered beside the AOF (run on a real server by tests/integration/redisRestore). */
import { strict as assert } from "assert";
import { renderRedisConf } from "../../../components/redis/files";
import { kubernetesLayout } from "../../../components/redis/layout";
import { parseStack, problemLines, sectionOverride } from "../../support/config";

function redisConf(stack: string, redis: Record<string, unknown> = {}): string[] {
    const config = parseStack(stack, sectionOverride(stack, "redis", redis));
    return renderRedisConf(config.redis, kubernetesLayout(config.redis, config.cluster.platformNamespace)).split("\n");
}

describe("Redis snapshots (redis.snapshots)", () => {
    for (const stack of ["dev", "prod"]) {
        it(`${stack}: none by default, the AOF alone (as before)`, () => {
            const conf = redisConf(stack);
            assert.deepEqual(
                conf.filter((l) => /^(save|appendonly) /.test(l)),
                ["appendonly yes", 'save ""'],
            );
        });
    }

    it("renders every rule on one save line, the AOF kept", () => {
        const conf = redisConf("prod", {
            snapshots: [
                { seconds: 3600, changes: 1 },
                { seconds: 300, changes: 100 },
            ],
        });
        assert.deepEqual(
            conf.filter((l) => /^(save|appendonly) /.test(l)),
            ["appendonly yes", "save 3600 1 300 100"],
        );
    });

    it("refuses a rule more often than a minute, naming the key and what is allowed", () => {
        assert.deepEqual(
            problemLines("dev", sectionOverride("dev", "redis", { snapshots: [{ seconds: 10, changes: 1 }] })),
            ["data-platform:redis.snapshots[0].seconds: given 10; allowed: an integer from 60 to 86400"],
        );
    });
});
