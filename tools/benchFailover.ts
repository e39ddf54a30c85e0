/**
 * `npm run bench:failover [-- --runs 5 --stack prod]`: seconds from a master's death (kill -9) to the
 * first write accepted by the new master, on real redis-server/redis-sentinel running the stack's
 * rendered configuration (TLS as configured) on loopback. Prints every run and the median.
 */
import * as crypto from "crypto";
import { parseConfig } from "../components/config";
import type { RedisPasswords } from "../components/redis/acl";
import { promisedFailoverSeconds } from "../components/redis/files";
import { loadStackConfig } from "../engine/stackConfig";
import { parseFlags } from "./args";
import { waitFor } from "./sandbox/processes";
import { LocalRedisGroup, redisPorts, waitHealthy } from "./sandbox/redis";
import { Writer, sentinelMaster } from "./sandbox/redisClients";

async function main(): Promise<void> {
    const { flags } = parseFlags(process.argv.slice(2), ["runs", "stack"]);
    const runs = Number(flags.runs ?? "5");
    const stack = flags.stack ?? "prod";
    const { config: raw, secretKeys } = loadStackConfig(stack);
    const config = parseConfig(raw, stack, secretKeys);
    if (config.redis.mode !== "sentinel") {
        throw new Error(`stack ${stack} runs Redis ${config.redis.mode}: nothing fails over`);
    }
    const pw = () => crypto.randomBytes(24).toString("base64url") + "!#%&*+-./:=?@^_~";
    const passwords: RedisPasswords = {
        admin: pw(),
        monitor: pw(),
        replication: pw(),
        sentinel: pw(),
        sentinelClient: pw(),
        apps: Object.fromEntries(config.apps.map((a) => [a.name, pw()])),
    };
    const app = config.apps[0].name;
    const promise = promisedFailoverSeconds(config.redis);
    const group = new LocalRedisGroup({
        redis: config.redis,
        apps: config.apps,
        passwords,
        ports: await redisPorts(config.redis),
    });
    const stopAll = () => void group.stop().finally(() => process.exit(130));
    process.once("SIGINT", stopAll);
    const seconds: number[] = [];
    try {
        group.startAll();
        let master = await waitHealthy(group, 60_000);
        for (let run = 1; run <= runs; run++) {
            const writer = new Writer(group, app, `${app}:bench${run}`);
            await waitFor("writes before the kill", 10_000, async () =>
                writer.acknowledged.length >= 20 ? true : undefined,
            );
            const killedAt = Date.now();
            await group.kill("data", master);
            const next = await waitFor("a new master", 60_000, async () => {
                const m = await sentinelMaster(group);
                return m >= 0 && m !== master ? m : undefined;
            });
            const accepted = await waitFor("a write on the new master", 60_000, async () =>
                writer.firstAcceptedOn(next, killedAt),
            );
            await writer.stop();
            seconds.push((accepted - killedAt) / 1000);
            console.log(`run ${run}: ${seconds[seconds.length - 1].toFixed(2)} s (redis-${master} -> redis-${next})`);
            group.start("data", master);
            master = await waitHealthy(group, 60_000);
        }
    } finally {
        await group.stop();
    }
    const sorted = [...seconds].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    console.log(
        `stack ${stack} (down-after ${config.redis.downAfterMilliseconds} ms, TLS ${config.redis.tls}): ` +
            `median ${median.toFixed(2)} s from the master's death to the first accepted write on the new master ` +
            `over ${runs} runs (min ${sorted[0].toFixed(2)}, max ${sorted[sorted.length - 1].toFixed(2)}; promised ${promise} s)`,
    );
}

main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
});
