import * as assert from "assert";
import { KeyReader, missingKeys } from "../../../testbed/servers/redisClients";

/** ioredis' rejection when a connection closes before it is ready or while a command waits (redis/ioredis#1989). */
const CLOSED = "Connection is closed.";

/** A reader of `stored` whose first `failures` steps (a connect or a read) fail as a closed connection does. */
function flakyReader(stored: ReadonlyMap<string, string>, failures: number) {
    const opened: { disconnected: boolean }[] = [];
    let steps = 0;
    const step = async () => {
        if (steps++ < failures) {
            throw new Error(CLOSED);
        }
    };
    const reader = (): KeyReader => {
        const state = { disconnected: false };
        opened.push(state);
        return {
            connect: step,
            mget: async (...keys: string[]) => {
                await step();
                return keys.map((k) => stored.get(k) ?? null);
            },
            disconnect: () => {
                state.disconnected = true;
            },
        };
    };
    return { reader, opened };
}

describe("npm run bench:failover", () => {
    // On a loaded machine the read-back after a failover met a closed connection (its TLS handshake outlasted
    // connectTimeout) and the bench died on it in 2 of 3 runs: a failed read says nothing about the data.
    it("counts the acknowledged keys the master lost, retrying a read that meets a closed connection", async () => {
        const stored = new Map([
            ["orders:1", "1"],
            ["orders:3", "3"],
        ]);
        for (const failures of [1, 2, 3]) {
            const { reader, opened } = flakyReader(stored, failures);
            let asked = 0;
            const master = async () => (asked++, 0);
            const lost = await missingKeys(master, reader, ["orders:1", "orders:2", "orders:3"]);
            assert.strictEqual(lost, 1, `${failures} failures`);
            assert.ok(asked > 1, "the master is asked again after a failed read: it may have changed");
            assert.ok(
                opened.every((c) => c.disconnected),
                "every connection opened is closed",
            );
        }
    });

    it("fails loudly, with the last error, when no read succeeds in time", async () => {
        const { reader } = flakyReader(new Map(), Infinity);
        await assert.rejects(
            missingKeys(async () => 0, reader, ["orders:1"], 500),
            /timed out after 500 ms waiting for a read of the acknowledged keys.*Connection is closed\./,
        );
    });
});
