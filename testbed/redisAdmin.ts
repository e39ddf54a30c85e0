/**
 * The harness's own access to one simulated Redis group, as an observer: the admin user with any admin password
 * `redis-auth` ever handed out (a server may not have applied the newest yet), and the shared probe's view of it.
 */
import * as fs from "fs";
import { USERS } from "../components/redis/acl";
import { AUTH_FILES } from "../components/redis/files";
import type { RedisConfig } from "../components/config/redis";
import { redisGroupSettings } from "../components/redis/groups";
import { LOOPBACK } from "./servers/processes";
import type { LocalGroup } from "./cluster/redisGroups";
import type { ClusterState } from "./cluster/state";
import { secretKey } from "./plan";
import { RedisGroupAccess, RedisRole } from "./redisProbe";

export class RedisAdmin {
    /** Every admin password a check saw in `redis-auth`, oldest first. */
    private readonly seen: string[] = [];

    constructor(
        private readonly state: ClusterState,
        private readonly group: LocalGroup,
        private readonly caFile: string,
    ) {}

    private get ports() {
        return this.group.ports;
    }

    /** The group's settings in the plan applied last. */
    private get settings(): RedisConfig {
        return redisGroupSettings(this.state.plan.config.redis, this.group.name);
    }

    /** Keeps an admin password handed out, so the harness can still observe servers that kept it. */
    remember(password: string): void {
        if (!this.seen.includes(password)) {
            this.seen.push(password);
        }
    }

    /** One command on the server at `port`; undefined when it does not answer or refuses every password. */
    command(port: number, ...args: string[]): Promise<unknown> {
        return this.commandIn(port, 0, ...args);
    }

    /** One command in database `db` of the server at `port` (see `command`). */
    async commandIn(port: number, db: number, ...args: string[]): Promise<unknown> {
        const passwords = [
            this.state.secrets.get(secretKey(this.state.namespace, this.group.names.auth))?.[AUTH_FILES.admin],
            ...this.seen,
        ];
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const Redis = (require("ioredis") as typeof import("ioredis")).default;
        for (const password of new Set(passwords.filter((p): p is string => p !== undefined))) {
            const client = new Redis({
                host: LOOPBACK,
                port,
                username: USERS.admin,
                password,
                db,
                tls: this.settings.tls ? { ca: fs.readFileSync(this.caFile) } : undefined,
                lazyConnect: true,
                maxRetriesPerRequest: 0,
                retryStrategy: () => null,
                enableOfflineQueue: false,
                connectTimeout: 2000,
            });
            client.on("error", () => undefined);
            try {
                await client.connect();
                return await client.call(args[0], ...args.slice(1));
            } catch (err) {
                if (!/WRONGPASS|NOAUTH/.test(String(err))) {
                    return undefined;
                }
            } finally {
                client.disconnect();
            }
        }
        return undefined;
    }

    /** The data node ordinal every running Sentinel names as master (undefined unless they agree). */
    async master(): Promise<number | undefined> {
        const redis = this.settings;
        if (redis.mode !== "sentinel") {
            return 0;
        }
        const views = await Promise.all(
            this.ports.sentinels.map((p) => this.command(p, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", redis.masterName)),
        );
        const named = new Set(views.map((v) => (Array.isArray(v) ? Number(v[1]) : -1)));
        if (named.size !== 1) {
            return undefined;
        }
        const ordinal = this.ports.data.indexOf([...named][0]);
        return ordinal >= 0 ? ordinal : undefined;
    }

    /** The group as the shared probe sees it: pods are Ready when their readiness probes pass. */
    probeAccess(): RedisGroupAccess {
        const { names } = this.group;
        const podsOf = (role: RedisRole) => this.state.pods.get(role === "data" ? names.data : names.sentinel) ?? [];
        const portOf = (role: RedisRole, ordinal: number) =>
            (role === "data" ? this.ports.data : this.ports.sentinels)[ordinal];
        return {
            dataNodes: this.ports.data.length,
            sentinels: this.ports.sentinels.length,
            masterName: this.settings.masterName,
            command: (role, ordinal, ...args) => this.command(portOf(role, ordinal), ...args),
            ordinalOf: (_host, port) => this.ports.data.indexOf(port),
            ready: async (role, ordinal) => {
                const pod = podsOf(role)[ordinal];
                return pod !== undefined && (await pod.probe("readinessProbe")).length === 0;
            },
        };
    }
}
