/**
 * A reload sidecar that restarts at the wrong moment (rendered prod config, real servers): `redis-auth` changed to a
 * new replication and Sentinel password, and the sidecar crashed before it looked. The server keeps running with what
 * it was given before (masterauth; a Sentinel's auth-pass and sentinel-pass), so the restarted sidecar must take the
 * server's values from the server, never from the file it finds at start: that file is the new one.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import type { RedisPasswords } from "../../../components/redis/acl";
import { waitFor } from "../../../testbed/servers/processes";
import { LocalRedisGroup, redisPorts } from "../../../testbed/servers/redis";
import { waitHealthy } from "../../../testbed/servers/redisStack";
import { parseStack } from "../../support/config";
import { testPasswords, withDiagnostics } from "../../support/redis";

const prod = parseStack("prod", {});

/** The second line of a two-element reply (`CONFIG GET`, `SENTINEL CONFIG GET`): the value. */
function value(reply: unknown): unknown {
    return Array.isArray(reply) ? reply[1] : reply;
}

/** What a Sentinel wrote for `sentinel auth-pass <master>` into its state file (it rewrites it on every SENTINEL SET). */
function persistedAuthPass(g: LocalRedisGroup, ordinal: number): string | undefined {
    const state = path.join(g.dirsFor(`redis-sentinel-${ordinal}`).sentinelData, "sentinel.conf");
    const prefix = `sentinel auth-pass ${prod.redis.masterName} `;
    const line = fs
        .readFileSync(state, "utf8")
        .split("\n")
        .find((l) => l.startsWith(prefix));
    const written = line?.slice(prefix.length);
    // The start script writes it quoted; the Sentinel's own rewrite, raw.
    return written?.startsWith('"') ? written.slice(1, -1).replace(/\\(.)/g, "$1") : written;
}

describe("Redis Sentinel group on real servers: a reload sidecar restarted after redis-auth changed", function () {
    this.timeout(120_000);
    let g: LocalRedisGroup;
    let old: RedisPasswords;
    before(async () => {
        old = testPasswords(prod);
        g = new LocalRedisGroup({
            redis: { ...prod.redis, tls: false },
            apps: prod.apps,
            passwords: old,
            ports: await redisPorts(prod.redis),
        });
        g.startAll();
        await waitHealthy(g, 30_000);
    });
    after(() => g?.stop());

    it("sets the new masterauth, auth-pass and sentinel-pass the server does not run with yet", () =>
        withDiagnostics(g, async () => {
            const [master] = await g.masters();
            const replica = g.layout.dataNodes.findIndex((_, i) => i !== master);
            const rotated: RedisPasswords = {
                ...old,
                replication: `${old.replication}-rotated`,
                sentinel: `${old.sentinel}-rotated`,
                previous: { replication: old.replication, sentinel: old.sentinel },
            };
            // Every server took the new users; the two sidecars stop before `redis-auth` changes, then crash.
            await g.reconfigure({ passwords: rotated }, () => {
                g.signalSidecar("data", replica, "SIGSTOP");
                g.signalSidecar("sentinel", 1, "SIGSTOP");
            });
            await g.restartSidecar("data", replica);
            await g.restartSidecar("sentinel", 1);
            assert.equal(
                value(await g.command("data", replica, "CONFIG", "GET", "masterauth")),
                old.replication,
                "the server still runs with the replication password it started with",
            );
            await waitFor(`redis-${replica}'s masterauth is the new password`, 20_000, async () =>
                value(await g.command("data", replica, "CONFIG", "GET", "masterauth")) === rotated.replication
                    ? true
                    : undefined,
            ).catch((e: Error) => {
                throw new Error(`${e.message}\n${g.watcherLog("data", replica)}`);
            });
            await waitFor("redis-sentinel-1's auth-pass and sentinel-pass are the new password", 20_000, async () => {
                const pass = value(await g.command("sentinel", 1, "SENTINEL", "CONFIG", "GET", "sentinel-pass"));
                return pass === rotated.sentinel && persistedAuthPass(g, 1) === rotated.sentinel ? true : undefined;
            }).catch((e: Error) => {
                throw new Error(
                    `${e.message} (auth-pass: ${persistedAuthPass(g, 1) === old.sentinel ? "the old one" : "other"})\n${g.watcherLog("sentinel", 1)}`,
                );
            });
        }));
});
