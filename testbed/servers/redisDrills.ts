/**
 * Failure drills on a local Sentinel group under continuous writes through a client configured from an application's
 * contract (Sentinel discovery, or the master endpoint's `REDIS_URL`): kill -9 of the master, and a rolling restart of
 * every data pod the way a StatefulSet rolls. Shared by the integration tests and `npm run bench:failover`.
 */
import type Redis from "ioredis";
import { FILES } from "../../components/redis/files";
import { waitFor } from "./processes";
import type { LocalRedisGroup } from "./redis";
import { ContractWriter, appClient, missingKeys, sentinelMaster } from "./redisClients";
import { waitHealthy } from "./redisStack";

/** A new client of the group as application `app` sees it (`contractClient`, `endpointClient`). */
export type ClientMaker = (group: LocalRedisGroup, app: string) => Redis;

/** Acknowledged keys the master the Sentinels agree on no longer has, read as application `app`. */
export function lostWrites(group: LocalRedisGroup, app: string, keys: readonly string[]): Promise<number> {
    return missingKeys(
        () => sentinelMaster(group),
        (ordinal) => appClient(group, app, ordinal),
        keys,
    );
}

/** Waits until a writer has 20 acknowledged writes. */
export async function waitWrites(writer: { acknowledged: readonly string[] }): Promise<void> {
    await waitFor("acknowledged writes", 10_000, async () => (writer.acknowledged.length >= 20 ? true : undefined));
}

export interface KillResult {
    /** From the kill to the first write the client got accepted. */
    readonly seconds: number;
    /** Writes acknowledged by a replica (`WAIT 1`) that the new master does not have. */
    readonly lost: number;
    readonly acknowledged: number;
    /** The ordinal killed (started again before this returns). */
    readonly master: number;
}

/** kill -9 of the master while `client` writes; the killed node is started again (it rejoins as a replica). */
export async function killMasterUnderWrites(
    group: LocalRedisGroup,
    app: string,
    prefix: string,
    client: ClientMaker,
): Promise<KillResult> {
    const master = await waitHealthy(group, 60_000);
    const writer = new ContractWriter(client(group, app), prefix);
    await waitWrites(writer);
    const killedAt = Date.now();
    await group.kill("data", master);
    const dead = Date.now();
    const accepted = await waitFor("a write through the client", 60_000, async () => writer.firstAcceptedAfter(dead));
    await writer.stop();
    const lost = await lostWrites(group, app, writer.acknowledged);
    group.start("data", master);
    return { seconds: (accepted - killedAt) / 1000, lost, acknowledged: writer.acknowledged.length, master };
}

export interface RollResult {
    /** The longest time between two writes the client got accepted, from the first preStop on (seconds). */
    readonly pause: number;
    readonly lost: number;
    readonly writes: number;
    /** What the hand-overs printed and the client's errors during the longest pause, to see where the time went. */
    readonly hooks: string[];
}

/** Every data pod restarted in turn, highest ordinal first (preStop hand-over, stop, start, ready), while `client` writes. */
export async function rollingRestartUnderWrites(
    group: LocalRedisGroup,
    app: string,
    prefix: string,
    client: ClientMaker,
): Promise<RollResult> {
    await waitHealthy(group, 60_000);
    const writer = new ContractWriter(client(group, app), prefix);
    await waitWrites(writer);
    const started = Date.now();
    const hooks: string[] = [];
    for (let ordinal = group.layout.dataNodes.length - 1; ordinal >= 0; ordinal--) {
        const hook = await group.runScript("data", ordinal, FILES.preStopRedis);
        if (hook.code !== 0) {
            throw new Error(`preStop of redis-${ordinal} failed: ${hook.output}`);
        }
        hooks.push(
            ...hook.output
                .trim()
                .split("\n")
                .filter(Boolean)
                .map((l) => `redis-${ordinal} preStop: ${l}`),
        );
        await group.kill("data", ordinal, "SIGTERM");
        group.start("data", ordinal);
        await waitHealthy(group, 60_000);
    }
    await writer.stop();
    const lost = await lostWrites(group, app, writer.acknowledged);
    const [from, to] = writer.longestPauseWindow(started);
    const errors = writer.errors
        .filter((e) => e.at >= from && e.at <= to)
        .map((e) => `+${((e.at - from) / 1000).toFixed(2)} s into the pause: ${e.message}`);
    return { pause: (to - from) / 1000, lost, writes: writer.acknowledged.length, hooks: [...hooks, ...errors] };
}
