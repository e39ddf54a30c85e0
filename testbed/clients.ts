/**
 * Real clients for the lifecycle harness, built only from what a Secret hands out: an application's contract
 * (PostgreSQL via node-postgres, Redis via ioredis with Sentinel discovery and TLS as the contract says), single
 * `AUTH` probes for the platform's own credentials, and a background writer that counts writes a replica
 * acknowledged (`WAIT 1`). Cluster host names are translated to loopback ports; nothing else is added.
 */
import Redis, { RedisOptions } from "ioredis";
import { Client } from "pg";
import { LOOPBACK, sleep } from "./servers/processes";
import { contractSentinelOptions } from "./servers/redisClients";

/** Cluster `host:port` to the loopback port serving it. */
export type Endpoints = ReadonlyMap<string, number>;

export function localPort(endpoints: Endpoints, host: string, port: number | string): number {
    const local = endpoints.get(`${host}:${port}`);
    if (local === undefined) {
        throw new Error(`no local server for ${host}:${port}`);
    }
    return local;
}

/** Short timeouts; no INFO ready check (users without INFO, such as Sentinel's discovery user, would log about it). */
const QUICK = { connectTimeout: 5000, commandTimeout: 5000, enableReadyCheck: false } as const;

function describe(err: unknown): string {
    const text = err instanceof Error ? err.message : String(err);
    return text.split("\n")[0];
}

/** Connects as the application with `DB_*` and runs one query; the error, or undefined. */
export async function checkPostgres(
    env: Record<string, string>,
    endpoints: Endpoints,
    ca: string,
): Promise<string | undefined> {
    return queryPostgres(env, endpoints, ca, "SELECT 1").then(
        () => undefined,
        (err) => describe(err),
    );
}

/** Connects as the application with `DB_*` and runs `sql` (one simple query); its rows. */
export async function queryPostgres(
    env: Record<string, string>,
    endpoints: Endpoints,
    ca: string,
    sql: string,
): Promise<Record<string, unknown>[]> {
    const client = new Client({
        host: LOOPBACK,
        port: localPort(endpoints, env.DB_HOST, env.DB_PORT),
        database: env.DB_NAME,
        user: env.DB_USER,
        password: env.DB_PASSWORD,
        ssl: env.DB_SSL_MODE === "disable" ? false : { ca },
        connectionTimeoutMillis: 10_000,
    });
    client.on("error", () => undefined);
    try {
        await client.connect();
        return (await client.query(sql)).rows;
    } finally {
        await client.end().catch(() => undefined);
    }
}

/** A key the application may use: its first key pattern with the glob filled in, else `<app>:lifecycle`. */
export function appKey(app: { name: string; redisKeyPatterns: readonly string[] }, suffix: string): string {
    const pattern = app.redisKeyPatterns[0];
    return pattern ? pattern.replace(/[*?]/g, suffix).replace(/\[[^\]]*\]/g, "x") : `${app.name}:${suffix}`;
}

/** ioredis options from an application's Redis contract (Sentinel discovery or REDIS_URL). */
export function redisOptions(env: Record<string, string>, endpoints: Endpoints, ca: string): RedisOptions {
    const tls = env.REDIS_TLS === "true" ? { ca } : undefined;
    if (env.REDIS_SENTINEL_HOSTS !== undefined) {
        // The contract's options, with each announced Sentinel address mapped to its loopback port.
        const options = contractSentinelOptions(env, () => ca);
        return {
            ...options,
            sentinels: (options.sentinels ?? []).map((s) => ({
                host: LOOPBACK,
                port: localPort(endpoints, String(s.host), String(s.port)),
            })),
        };
    }
    const url = new URL(env.REDIS_URL);
    return {
        host: LOOPBACK,
        port: localPort(endpoints, url.hostname, url.port),
        username: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password),
        db: Number(url.pathname.slice(1)),
        tls,
    };
}

/** Connects as the application from its contract and writes and reads one key; the error, or undefined. */
/**
 * A client of a Redis contract that tries once (connected by the caller, no retry, no offline queue: a failure shows at
 * once), and the last error it reported (a refusal's own words, which the rejection may not carry).
 */
