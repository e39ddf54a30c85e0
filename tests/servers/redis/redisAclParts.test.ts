/**
 * A users file in several parts (tens of applications: Key Vault holds 25 KB a secret) on a real server: the start
 * script joins the parts into the file Redis loads, and the reload sidecar applies a change that adds a part.
 */
import { strict as assert } from "assert";
import { dataAclPartPlan } from "../../../components/redis/acl";
import { LocalRedisGroup } from "../../../testbed/servers/redis";
import { parseStack, sectionOverride } from "../../support/config";
import { probeWrite, startedStandaloneGroup, testPasswords } from "../../support/redis";

/** The dev stack with `count` applications, each with a few key patterns, on a standalone group. */
function stackWith(count: number) {
    const apps = Array.from({ length: count }, (_, i) => {
        const name = `tenant-${String(i).padStart(3, "0")}`;
        return {
            name,
            namespace: name,
            redisDb: 1 + i,
            redisKeyPatterns: [`${name}:*`, `${name}-jobs:*`],
            poolSize: 1,
            replicas: 1,
        };
    });
    return parseStack("dev", {
        "data-platform:apps": apps,
        ...sectionOverride("dev", "redis", { databases: 200 }),
        ...sectionOverride("dev", "postgres", { maxConnections: 500 }),
    });
}

describe("a Redis users file in parts, on a real server", function () {
    this.timeout(60_000);
    let g: LocalRedisGroup;
    after(() => g?.stop());

    const writesAs = (user: string, password: string) => probeWrite(g, user, password);

    it("loads every part at start, and applies a change that adds a part without a restart", async () => {
        const before = stackWith(60);
        assert.ok(dataAclPartPlan(before.redis.mode, before.apps).length >= 2, "60 applications take several parts");
        g = await startedStandaloneGroup(before.redis, before.apps, testPasswords(before));
        const passwords = testPasswords(before);
        for (const app of [before.apps[0], before.apps[59]]) {
            assert.equal(await writesAs(app.name, passwords.apps[app.name]), "OK", app.name);
        }
        const pid = g.processes()[0].pid;

        const after = stackWith(120);
        assert.ok(
            dataAclPartPlan(after.redis.mode, after.apps).length >
                dataAclPartPlan(before.redis.mode, before.apps).length,
        );
        await g.reconfigure({ apps: after.apps, passwords: testPasswords(after) });
        assert.equal(await writesAs(after.apps[119].name, testPasswords(after).apps[after.apps[119].name]), "OK");
        assert.equal(g.processes()[0].pid, pid, "the server was not restarted");
    });
});
