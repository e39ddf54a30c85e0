/**
 * Tenant stacks' Redis users on a group of their platform stack (issue 26 item 7), on a real redis-server with the
 * rendered start script, reload sidecar and ACL sync script: each tenant's users file is projected beside the
 * platform's (its own Secret), so the platform's users and two tenants' load together, the platform's own sync and a
 * restart of the server keep the tenants' users (the aclfile joins every file), and a tenant's removed application
 * loses its user by that tenant's sync alone.
 */
import { strict as assert } from "assert";
import Redis from "ioredis";
import type { AppConfig } from "../../../components/config/platform";
import { waitFor } from "../../../testbed/servers/processes";
import { LocalRedisGroup } from "../../../testbed/servers/redis";
import { parseStack } from "../../support/config";
import { probeWrite, startedStandaloneGroup, testPasswords } from "../../support/redis";

/** The dev stack with two more applications for each tenant: one configuration, as the tenants' merged ones are. */
function stack(): {
    platform: AppConfig[];
    a: AppConfig[];
    b: AppConfig[];
    passwords: ReturnType<typeof testPasswords>;
} {
    const base = parseStack("dev");
    const extra = ["ta-one", "ta-two", "tb-one", "tb-two"].map((name, i) => ({
        name,
        namespace: name,
        redisDb: 10 + i,
        poolSize: 1,
        replicas: 1,
    }));
    const raw = parseStack("dev", {
        "data-platform:apps": [
            ...base.apps.map((a) => ({
                name: a.name,
                namespace: a.namespace,
                redisDb: a.redisDb,
                poolSize: 1,
                replicas: 1,
            })),
            ...extra,
        ],
    });
    const of = (prefix: string) => raw.apps.filter((a) => a.name.startsWith(prefix));
    return {
        platform: raw.apps.filter((a) => !a.name.startsWith("t")),
        a: of("ta-"),
        b: of("tb-"),
        passwords: testPasswords(raw),
    };
}

describe("tenant stacks' Redis users on their platform's group, on a real server", function () {
    this.timeout(120_000);
    let g: LocalRedisGroup;
    after(() => g?.stop());

    const writes = (user: string, password: string) => probeWrite(g, user, password);

    /** The dev stack's group, serving the platform's applications `platform`. */
    async function startPlatform(platform: AppConfig[], passwords: ReturnType<typeof testPasswords>): Promise<void> {
        await g?.stop();
        g = await startedStandaloneGroup(parseStack("dev").redis, platform, passwords);
    }

    async function users(): Promise<string[]> {
        return ((await g.command("data", 0, "ACL", "USERS")) as string[]).filter((u) => !u.startsWith("acl-version:"));
    }

    it("loads the platform's and two tenants' users, keeps them through a platform sync and a restart, and removes a tenant's user by its own sync only", async () => {
        const { platform, a, b, passwords } = stack();
        await startPlatform(platform, passwords);

        await g.syncTenant("team-a", a, passwords);
        await g.syncTenant("team-b", b, passwords);
        const everyone = [...platform, ...a, ...b].map((app) => app.name);
        assert.deepEqual((await users()).filter((u) => everyone.includes(u)).sort(), [...everyone].sort());
        for (const name of everyone) {
            assert.equal(await writes(name, passwords.apps[name]), "OK", name);
        }
        // A tenant's user is held to its own prefix, as the platform's are.
        const tenantClient = new Redis({
            port: g.port("data", 0),
            username: "ta-one",
            password: passwords.apps["ta-one"],
            lazyConnect: true,
            retryStrategy: () => null,
        });
        await tenantClient.connect();
        await assert.rejects(tenantClient.set("tb-one:stolen", "1"), /NOPERM/);
        tenantClient.disconnect();

        // The platform's own change (a rotation of an application's password): its sync keeps every tenant's user.
        const rotated = {
            ...passwords,
            apps: { ...passwords.apps, [platform[0].name]: `${passwords.apps[platform[0].name]}-2` },
        };
        await g.reconfigure({ passwords: rotated });
        assert.equal(await writes(platform[0].name, rotated.apps[platform[0].name]), "OK");
        for (const app of [...a, ...b]) {
            assert.equal(
                await writes(app.name, passwords.apps[app.name]),
                "OK",
                `${app.name} after the platform's sync`,
            );
        }

        // The server restarts (a failover, a rolled pod): it loads the joined aclfile, tenants' files included.
        const pid = g.processes()[0].pid;
        await g.kill("data", 0);
        g.start("data", 0);
        await waitFor("the restarted master", 15_000, async () =>
            (await g.masters()).length === 1 ? true : undefined,
        );
        assert.notEqual(g.processes()[0].pid, pid, "the server was restarted");
        for (const app of [...a, ...b]) {
            assert.equal(await writes(app.name, passwords.apps[app.name]), "OK", `${app.name} after the restart`);
        }

        // Tenant A removes an application: its own sync removes that user, and only that one.
        const before = await users();
        await g.syncTenant("team-a", a.slice(0, 1), passwords);
        const after = await users();
        assert.deepEqual(
            before.filter((u) => !after.includes(u)),
            [a[1].name],
        );
        assert.match(await writes(a[1].name, passwords.apps[a[1].name]), /WRONGPASS/);
        for (const app of [...platform, a[0], ...b]) {
            assert.equal(await writes(app.name, rotated.apps[app.name]), "OK", app.name);
        }
        // Tenant B's stack destroyed: its Secret gone, its users go, the rest stay.
        await g.syncTenant("team-b", [], passwords);
        await waitFor("tenant B's users removed", 15_000, async () =>
            (await users()).some((u) => u.startsWith("tb-")) ? undefined : true,
        );
        assert.equal(await writes(a[0].name, passwords.apps[a[0].name]), "OK");
    });

    it("a user named by two stacks keeps the node from starting (why npm run stacks refuses it: tenantCi.test.ts)", async () => {
        const { platform, passwords } = stack();
        await startPlatform(platform, passwords);
        // A tenant names an application as the platform does: applied live (SETUSER twice, the last wins), but
        // the joined aclfile names the user twice, and Redis 7.0.15 aborts its start on it ("Duplicate user").
        await g.syncTenant("team-c", [platform[0]], passwords);
        await g.kill("data", 0);
        g.start("data", 0);
        await waitFor("the start refused", 15_000, async () =>
            /Duplicate user '[^']+' found/.test(g.log("data", 0)) ? true : undefined,
        );
        assert.match(g.log("data", 0), new RegExp(`Duplicate user '${platform[0].name}' found`));
    });
});
