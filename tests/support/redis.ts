/**
 * Test helpers for Redis groups on real servers: a stack's group as its stack file configures it (changes go
 * through the stack config the program reads, never into rendered files), test passwords, waits, diagnostics.
 */
import { strict as assert } from "assert";
import Redis from "ioredis";
import type { PlatformConfig } from "../../components/config";
import type { AppConfig } from "../../components/config/platform";
import { RedisPasswords, appRedisUserNames } from "../../components/redis/acl";
import { FILES } from "../../components/redis/files";
import { waitFor } from "../../testbed/servers/processes";
import { LocalRedisGroup, redisPorts } from "../../testbed/servers/redis";
import { parseStack, sectionOverride } from "./config";

/** Passwords made of every character generated passwords may contain (see keyVault.passwords.special). */
export function testPasswords(config: PlatformConfig): RedisPasswords {
    const pw = (who: string) => `${who}-Zq9!#%&*+-./:=?@^_~`;
    return {
        admin: pw("admin"),
        monitor: pw("monitor"),
        replication: pw("replication"),
        sentinel: pw("sentinel"),
        sentinelClient: pw("client"),
        ...(config.redis.backup ? { backup: pw("backup") } : {}),
        apps: Object.fromEntries(config.apps.flatMap(appRedisUserNames).map((user) => [user, pw(user)])),
    };
}

/** A standalone group of `redis` serving `apps`, started, with its master up. */
export async function startedStandaloneGroup(
    redis: PlatformConfig["redis"],
    apps: AppConfig[],
    passwords: RedisPasswords,
): Promise<LocalRedisGroup> {
    const g = new LocalRedisGroup({ redis, apps, passwords, ports: await redisPorts(redis) });
    g.startAll();
    await waitFor("the standalone master", 15_000, async () => ((await g.masters()).length === 1 ? true : undefined));
    return g;
}

/** `SET <user>:probe 1` as `user` on data node 0: "OK", or why the server refused it. */
export async function probeWrite(g: LocalRedisGroup, user: string, password: string): Promise<string> {
    const client = new Redis({
        port: g.port("data", 0),
        username: user,
        password,
        lazyConnect: true,
        retryStrategy: () => null,
    });
    // ioredis reports a refused AUTH on its error event, and its connect() as a closed connection.
    let refused = "";
    client.on("error", (e: Error) => (refused = e.message));
    try {
        await client.connect();
        return await client.set(`${user}:probe`, "1");
    } catch (e) {
        return `${refused} ${(e as Error).message}`;
    } finally {
        client.disconnect();
    }
}

/**
 * The stack's Redis group (not started) on free ports, from its stack file with `redis` changes applied
 * to the `data-platform:redis` section.
 */
export async function localGroup(stack: string, redis: Record<string, unknown> = {}): Promise<LocalRedisGroup> {
    // `tls: false` on prod's default group, which its config refuses (a shared group keeps TLS in production): these
    // tests run its servers' behaviour without TLS, not its config.
    const { tls, ...settings } = redis;
    const config = parseStack(stack, sectionOverride(stack, "redis", settings));
    return new LocalRedisGroup({
        redis: tls === undefined ? config.redis : { ...config.redis, tls: tls as boolean },
        apps: config.apps,
        passwords: testPasswords(config),
        ports: await redisPorts(config.redis),
    });
}

export async function expectError(what: Promise<unknown>, pattern: RegExp): Promise<void> {
    await assert.rejects(what, (e: Error) => pattern.test(e.message), `expected ${pattern}`);
}

/** Waits until data node `ordinal` is a replica of `master` with its link up (its readiness probe passes). */
export async function waitReplicaOf(
    g: LocalRedisGroup,
    ordinal: number,
    master: number,
    timeoutMs: number,
): Promise<void> {
    await waitFor(
        `redis-${ordinal} replicating from redis-${master}`,
        timeoutMs,
        async () => {
            const role = await g.command("data", ordinal, "ROLE");
            const ok =
                Array.isArray(role) &&
                role[0] === "slave" &&
                Number(role[2]) === g.port("data", master) &&
                (await g.runScript("data", ordinal, FILES.readyRedis)).code === 0;
            return ok ? true : undefined;
        },
        250,
    );
}

/** Runs `test`; on failure adds what the Sentinels did and the data nodes' last log lines. */
export async function withDiagnostics(g: LocalRedisGroup, test: () => Promise<void>): Promise<void> {
    try {
        await test();
    } catch (e) {
        const events = g.layout.sentinels.map((_, i) =>
            g
                .log("sentinel", i)
                .split("\n")
                .filter((l) => /failover|switch|elected|promoted|reconf|convert|tilt|sdown|odown/.test(l))
                .join("\n"),
        );
        const nodes = g.layout.dataNodes.map(
            (_, i) => `redis-${i}:\n${g.log("data", i).split("\n").slice(-30).join("\n")}`,
        );
        (e as Error).message += `\n--- Sentinel events\n${events.join("\n")}\n--- data nodes\n${nodes.join("\n")}`;
        throw e;
    }
}
