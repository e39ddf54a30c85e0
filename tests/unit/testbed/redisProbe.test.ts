/** The one definition of a healthy Redis group (testbed/redisProbe.ts), on a scripted group: no servers. */
import { strict as assert } from "assert";
import { RedisGroupAccess, RedisRole, healthyMaster, waitHealthy } from "../../../testbed/redisProbe";

/** A group of three data nodes and three Sentinels, healthy under redis-0 unless `edit` breaks it. */
function group(edit: Partial<FakeGroup> = {}): RedisGroupAccess {
    const g: FakeGroup = {
        roles: ["master", "slave", "slave"],
        named: [0, 0, 0],
        knownReplicas: [2, 2, 2],
        knownPeers: [2, 2, 2],
        notReady: [],
        minReplicasToWrite: 1,
        goodReplicas: 2,
        ...edit,
    };
    const port = (ordinal: number) => 7000 + ordinal;
    return {
        dataNodes: g.roles.length,
        sentinels: g.named.length,
        masterName: "mymaster",
        ordinalOf: (host, p) => (host === "127.0.0.1" ? g.roles.findIndex((_, i) => port(i) === p) : -1),
        ready: async (role: RedisRole, ordinal: number) => !g.notReady.includes(`${role}-${ordinal}`),
        command: async (role, ordinal, ...args) => {
            const line = args.join(" ");
            if (role === "data" && line === "ROLE") {
                return [g.roles[ordinal]];
            }
            if (role === "data" && line === "CONFIG GET min-replicas-to-write") {
                return ["min-replicas-to-write", String(g.minReplicasToWrite)];
            }
            if (role === "data" && line === "INFO replication") {
                const count = g.minReplicasToWrite > 0 ? `min_slaves_good_slaves:${g.goodReplicas}\r\n` : "";
                return `# Replication\r\nrole:master\r\n${count}`;
            }
            if (role === "sentinel" && line === "SENTINEL GET-MASTER-ADDR-BY-NAME mymaster") {
                return g.named[ordinal] === undefined ? undefined : ["127.0.0.1", String(port(g.named[ordinal]!))];
            }
            if (role === "sentinel" && line === "SENTINEL MASTER mymaster") {
                return [
                    "name",
                    "mymaster",
                    "num-slaves",
                    String(g.knownReplicas[ordinal]),
                    "num-other-sentinels",
                    String(g.knownPeers[ordinal]),
                ];
            }
            throw new Error(`unexpected ${role}-${ordinal} ${line}`);
        },
    };
}

interface FakeGroup {
    roles: string[];
    /** The data node each Sentinel names (undefined: it does not answer). */
    named: (number | undefined)[];
    knownReplicas: number[];
    knownPeers: number[];
    notReady: string[];
    minReplicasToWrite: number;
    goodReplicas: number;
}

describe("testbed Redis probe: one definition of a healthy group (sandbox, harness, benches)", () => {
    it("names the master of a healthy group", async () => {
        assert.equal(await healthyMaster(group()), 0);
        assert.equal(await healthyMaster(group({ roles: ["slave", "slave", "master"], named: [2, 2, 2] })), 2);
    });

    it("is not healthy while two data nodes say they are master, or none does", async () => {
        assert.equal(await healthyMaster(group({ roles: ["master", "master", "slave"] })), undefined);
        assert.equal(await healthyMaster(group({ roles: ["slave", "slave", "slave"] })), undefined);
    });

    it("is not healthy while one Sentinel names another master or does not answer", async () => {
        assert.equal(await healthyMaster(group({ named: [0, 1, 0] })), undefined);
        assert.equal(await healthyMaster(group({ named: [0, 0, undefined] })), undefined);
    });

    it("is not healthy while a Sentinel misses a replica or a peer (a failover could strand one or lack votes)", async () => {
        assert.equal(await healthyMaster(group({ knownReplicas: [2, 1, 2] })), undefined);
        assert.equal(await healthyMaster(group({ knownPeers: [2, 2, 1] })), undefined);
    });

    it("is not healthy while a data node or a Sentinel fails its readiness probe", async () => {
        assert.equal(await healthyMaster(group({ notReady: ["data-1"] })), undefined);
        assert.equal(await healthyMaster(group({ notReady: ["sentinel-2"] })), undefined);
    });

    it("is not healthy until the master counts the replicas min-replicas-to-write asks for (NOREPLICAS, commit 2e98890)", async () => {
        assert.equal(await healthyMaster(group({ minReplicasToWrite: 3, goodReplicas: 2 })), undefined);
        assert.equal(await healthyMaster(group({ minReplicasToWrite: 1, goodReplicas: 0 })), undefined);
        assert.equal(await healthyMaster(group({ minReplicasToWrite: 0, goodReplicas: 0 })), 0);
    });

    it("counts a standalone node (no Sentinel, no replica) healthy when it is master", async () => {
        const standalone = { roles: ["master"], named: [], goodReplicas: 0 };
        assert.equal(await healthyMaster(group({ ...standalone, minReplicasToWrite: 0 })), 0);
        assert.equal(await healthyMaster(group({ ...standalone, minReplicasToWrite: 1 })), undefined);
    });

    it("waits for a healthy group and says so when it times out", async () => {
        assert.equal(await waitHealthy(group(), 1000), 0);
        await assert.rejects(
            waitHealthy(group({ minReplicasToWrite: 3 }), 50),
            /timed out after 50 ms waiting for a healthy Redis group/,
        );
    });
});
