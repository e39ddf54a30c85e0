/**
 * Clients of a local Redis group: one application connection, the master the Sentinels agree on, and a
 * continuous writer. Shared by the integration tests and `npm run bench:failover`.
 */
import Redis, { RedisOptions } from "ioredis";
import { LOOPBACK, sleep, waitFor } from "./processes";
import type { LocalRedisGroup } from "./redis";

/** One connection as an application user to one data node; no retries, so every failure is visible. */
export function appClient(group: LocalRedisGroup, appName: string, ordinal: number): Redis {
    const { passwords, apps, redis } = group.options;
    const app = apps.find((a) => a.name === appName);
    if (!app) {
        throw new Error(`no app ${appName}`);
    }
    const client = new Redis({
        host: LOOPBACK,
        port: group.port("data", ordinal),
        username: app.name,
        password: passwords.apps[app.name],
        db: app.redisDb,
        tls: redis.tls ? { ca: group.caCertificate() } : undefined,
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        enableOfflineQueue: false,
        connectTimeout: 1000,
        commandTimeout: 2000,
    });
    client.on("error", () => undefined);
    return client;
}

/** The master most Sentinels name, as a data node ordinal (-1 if none). */
export async function sentinelMaster(group: LocalRedisGroup): Promise<number> {
    const views = (await group.sentinelViews()).filter((v): v is string => v !== undefined);
    const counts = new Map<string, number>();
    views.forEach((v) => counts.set(v, (counts.get(v) ?? 0) + 1));
    const best = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];
    return best && best[1] >= group.options.redis.quorum ? group.ordinalOf(best[0]) : -1;
}

/** What `missingKeys` needs of a client: an ioredis `Redis` connection. */
export interface KeyReader {
    connect(): Promise<void>;
    mget(...keys: string[]): Promise<(string | null)[]>;
    disconnect(): void;
}

/**
 * How many of `keys` the master (`master()`, a data node ordinal, -1 while the Sentinels disagree) no longer has,
 * read through `reader(ordinal)`. A read that fails (ioredis' "Connection is closed." when a TLS handshake outlasts
 * connectTimeout on a loaded machine, a timeout, a node that just lost its role) says nothing about the data: it is
 * tried again, master included, until `timeoutMs`, and the last error is reported only then.
 */
export async function missingKeys(
    master: () => Promise<number>,
    reader: (ordinal: number) => KeyReader,
    keys: readonly string[],
    timeoutMs = 30_000,
): Promise<number> {
    let failure = "";
    const read = waitFor("a read of the acknowledged keys from the master", timeoutMs, async () => {
        const ordinal = await master();
        if (ordinal < 0) {
            return undefined;
        }
        const client = reader(ordinal);
        try {
            await client.connect();
            return keys.length > 0 ? await client.mget(...keys) : [];
        } catch (err) {
            failure = `; the last read failed: ${(err as Error).message}`;
            return undefined;
        } finally {
            client.disconnect();
        }
    });
    const values = await read.catch((err: Error) => {
        throw new Error(`${err.message}${failure}`);
    });
    return values.filter((v) => v === null).length;
}

/**
 * Writes `<prefix>:<n>` continuously to whatever node the Sentinels name, each followed by `WAIT 1`;
 * a write counts as acknowledged only when a replica confirmed it.
 */
export class Writer {
    readonly acknowledged: string[] = [];
    /** Accepted by a master without a replica's confirmation. */
    readonly unconfirmed: string[] = [];
    /** Times (ms epoch) of accepted writes, by master ordinal. */
    readonly acceptedAt: { ordinal: number; at: number }[] = [];
    private running = true;
    private done: Promise<void>;

    constructor(
        private readonly group: LocalRedisGroup,
        private readonly appName: string,
        private readonly prefix: string,
    ) {
        this.done = this.loop();
    }

    private async loop(): Promise<void> {
        let n = 0;
        let client: Redis | undefined;
        let ordinal = -1;
        while (this.running) {
            try {
                if (!client) {
                    ordinal = await sentinelMaster(this.group);
                    if (ordinal < 0) {
                        await sleep(100);
                        continue;
                    }
                    client = appClient(this.group, this.appName, ordinal);
                    await client.connect();
                }
                const key = `${this.prefix}:${n}`;
                await client.set(key, String(n));
                this.acceptedAt.push({ ordinal, at: Date.now() });
                n++;
                const replicas = Number(await client.call("WAIT", "1", "1000"));
                (replicas >= 1 ? this.acknowledged : this.unconfirmed).push(key);
            } catch {
                client?.disconnect();
                client = undefined;
                await sleep(50);
            }
        }
        client?.disconnect();
    }

    /** First accepted write on `ordinal` after `since`. */
    firstAcceptedOn(ordinal: number, since: number): number | undefined {
        return this.acceptedAt.find((a) => a.ordinal === ordinal && a.at >= since)?.at;
    }

    async stop(): Promise<void> {
        this.running = false;
        await this.done;
    }
}

