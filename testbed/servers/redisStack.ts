/**
 * A stack's Redis group on loopback as the sandbox and the benches start it: passwords from the stack's credentials,
 * the group started and waited for until healthy (testbed/redisProbe.ts), each application's contract.
 */
import * as path from "path";
import type { RunResult } from "../../offline/mockEngine";
import type { AppConfig } from "../../components/config/platform";
import type { RedisConfig } from "../../components/config/redis";
import type { RedisPasswords } from "../../components/redis/acl";
import { aclCredentialIds } from "../../components/redis/credentials";
import { FILES, TLS_FILES } from "../../components/redis/files";
import { REDIS_COMPONENT_TYPE } from "../../components/redis/layout";
import { waitHealthy as waitHealthyGroup } from "../redisProbe";
import { waitFor } from "./processes";
import { LocalRedisGroup, Role, redisPorts } from "./redis";

/** Passwords by credential id (as the mock run or Key Vault holds them) to the ACL renderer's shape. */
export function passwordsFromCredentials(
    redis: RedisConfig,
    apps: readonly AppConfig[],
    byId: Readonly<Record<string, string>>,
): RedisPasswords {
    const get = (id: string): string => {
        const value = byId[id];
        if (value === undefined) {
            throw new Error(`no password for credential ${id}`);
        }
        return value;
    };
    const ids = aclCredentialIds({ redis, apps });
    const values = (map: Readonly<Record<string, string>>) =>
        Object.fromEntries(Object.entries(map).map(([key, id]) => [key, get(id)]));
    return {
        ...values(ids.roles),
        admin: get(ids.roles.admin),
        monitor: get(ids.roles.monitor),
        apps: values(ids.apps),
    };
}

/** What the sandbox hands over: the stack's mock run, its applications and the generated passwords. */
export interface StartRedisInput {
    readonly run: RunResult;
    readonly apps: readonly AppConfig[];
    /** Plaintext passwords by credential id. */
    readonly passwords: Readonly<Record<string, string>>;
    /** Data node i on basePort + i, Sentinel i on basePort + 100 + i; default: leased free ports (`freePorts`). */
    readonly basePort?: number;
}

export interface StartedRedis {
    readonly processes: { role: Role; port: number; pid: number }[];
    /** Each application's Redis contract, pointing at loopback. */
    readonly env: Record<string, Record<string, string>>;
    /** With TLS: the CA (made for this run) clients must trust; cert-manager's role in the cluster. */
    readonly tlsCaFile?: string;
    stop(): Promise<void>;
}

/** Starts the stack's Redis on loopback and waits until it serves writes (a master, and every replica linked). */
export async function startRedis(input: StartRedisInput): Promise<StartedRedis> {
    const component = input.run.resources.find((r) => r.type === REDIS_COMPONENT_TYPE);
    if (!component) {
        throw new Error(`the stack has no ${REDIS_COMPONENT_TYPE}`);
    }
    const redis = component.inputs.config as RedisConfig;
    const group = new LocalRedisGroup({
        redis,
        apps: input.apps,
        ports: await redisPorts(redis, input.basePort),
        passwords: passwordsFromCredentials(redis, input.apps, input.passwords),
    });
    try {
        group.startAll();
        await waitHealthy(group, 30_000);
    } catch (e) {
        await group.stop();
        throw e;
    }
    return {
        processes: group.processes().map(({ role, port, pid }) => ({ role, port, pid })),
        env: group.env(),
        tlsCaFile: redis.tls ? path.join(group.layout.dirs.tls, TLS_FILES.ca) : undefined,
        stop: () => group.stop(),
    };
}

/**
 * Waits until the group is healthy (testbed/redisProbe.ts says what that means) and, when it runs one, its master endpoint
 * reaches a master; @returns the master's ordinal.
 */
export async function waitHealthy(group: LocalRedisGroup, timeoutMs: number): Promise<number> {
    const started = Date.now();
    const master = await waitHealthyGroup(
        {
            dataNodes: group.layout.dataNodes.length,
            sentinels: group.layout.sentinels.length,
            masterName: group.options.redis.masterName,
            command: (role, ordinal, ...args) => group.command(role, ordinal, ...args),
            ordinalOf: (host, port) => group.ordinalOf(`${host}:${port}`),
            ready: async (role, ordinal) =>
                (await group.runScript(role, ordinal, role === "data" ? FILES.readyRedis : FILES.readySentinel))
                    .code === 0,
        },
        timeoutMs,
    );
    if (group.endpointPid() !== undefined) {
        await waitFor("the master endpoint to reach the master", timeoutMs - (Date.now() - started), async () =>
            (await group.endpointReady()) ? true : undefined,
        );
    }
    return master;
}
