/**
 * Client buffers on real servers, from the rendered config: Redis counts every client's query and output buffers
 * against maxmemory, so with the defaults (`client-query-buffer-limit 1gb`, `proto-max-bulk-len 512mb`,
 * `maxmemory-clients 0`) one tenant announcing large arguments makes every other tenant's writes fail OOM; and one
 * connection streaming a large argument to a Sentinel (every application holds the Sentinel password) grows it past
 * its container's limit. Loopback only, a 64mb maxmemory and arguments sized to it, each attack bounded in time.
 */
import { strict as assert } from "assert";
import * as net from "net";
import { waitFor } from "../../../testbed/servers/processes";
import { LOOPBACK, LocalRedisGroup } from "../../../testbed/servers/redis";
import { waitHealthy } from "../../../testbed/servers/redisStack";
import { parseStack } from "../../support/config";
import { localGroup } from "../../support/redis";
import { rawCommands } from "../../support/redisCommands";

const MIB = 1024 * 1024;
const dev = parseStack("dev");
const [orders, billing] = ["orders", "billing"].map((name) => dev.apps.find((a) => a.name === name)!);

interface Attack {
    /** Connections still open when the attack ended (the server closed the others). */
    readonly open: number;
}

/**
 * `connections` sockets log in (`auth`), announce an argument of `announcedMiB` and stream `sentMiB` of it, never
 * finishing it; they are closed when `during` has run.
 */
async function largeArguments<T>(
    port: number,
    auth: readonly string[],
    connections: number,
    announcedMiB: number,
    sentMiB: number,
    during: (attack: Attack) => Promise<T>,
): Promise<T> {
    const sockets = await Promise.all(
        Array.from(
            { length: connections },
            (_, i) =>
                new Promise<net.Socket>((resolve, reject) => {
                    const socket = net.connect(port, LOOPBACK, () => resolve(socket));
                    socket.on("error", (e) => (socket.connecting ? reject(e) : undefined));
                    socket.on("data", () => undefined);
                    const head = [
                        `*${auth.length}\r\n`,
                        ...auth.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`),
                        `*3\r\n$3\r\nSET\r\n$${`x:${i}`.length}\r\nx:${i}\r\n$${announcedMiB * MIB}\r\n`,
                    ].join("");
                    socket.write(head);
                }),
        ),
    );
    const chunk = Buffer.alloc(MIB, "a");
    try {
        // Each writes what the server reads, a MiB at a time, until it has sent `sentMiB` or was closed.
        await Promise.all(
            sockets.map(async (socket) => {
                for (let sent = 0; sent < sentMiB && !socket.destroyed && socket.writable; sent++) {
                    if (!socket.write(chunk)) {
                        await new Promise<void>((resolve) => {
                            const timer = setTimeout(resolve, 2000);
                            socket.once("drain", () => (clearTimeout(timer), resolve()));
                            socket.once("close", () => (clearTimeout(timer), resolve()));
                        });
                    }
                }
            }),
        );
        // Let the server read what is in flight and act on it (client eviction runs before it sleeps).
        await new Promise((resolve) => setTimeout(resolve, 500));
        return await during({ open: sockets.filter((s) => !s.destroyed && s.readyState === "open").length });
    } finally {
        sockets.forEach((s) => s.destroy());
    }
}

describe("client buffers on real servers are bounded (rendered config)", function () {
    this.timeout(120_000);

    describe("a data node with maxmemory 64mb", () => {
        let g: LocalRedisGroup;
        before(async () => {
            g = await localGroup("dev", { maxmemory: "64mb", maxmemoryPolicy: "noeviction" });
            g.startAll();
            await waitFor("the standalone master", 10_000, async () =>
                (await g.masters()).length === 1 ? true : undefined,
            );
        });
        after(() => g?.stop());

        const login = (app: typeof orders) => ["AUTH", app.name, g.options.passwords.apps[app.name]];
        /** billing's write in its own database, while orders attacks. */
        const billingWrites = async () =>
            (
                await rawCommands(LOOPBACK, g.port("data", 0), [
                    login(billing),
                    ["SELECT", String(billing.redisDb)],
                    ["SET", `${billing.name}:k`, "v"],
                ])
            )[2];

        it("two connections announcing arguments larger than maxmemory leave other tenants' writes working", async () => {
            const reply = await largeArguments(g.port("data", 0), login(orders), 2, 60, 40, billingWrites);
            assert.equal(reply, "OK");
        });

        it("many connections each streaming an argument the server accepts leave other tenants' writes working", async () => {
            // 40 x 2 MiB: 80 MiB of query buffers, more than maxmemory; 3 MiB arguments are accepted (proto-max-bulk-len).
            const { reply, open } = await largeArguments(g.port("data", 0), login(orders), 40, 3, 2, async (a) => ({
                reply: await billingWrites(),
                open: a.open,
            }));
            assert.equal(reply, "OK");
            // Evicted (maxmemory-clients), not refused: most of them.
            assert.ok(open < 20, `${open} of 40 still open`);
        });

        it("no single command allocates more than a bounded argument (SETBIT's offset is capped too)", async () => {
            const replies = await rawCommands(LOOPBACK, g.port("data", 0), [
                login(orders),
                ["SELECT", String(orders.redisDb)],
                ["SETBIT", `${orders.name}:bits`, String(80 * MIB * 8), "1"],
            ]);
            assert.match(replies[2], /^-ERR bit offset is not an integer or out of range/);
        });
    });

    describe("a Sentinel", () => {
        let g: LocalRedisGroup;
        before(async () => {
            g = await localGroup("prod", { tls: false });
            g.startAll();
            await waitHealthy(g, 30_000);
        });
        after(() => g?.stop());

        it("closes a client (with the password every application holds) streaming an argument over 1mb", async () => {
            const open = await largeArguments(
                g.port("sentinel", 0),
                ["AUTH", g.options.passwords.sentinelClient!],
                1,
                300,
                8,
                async (attack) => attack.open,
            );
            assert.equal(open, 0);
            assert.equal(await g.command("sentinel", 0, "PING"), "PONG");
        });
    });
});