/**
 * ioredis options for Sentinel mode from an application's contract keys alone (plus the CA it trusts, when
 * `REDIS_TLS` is true; `ca` is asked only then): Sentinel discovery, the Sentinel password, the app's user, database and TLS.
 */
export function contractSentinelOptions(
    env: Readonly<Record<string, string>>,
    ca: () => string | Buffer | undefined,
): RedisOptions {
    const tls = env.REDIS_TLS === "true" ? { ca: ca() } : undefined;
    return {
        sentinels: env.REDIS_SENTINEL_HOSTS.split(",").map((hp) => ({
            host: hp.slice(0, hp.lastIndexOf(":")),
            port: Number(hp.slice(hp.lastIndexOf(":") + 1)),
        })),
        name: env.REDIS_SENTINEL_MASTER,
        sentinelPassword: env.REDIS_SENTINEL_PASSWORD,
        username: env.REDIS_USERNAME,
        password: env.REDIS_PASSWORD,
        db: Number(env.REDIS_DB),
        tls,
        sentinelTLS: tls,
        enableTLSForSentinelMode: tls !== undefined,
    };
}

/**
 * A Sentinel-aware ioredis client configured only from application `appName`'s contract (plus the CA it trusts):
 * what an application sees. It asks the Sentinels again whenever its connection drops, and on READONLY.
 */
export function contractClient(group: LocalRedisGroup, appName: string): Redis {
    const env = group.env()[appName];
    if (!env) {
        throw new Error(`no app ${appName}`);
    }
    const client = new Redis({
        ...contractSentinelOptions(env, () => group.caCertificate()),
        reconnectOnError: (e) => /READONLY/.test(e.message),
        maxRetriesPerRequest: 0,
        retryStrategy: () => 50,
        connectTimeout: 1000,
        commandTimeout: 2000,
    });
    client.on("error", () => undefined);
    return client;
}

/**
 * A client of the master endpoint configured only from application `appName`'s contract: `REDIS_URL` (plus the CA it
 * trusts): what an application that does not speak Sentinel sees. It reconnects whenever its connection drops, and on
 * READONLY (a connection that reached a master just demoted).
 */
export function endpointClient(group: LocalRedisGroup, appName: string): Redis {
    const env = group.env()[appName];
    if (!env) {
        throw new Error(`no app ${appName}`);
    }
    const client = new Redis(env.REDIS_URL, {
        tls: env.REDIS_TLS === "true" ? { ca: group.caCertificate() } : undefined,
        reconnectOnError: (e) => /READONLY/.test(e.message),
        maxRetriesPerRequest: 0,
        retryStrategy: () => 50,
        connectTimeout: 1000,
        commandTimeout: 2000,
    });
    client.on("error", () => undefined);
    return client;
}

/**
 * Writes `<prefix>:<n>` continuously through one client configured from the contract (`contractClient`,
 * `endpointClient`), each followed by `WAIT 1`: when each write was accepted, and which were acknowledged by a replica.
 */
export class ContractWriter {
    readonly acknowledged: string[] = [];
    /** Times (ms epoch) at which writes were accepted, in order. */
    readonly acceptedAt: number[] = [];
    /** Each new error a write met (consecutive repeats once), with when. */
    readonly errors: { at: number; message: string }[] = [];
    private running = true;
    private readonly done: Promise<void>;

    /** `client`: this writer's own, disconnected by `stop`. */
    constructor(
        private readonly client: Redis,
        prefix: string,
    ) {
        this.done = this.loop(prefix);
    }

    private async loop(prefix: string): Promise<void> {
        let n = 0;
        while (this.running) {
            const key = `${prefix}:${n}`;
            try {
                await this.client.set(key, String(n));
                this.acceptedAt.push(Date.now());
                n++;
                if (Number(await this.client.call("WAIT", "1", "1000")) >= 1) {
                    this.acknowledged.push(key);
                }
            } catch (err) {
                const message = String((err as Error).message ?? err);
                if (this.errors[this.errors.length - 1]?.message !== message) {
                    this.errors.push({ at: Date.now(), message });
                }
                await sleep(10);
            }
        }
    }

    /** First write accepted at or after `since` (ms epoch). */
    firstAcceptedAfter(since: number): number | undefined {
        return this.acceptedAt.find((at) => at >= since);
    }

    /** The longest time between two accepted writes from `since` on (ms). */
    longestPause(since: number): number {
        const [from, to] = this.longestPauseWindow(since);
        return to - from;
    }

    /** When the longest pause from `since` on began and ended (ms epoch). */
    longestPauseWindow(since: number): [number, number] {
        const times = this.acceptedAt.filter((at) => at >= since);
        return times
            .slice(1)
            .reduce<[number, number]>((w, at, i) => (at - times[i] > w[1] - w[0] ? [times[i], at] : w), [0, 0]);
    }

    async stop(): Promise<void> {
        this.running = false;
        await this.done;
        this.client.disconnect();
    }
}
