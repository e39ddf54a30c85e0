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
import { redisGroupOf } from "../../components/redis/groups";
import { DEFAULT_INSTANCE } from "../../components/instanceNames";
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
    /** Per application on a TLS group: the CA (made for this run) its clients must trust; cert-manager's role. */
    readonly tlsCaFiles: Readonly<Record<string, string>>;
    stop(): Promise<void>;
}

/**
 * Starts every Redis group of the stack on loopback (the section's own and each of `redis.groups`, each with the
 * applications placed on it) and waits until each serves writes (a master, and every replica linked).
 */
export async function startRedis(input: StartRedisInput): Promise<StartedRedis> {
    const components = input.run.resources.filter((r) => r.type === REDIS_COMPONENT_TYPE);
    if (components.length === 0) {
        throw new Error(`the stack has no ${REDIS_COMPONENT_TYPE}`);
    }
    const groups: LocalRedisGroup[] = [];
    const stop = () => Promise.all(groups.map((g) => g.stop())).then(() => undefined);
    try {
        for (const [i, component] of components.entries()) {
            const redis = component.inputs.config as RedisConfig;
            const apps = input.apps.filter((app) => redisGroupOf(app) === (redis.group ?? DEFAULT_INSTANCE));
            const group = new LocalRedisGroup({
                redis,
                apps,
                // Each group its own range of ports.
                ports: await redisPorts(redis, input.basePort === undefined ? undefined : input.basePort + 1000 * i),
                passwords: passwordsFromCredentials(redis, apps, input.passwords),
            });
            groups.push(group);
            group.startAll();
        }
        for (const group of groups) {
            await waitHealthy(group, 30_000);
        }
    } catch (e) {
        await stop();
        throw e;
    }
    return {
        processes: groups.flatMap((g) => g.processes().map(({ role, port, pid }) => ({ role, port, pid }))),
        env: Object.assign({}, ...groups.map((g) => g.env())),
        tlsCaFiles: Object.fromEntries(
            groups.flatMap((g) =>
                g.options.redis.tls
                    ? g.options.apps.map((app) => [app.name, path.join(g.layout.dirs.tls, TLS_FILES.ca)])
                    : [],
            ),
        ),
        stop,
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
