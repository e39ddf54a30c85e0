/**
 * The rendered ACLs of the platform's own clients on real redis-server / redis-sentinel (prod config): redis_exporter
 * as the `monitor` user on data nodes and Sentinels, and a Sentinel-aware client (go-redis's subscription) as
 * Sentinel's `default` user.
 */
import { strict as assert } from "assert";
import Redis from "ioredis";
import { waitFor } from "../../../testbed/servers/processes";
import { LOOPBACK, LocalRedisGroup, Role } from "../../../testbed/servers/redis";
import { waitHealthy } from "../../../testbed/servers/redisStack";
import { sentinelMaster } from "../../../testbed/servers/redisClients";
import { parseStack } from "../../support/config";
import { localGroup } from "../../support/redis";
import { rawCommands } from "../../support/redisCommands";

const prod = parseStack("prod");
const master = prod.redis.masterName;

/**
 * Every command redis_exporter v1.67.0 sends with the options the platform runs it with (no key, stream, client-list
 * or module options; `REDIS_EXPORTER_CONFIG_COMMAND=-`, so no CONFIG GET): exporter/exporter.go scrapeRedisHost
 * (CLIENT SETNAME, INFO ALL, then INFO), latency.go, slowlog.go, and on a Sentinel sentinels.go. `PING` is sent with
 * `--ping-on-connect`.
 */
const EXPORTER_COMMANDS: readonly string[][] = [
    ["PING"],
    ["CLIENT", "SETNAME", "redis_exporter"],
    ["INFO", "ALL"],
    ["INFO"],
    ["LATENCY", "LATEST"],
    ["LATENCY", "HISTOGRAM"],
    ["SLOWLOG", "LEN"],
    ["SLOWLOG", "GET", "1"],
];
const EXPORTER_SENTINEL_COMMANDS: readonly string[][] = [
    ["SENTINEL", "MASTERS"],
    ["SENTINEL", "CKQUORUM", master],
    ["SENTINEL", "SENTINELS", master],
    ["SENTINEL", "SLAVES", master],
];

describe("ACLs of the platform's own Redis clients on real servers (rendered prod config)", function () {
    this.timeout(90_000);
    let g: LocalRedisGroup;
    before(async () => {
        g = await localGroup("prod", { tls: false });
        g.startAll();
        await waitHealthy(g, 30_000);
    });
    after(() => g?.stop());

    async function asMonitor(role: Role, commands: readonly string[][]): Promise<string[]> {
        const replies = await rawCommands(LOOPBACK, g.port(role, 0), [
            ["AUTH", "monitor", g.options.passwords.monitor],
            ...commands,
        ]);
        assert.equal(replies[0], "OK");
        return replies.slice(1);
    }

    it("the monitor user runs every command redis_exporter sends to a data node", async () => {
        const replies = await asMonitor("data", EXPORTER_COMMANDS);
        const failed = EXPORTER_COMMANDS.flatMap((c, i) =>
            replies[i].startsWith("-") ? [`${c.join(" ")}: ${replies[i]}`] : [],
        );
        assert.deepEqual(failed, []);
    });

    it("the monitor user runs every command redis_exporter sends to a Sentinel that Sentinel knows", async () => {
        const commands = [...EXPORTER_COMMANDS, ...EXPORTER_SENTINEL_COMMANDS];
        const replies = await asMonitor("sentinel", commands);
        // Sentinel has no CONFIG, LATENCY or SLOWLOG: the exporter logs that once (latency.go) or only at debug level.
        const failed = commands.flatMap((c, i) =>
            replies[i].startsWith("-") && !/^-ERR unknown command/.test(replies[i])
                ? [`${c.join(" ")}: ${replies[i]}`]
                : [],
        );
        assert.deepEqual(failed, []);
        assert.ok(
            EXPORTER_SENTINEL_COMMANDS.every((_, i) => !replies[EXPORTER_COMMANDS.length + i].startsWith("-")),
            replies.join("\n"),
        );
    });

    it("the monitor user reads no configuration: CONFIG GET masterauth would hand it the replication password (and PSYNC every tenant's data)", async () => {
        const replies = await asMonitor("data", [
            ["CONFIG", "GET", "masterauth"],
            ["CONFIG", "GET", "*"],
        ]);
        assert.ok(
            replies.every((r) => /^-NOPERM/.test(r)),
            replies.join("\n"),
        );
        // INFO memory still tells the exporter maxmemory (redis_memory_max_bytes).
        const [memory] = await asMonitor("data", [["INFO", "memory"]]);
        assert.match(memory, /^maxmemory:[1-9][0-9]*\r?$/m);
    });

    it("the monitor user still writes nothing", async () => {
        const replies = await asMonitor("data", [["SET", "x", "1"], ["CLIENT", "KILL", "ID", "1"], ["FLUSHALL"]]);
        assert.ok(
            replies.every((r) => /^-NOPERM/.test(r)),
            replies.join("\n"),
        );
    });

    it("Sentinel clients subscribe to Sentinel's events in one SUBSCRIBE (go-redis) and receive +switch-master, but publish nothing", async () => {
        const client = new Redis({
            host: LOOPBACK,
            port: g.port("sentinel", 0),
            password: g.options.passwords.sentinelClient,
            // A Sentinel client's user has no INFO (ioredis would warn); Sentinel-mode ioredis never checks one.
            enableReadyCheck: false,
            lazyConnect: true,
            retryStrategy: () => null,
        });
        client.on("error", () => undefined);
        const events: string[] = [];
        client.on("message", (channel: string, message: string) => events.push(`${channel} ${message}`));
        try {
            await client.connect();
            // go-redis sentinel.go: Subscribe(ctx, "+switch-master", "+replica-reconf-done"), one command.
            await client.subscribe("+switch-master", "+replica-reconf-done");
            const publisher = await rawCommands(LOOPBACK, g.port("sentinel", 0), [
                ["AUTH", g.options.passwords.sentinelClient!],
                ["PUBLISH", "+switch-master", `${master} forged`],
                ["PSUBSCRIBE", "*"],
            ]);
            assert.equal(publisher[0], "OK");
            assert.match(publisher[1], /^-NOPERM/);
            assert.equal(publisher[2], "[psubscribe, *, 1]");
            const first = await sentinelMaster(g);
            assert.equal(await g.command("sentinel", 0, "SENTINEL", "FAILOVER", master), "OK");
            await waitFor("+switch-master through the client's subscription", 30_000, async () =>
                events.some((e) => e.startsWith(`+switch-master ${master} `)) ? true : undefined,
            );
            assert.ok(!events.some((e) => e.includes("forged")), events.join("\n"));
            assert.notEqual(await sentinelMaster(g), first);
        } finally {
            client.disconnect();
        }
    });
});