function oneShotRedis(env: Record<string, string>, endpoints: Endpoints, ca: string) {
    let lastError = "";
    const client = new Redis({
        ...redisOptions(env, endpoints, ca),
        ...QUICK,
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        enableOfflineQueue: false,
        retryStrategy: () => null,
        sentinelRetryStrategy: () => null,
    });
    client.on("error", (err) => (lastError = describe(err)));
    return { client, lastError: () => lastError };
}

export async function checkRedis(
    env: Record<string, string>,
    key: string,
    endpoints: Endpoints,
    ca: string,
): Promise<string | undefined> {
    const { client, lastError } = oneShotRedis(env, endpoints, ca);
    try {
        await client.connect();
        await client.set(key, "1");
        await client.get(key);
        return undefined;
    } catch (err) {
        // The connection's own error (WRONGPASS, NOPERM, a TLS failure) is the cause; the command's is its echo.
        return lastError() || describe(err);
    } finally {
        client.disconnect();
    }
}

/** `AUTH user password` on one server (TLS when asked); the error, or undefined. */
export async function checkAuth(
    port: number,
    user: string,
    password: string,
    ca: string | undefined,
): Promise<string | undefined> {
    const client = new Redis({
        host: LOOPBACK,
        port,
        username: user,
        password,
        tls: ca ? { ca } : undefined,
        ...QUICK,
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        enableOfflineQueue: false,
        retryStrategy: () => null,
    });
    let lastError = "";
    client.on("error", (err) => (lastError = describe(err)));
    try {
        await client.connect();
        await client.ping();
        return undefined;
    } catch (err) {
        return lastError || describe(err);
    } finally {
        client.disconnect();
    }
}

/**
 * A long-running application pod: it keeps the contract it started with and writes `<key>:<n>` continuously, each
 * followed by `WAIT 1 1000`; a write counts as acknowledged only when a replica confirmed it.
 */
export class BackgroundWriter {
    readonly acknowledged: string[] = [];
    /** Longest time (ms) between two accepted writes. */
    longestPauseMs = 0;
    lastError = "";
    private running = true;
    private readonly done: Promise<void>;

    constructor(
        private readonly options: RedisOptions,
        private readonly keyPrefix: string,
    ) {
        this.done = this.loop();
    }

    private async loop(): Promise<void> {
        const client = new Redis({
            ...this.options,
            ...QUICK,
            maxRetriesPerRequest: 1,
            retryStrategy: () => 100,
            sentinelRetryStrategy: () => 100,
            reconnectOnError: (err) => /READONLY/.test(err.message),
        });
        client.on("error", (err) => (this.lastError = describe(err)));
        let n = 0;
        let lastAccepted = Date.now();
        while (this.running) {
            const key = `${this.keyPrefix}:${n}`;
            try {
                await client.set(key, String(n));
                const now = Date.now();
                this.longestPauseMs = Math.max(this.longestPauseMs, now - lastAccepted);
                lastAccepted = now;
                n++;
                if (Number(await client.call("WAIT", "1", "1000")) >= 1) {
                    this.acknowledged.push(key);
                }
            } catch (err) {
                this.lastError = describe(err);
                await sleep(50);
            }
        }
        client.disconnect();
    }

    async stop(): Promise<void> {
        this.running = false;
        await this.done;
    }
}

/** Acknowledged keys the server behind `options` no longer has. */
export async function lostWrites(options: RedisOptions, keys: readonly string[]): Promise<string[]> {
    const client = new Redis({
        ...options,
        ...QUICK,
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        sentinelRetryStrategy: () => null,
    });
    client.on("error", () => undefined);
    try {
        await client.connect();
        const lost: string[] = [];
        for (let i = 0; i < keys.length; i += 1000) {
            const chunk = keys.slice(i, i + 1000);
            const values = await client.mget(...chunk);
            values.forEach((v, j) => v === null && lost.push(chunk[j]));
        }
        return lost;
    } finally {
        client.disconnect();
    }
}

/** Runs `tasks` at most `limit` at a time (a loaded two-core machine times out on dozens of TLS handshakes at once). */
export async function limited<T>(tasks: ReadonlyArray<() => Promise<T>>, limit = 6): Promise<T[]> {
    const results: T[] = new Array(tasks.length);
    let next = 0;
    const worker = async () => {
        while (next < tasks.length) {
            const i = next++;
            results[i] = await tasks[i]();
        }
    };
    await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
    return results;
}

