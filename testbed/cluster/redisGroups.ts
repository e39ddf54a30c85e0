/**
 * The stack's Redis groups as the harness runs them (`redis.groups` beside `default`, components/redis/groups.ts):
 * each group's own loopback ports, leased when a plan first names the group (a group added by a later `up` gets its
 * ports then, its pods when its StatefulSet is created), its Kubernetes names, and which group a StatefulSet or a
 * config ConfigMap belongs to. Bookkeeping only.
 */
import type { RedisConfig, RedisSection } from "../../components/config/redis";
import { redisGroupSettings, redisGroups } from "../../components/redis/groups";
import { RedisNames, kubernetesLayout, redisNames } from "../../components/redis/layout";
import { DEFAULT_INSTANCE } from "../../components/serviceModule";
import type { RedisRole } from "../redisProbe";
import { RedisPorts, redisPorts } from "../servers/redis";

export interface LocalGroup {
    readonly name: string;
    readonly names: RedisNames;
    readonly ports: RedisPorts;
}

export class RedisGroups {
    private readonly groups = new Map<string, LocalGroup>();

    /** The default group on `ports` (the only group of a stack without `redis.groups`). */
    constructor(ports: RedisPorts) {
        this.groups.set(DEFAULT_INSTANCE, { name: DEFAULT_INSTANCE, names: redisNames({}), ports });
    }

    /** Every group of `section` on ports of its own (the default group's leased first). */
    static async lease(section: RedisSection): Promise<RedisGroups> {
        const groups = new RedisGroups(await redisPorts(redisGroupSettings(section, DEFAULT_INSTANCE)));
        await groups.add(section);
        return groups;
    }

    /** Leases ports for the groups of `section` the harness does not run yet. */
    async add(section: RedisSection): Promise<void> {
        for (const name of redisGroups(section).filter((g) => !this.groups.has(g))) {
            const settings = redisGroupSettings(section, name);
            this.groups.set(name, { name, names: redisNames(settings), ports: await redisPorts(settings) });
        }
    }

    get default(): LocalGroup {
        return this.get(DEFAULT_INSTANCE);
    }

    get(name: string): LocalGroup {
        const group = this.groups.get(name);
        if (!group) {
            throw new Error(`the harness runs no Redis group ${name}`);
        }
        return group;
    }

    all(): LocalGroup[] {
        return [...this.groups.values()];
    }

    /** The group and role of a StatefulSet's pods; undefined for a StatefulSet of no group. */
    ofStatefulSet(name: string): { group: LocalGroup; role: RedisRole } | undefined {
        for (const group of this.groups.values()) {
            if (name === group.names.data || name === group.names.sentinel) {
                return { group, role: name === group.names.sentinel ? "sentinel" : "data" };
            }
        }
        return undefined;
    }

    /** The group whose `<prefix>-config` ConfigMap (the rendered files) is `name`. */
    ofConfigMap(name: string): LocalGroup | undefined {
        return this.all().find((g) => g.names.config === name);
    }

    /** The group whose server listens on loopback `port`. */
    ofPort(port: number): LocalGroup | undefined {
        return this.all().find((g) => [...g.ports.data, ...g.ports.sentinels].includes(port));
    }

    /** Cluster addresses (pod FQDNs, Service names) of every group of `section` to its loopback ports. */
    registerEndpoints(section: RedisSection, namespace: string, endpoints: Map<string, number>): void {
        for (const name of redisGroups(section)) {
            const { ports } = this.get(name);
            const layout = kubernetesLayout(redisGroupSettings(section, name), namespace);
            layout.dataNodes.forEach((e, i) => endpoints.set(`${e.host}:${e.port}`, ports.data[i]));
            layout.sentinels.forEach((e, i) => endpoints.set(`${e.host}:${e.port}`, ports.sentinels[i]));
            if (layout.standaloneService) {
                // The standalone Service selects the one data pod.
                endpoints.set(`${layout.standaloneService.host}:${layout.standaloneService.port}`, ports.data[0]);
            }
        }
    }
}

/** The group of `section` whose config ConfigMap is `name`, with its settings; undefined for any other ConfigMap. */
export function configMapGroup(section: RedisSection, name: string): RedisConfig | undefined {
    return redisGroups(section)
        .map((g) => redisGroupSettings(section, g))
        .find((settings) => redisNames(settings).config === name);
}
