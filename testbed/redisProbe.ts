/**
 * The one definition of "a healthy Redis group", shared by the sandbox (`testbed/servers/redis.ts`), the lifecycle
 * harness and the benches: each reaches its servers its own way (the `RedisGroupAccess` it passes), the rules are
 * here.
 */
import { waitFor } from "./servers/processes";

export type RedisRole = "data" | "sentinel";

/** How a probe reaches one group's servers. */
export interface RedisGroupAccess {
    readonly dataNodes: number;
    readonly sentinels: number;
    readonly masterName: string;
    /** One command as the admin user; undefined when the server does not answer or refuses it. */
    command(role: RedisRole, ordinal: number, ...args: string[]): Promise<unknown>;
    /** The data node ordinal serving at an address a Sentinel names; -1 when none does. */
    ordinalOf(host: string, port: number): number;
    /** Whether the node passes its pod's readiness probe (`ready-redis.sh`, `ready-sentinel.sh`). */
    ready(role: RedisRole, ordinal: number): Promise<boolean>;
}

/**
 * The master's ordinal when the group is healthy: exactly one data node says it is master, every Sentinel names it
 * and knows every replica and every peer (else a failover could strand a replica or lack votes), every node is
 * Ready, and the master takes writes. Undefined otherwise.
 */
export async function healthyMaster(group: RedisGroupAccess): Promise<number | undefined> {
    const roles = await Promise.all(range(group.dataNodes).map((i) => group.command("data", i, "ROLE")));
    const masters = range(group.dataNodes).filter((i) => Array.isArray(roles[i]) && roles[i][0] === "master");
    if (masters.length !== 1) {
        return undefined;
    }
    const master = masters[0];
    for (const i of range(group.sentinels)) {
        const named = await group.command("sentinel", i, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", group.masterName);
        if (!Array.isArray(named) || group.ordinalOf(String(named[0]), Number(named[1])) !== master) {
            return undefined;
        }
        const state = await group.command("sentinel", i, "SENTINEL", "MASTER", group.masterName);
        const fields = Array.isArray(state) ? state.map(String) : [];
        const field = (name: string) => Number(fields[fields.indexOf(name) + 1]);
        if (field("num-slaves") !== group.dataNodes - 1 || field("num-other-sentinels") !== group.sentinels - 1) {
            return undefined;
        }
    }
    const nodes: [RedisRole, number][] = [
        ...range(group.dataNodes).map((i): [RedisRole, number] => ["data", i]),
        ...range(group.sentinels).map((i): [RedisRole, number] => ["sentinel", i]),
    ];
    const ready = await Promise.all(nodes.map(([role, i]) => group.ready(role, i)));
    if (!ready.every(Boolean)) {
        return undefined;
    }
    return (await takesWrites(group, master)) ? master : undefined;
}

/** Waits until `healthyMaster` names a master; @returns its ordinal. */
export function waitHealthy(group: RedisGroupAccess, timeoutMs: number): Promise<number> {
    return waitFor("a healthy Redis group", timeoutMs, () => healthyMaster(group), 300);
}

/**
 * Whether the master counts the replicas `min-replicas-to-write` asks for. After a diskless sync the master puts a
 * replica online at its first REPLCONF ACK (replication.c, `repl_put_online_on_ack`), a moment after the replica
 * reports its link up: a write in between gets NOREPLICAS (commit 2e98890).
 */
async function takesWrites(group: RedisGroupAccess, master: number): Promise<boolean> {
    const setting = await group.command("data", master, "CONFIG", "GET", "min-replicas-to-write");
    const needed = Array.isArray(setting) ? Number(setting[1]) : NaN;
    // INFO has the count only while the setting is on.
    const info = String((await group.command("data", master, "INFO", "replication")) ?? "");
    const good = Number(/^min_slaves_good_slaves:(\d+)/m.exec(info)?.[1] ?? 0);
    return needed === 0 || good >= needed;
}

function range(n: number): number[] {
    return Array.from({ length: n }, (_, i) => i);
}
