/**
 * `npm run bench:failover [-- --runs 5 --stack prod]`, on real redis-server/redis-sentinel running the stack's
 * rendered configuration (TLS as configured) on loopback, behind the rendered master endpoint (Debian's haproxy). Rows,
 * each with every run and the median:
 * - kill -9 of the master -> the first write accepted by the new master, writing directly to the node Sentinel names;
 * - the same through ioredis configured only from an application's contract: Sentinel discovery (TLS), and `REDIS_URL`
 *   through the master endpoint;
 * - the longest pause between two writes each of those clients sees while every data pod is restarted in turn the way
 *   a StatefulSet rolls (highest ordinal first: preStop hand-over, stop, start, ready);
 * - the acknowledged (`WAIT 1`) writes lost by those clients.
 */
import * as crypto from "crypto";
import { parseConfig } from "../components/config";
import type { RedisPasswords } from "../components/redis/acl";
import { promisedFailoverSeconds } from "../components/redis/files";
import { loadStackConfig } from "../offline/stackConfig";
import { parseFlags } from "./args";
import { waitFor } from "../testbed/servers/processes";
import { LocalRedisGroup, redisPorts } from "../testbed/servers/redis";
import { waitHealthy } from "../testbed/servers/redisStack";
import { Writer, contractClient, endpointClient, sentinelMaster } from "../testbed/servers/redisClients";
import {
    ClientMaker,
    killMasterUnderWrites,
    rollingRestartUnderWrites,
    waitWrites,
} from "../testbed/servers/redisDrills";

/** The longest write pause a client may see while every data pod is restarted in turn (issue 11). */
const ROLLING_PAUSE_TARGET_SECONDS = 1;

function median(values: readonly number[]): { median: number; min: number; max: number } {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return {
        median: sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2,
        min: sorted[0],
        max: sorted[sorted.length - 1],
    };
}

function summary(values: readonly number[]): string {
    const m = median(values);
    return `median ${m.median.toFixed(2)} s over ${values.length} runs (min ${m.min.toFixed(2)}, max ${m.max.toFixed(2)})`;
}

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
    // The clients an application configures from its contract: Sentinel discovery, or REDIS_URL (the master endpoint).
    const clients: { name: string; label: string; make: ClientMaker; target: number }[] = [
        {
            name: "contract client",
            label: "a contract client (ioredis, Sentinel discovery)",
            make: contractClient,
            target: config.redis.downAfterMilliseconds / 1000 + 0.5,
        },
        {
            name: "endpoint client",
            label: "the master endpoint (ioredis on REDIS_URL, HAProxy)",
            make: endpointClient,
            target: config.redis.downAfterMilliseconds / 1000 + 1,
        },
    ];
    const seconds: number[] = [];
    const kills = clients.map(() => [] as number[]);
    const pauses = clients.map(() => [] as number[]);
    const lost = clients.map(() => 0);
    try {
        group.startAll();
        let master = await waitHealthy(group, 60_000);
        for (let run = 1; run <= runs; run++) {
            const writer = new Writer(group, app, `${app}:bench${run}`);
            await waitWrites(writer);
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
        for (const [i, client] of clients.entries()) {
            for (let run = 1; run <= runs; run++) {
                const result = await killMasterUnderWrites(group, app, `${app}:kill${i}-${run}`, client.make);
                kills[i].push(result.seconds);
                lost[i] += result.lost;
                console.log(
                    `${client.name} run ${run}: ${result.seconds.toFixed(2)} s, ${result.lost} of ${result.acknowledged} lost (redis-${result.master} killed)`,
                );
            }
        }
        for (const [i, client] of clients.entries()) {
            for (let run = 1; run <= runs; run++) {
                const result = await rollingRestartUnderWrites(group, app, `${app}:roll${i}-${run}`, client.make);
                pauses[i].push(result.pause);
                lost[i] += result.lost;
                console.log(
                    `${client.name}, rolling restart run ${run}: longest pause ${result.pause.toFixed(2)} s, ${result.lost} of ${result.writes} lost`,
                );
                // Over the target: what the hand-overs did, to see where the time went.
                if (result.pause > ROLLING_PAUSE_TARGET_SECONDS) {
                    result.hooks.forEach((line) => console.log(`    ${line}`));
                }
            }
        }
    } finally {
        await group.stop();
    }
    const timers = `stack ${stack} (down-after ${config.redis.downAfterMilliseconds} ms, TLS ${config.redis.tls})`;
    console.log(
        `${timers}: kill -9 -> first accepted write on the new master, written directly: ${summary(seconds)}; promised ${promise} s`,
    );
    for (const [i, client] of clients.entries()) {
        console.log(
            `${timers}: kill -9 -> first accepted write through ${client.label}: ${summary(kills[i])}; target ${client.target} s`,
        );
    }
    for (const [i, client] of clients.entries()) {
        console.log(
            `${timers}: longest write pause through ${client.label} during a rolling restart of every data pod: ${summary(pauses[i])}; target ${ROLLING_PAUSE_TARGET_SECONDS} s`,
        );
    }
    for (const [i, client] of clients.entries()) {
        console.log(`${timers}: acknowledged (WAIT 1) writes lost through ${client.label}: ${lost[i]}`);
    }
}

main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
});