/** One connection of a `ContinuousWriter`: where its writes go (recorded with each), and how to use it. */
interface WriterConnection<Where> {
    readonly where: Where;
    open(): Promise<unknown>;
    write(id: number): Promise<unknown>;
    close(): Promise<unknown>;
    /** The client's own last error, when it tells more than the rejection. */
    lastError?(): string;
}

/**
 * An application writing without pause, as its pods would: writes numbered 1, 2, ..., each recorded once the server
 * acknowledged it. On any error it connects again with the contract `env()` gives then (a pod reading its mounted
 * Secret again), so it follows a Secret that changes. `connect` makes one connection for a contract.
 */
class ContinuousWriter<Where extends object> {
    readonly acknowledged: Array<{ id: number; at: number } & Where> = [];
    readonly failures: { at: number; error: string }[] = [];
    private next = 1;
    private stopped = false;
    private readonly loop: Promise<void>;

    constructor(env: () => Record<string, string>, connect: (env: Record<string, string>) => WriterConnection<Where>) {
        this.loop = this.run(env, connect);
    }

    private async run(
        env: () => Record<string, string>,
        connect: (env: Record<string, string>) => WriterConnection<Where>,
    ): Promise<void> {
        while (!this.stopped) {
            const connection = connect(env());
            try {
                await connection.open();
                while (!this.stopped) {
                    const id = this.next++;
                    await connection.write(id);
                    this.acknowledged.push({ id, ...connection.where, at: Date.now() });
                    await sleep(5);
                }
            } catch (err) {
                this.failures.push({ at: Date.now(), error: connection.lastError?.() || describe(err) });
                await sleep(50);
            } finally {
                await connection.close();
            }
        }
    }

    async stop(): Promise<void> {
        this.stopped = true;
        await this.loop;
    }
}

/** `ContinuousWriter` into PostgreSQL: one row per insert into `table`, each recorded with the host it went to. */
export class PostgresWriter extends ContinuousWriter<{ host: string }> {
    constructor(env: () => Record<string, string>, endpoints: Endpoints, ca: () => string, table: string) {
        super(env, (contract) => {
            const client = new Client({
                host: LOOPBACK,
                port: localPort(endpoints, contract.DB_HOST, contract.DB_PORT),
                database: contract.DB_NAME,
                user: contract.DB_USER,
                password: contract.DB_PASSWORD,
                ssl: { ca: ca() },
                connectionTimeoutMillis: 5_000,
            });
            client.on("error", () => undefined);
            return {
                where: { host: contract.DB_HOST },
                open: () => client.connect(),
                write: (id) => client.query(`INSERT INTO ${table} (id) VALUES ($1)`, [id]),
                close: () => client.end().catch(() => undefined),
            };
        });
    }
}

/** The cluster address (`host:port`) a Redis contract names: its first Sentinel's, else REDIS_URL's. */
export function redisAddress(env: Record<string, string>): string {
    if (env.REDIS_SENTINEL_HOSTS !== undefined) {
        return env.REDIS_SENTINEL_HOSTS.split(",")[0];
    }
    const url = new URL(env.REDIS_URL);
    return `${url.hostname}:${url.port}`;
}

/**
 * `ContinuousWriter` into Redis: write n appends n to list `<prefix><n % keys>` (RPUSH), recorded with the address it
 * went to once the master answered (no `WAIT`: unlike `BackgroundWriter`, it serves scenarios that fail nothing over).
 */
export class RedisWriter extends ContinuousWriter<{ address: string }> {
    constructor(
        env: () => Record<string, string>,
        endpoints: Endpoints,
        ca: () => string,
        readonly keyPrefix: string,
        readonly keys: number,
    ) {
        super(env, (contract) => {
            const { client, lastError } = oneShotRedis(contract, endpoints, ca());
            return {
                where: { address: redisAddress(contract) },
                open: () => client.connect(),
                write: (id) => client.rpush(`${keyPrefix}${id % keys}`, String(id)),
                close: async () => client.disconnect(),
                lastError,
            };
        });
    }
}
