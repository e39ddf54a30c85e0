/**
 * cert-manager renews the Redis certificate (rendered prod config, TLS, real servers): data nodes load it without a
 * restart; Sentinels, which cannot reload TLS, restart one at a time; clients keep writing throughout.
 */
import { strict as assert } from "assert";
import { X509Certificate } from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as tls from "tls";
import { TLS_FILES } from "../../../components/redis/files";
import { sleep, waitFor } from "../../../testbed/servers/processes";
import { LOOPBACK, LocalRedisGroup } from "../../../testbed/servers/redis";
import { waitHealthy } from "../../../testbed/servers/redisStack";
import { Writer, appClient } from "../../../testbed/servers/redisClients";
import { localGroup, withDiagnostics } from "../../support/redis";

/** SHA-256 fingerprint of the certificate a server presents now. */
function servedCertificate(port: number): Promise<string | undefined> {
    return new Promise((resolve) => {
        const socket = tls.connect({ host: LOOPBACK, port, rejectUnauthorized: false }, () => {
            resolve(socket.getPeerCertificate().fingerprint256);
            socket.destroy();
        });
        socket.setTimeout(2000, () => {
            socket.destroy();
            resolve(undefined);
        });
        socket.on("error", () => resolve(undefined));
    });
}

function fileFingerprint(file: string): string {
    return new X509Certificate(fs.readFileSync(file)).fingerprint256;
}

describe("Redis Sentinel group on real servers: certificate renewal (rendered prod config, TLS)", function () {
    this.timeout(180_000);
    let g: LocalRedisGroup;
    before(async () => {
        g = await localGroup("prod");
        assert.equal(g.options.redis.tls, true);
        g.startAll();
        await waitHealthy(g, 30_000);
    });
    after(() => g?.stop());

    it("data nodes serve the renewed certificate without restarting; Sentinels restart, never two at once", () =>
        withDiagnostics(g, async () => {
            const dataPids = g.layout.dataNodes.map((_, i) => g.pid("data", i));
            const sentinelPids = g.layout.sentinels.map((_, i) => g.pid("sentinel", i));
            const writer = new Writer(g, "orders", "orders:renewal");
            await waitFor("acknowledged writes", 10_000, async () =>
                writer.acknowledged.length >= 10 ? true : undefined,
            );
            g.renewCertificates();
            const renewed = fileFingerprint(path.join(g.layout.dirs.tls, TLS_FILES.cert));
            let mostDown = 0;
            let watching = true;
            const watch = (async () => {
                // A restarted Sentinel is down until it accepts TLS connections again.
                while (watching) {
                    const served = await Promise.all(g.layout.sentinels.map((s) => servedCertificate(s.port)));
                    mostDown = Math.max(mostDown, served.filter((s) => s === undefined).length);
                    await sleep(20);
                }
            })();
            try {
                await waitFor("every data node serving the renewed certificate", 20_000, async () => {
                    const served = await Promise.all(g.layout.dataNodes.map((n) => servedCertificate(n.port)));
                    return served.every((s) => s === renewed) ? true : undefined;
                });
                await waitFor("every Sentinel restarted", 150_000, async () =>
                    g.layout.sentinels.every((_, i) => {
                        const pid = g.pid("sentinel", i);
                        return pid !== undefined && pid !== sentinelPids[i];
                    })
                        ? true
                        : undefined,
                );
            } finally {
                watching = false;
                await watch;
            }
            assert.ok(mostDown <= 1, "two Sentinels were down at once");
            assert.deepEqual(
                g.layout.dataNodes.map((_, i) => g.pid("data", i)),
                dataPids,
                "a data node restarted",
            );
            await waitFor("every Sentinel serving the renewed certificate", 20_000, async () => {
                const served = await Promise.all(g.layout.sentinels.map((s) => servedCertificate(s.port)));
                return served.every((s) => s === renewed) ? true : undefined;
            });
            const master = await waitHealthy(g, 30_000);
            await writer.stop();
            const reader = appClient(g, "orders", master);
            await reader.connect();
            const values = await reader.mget(writer.acknowledged);
            reader.disconnect();
            assert.equal(values.filter((v) => v === null).length, 0, "acknowledged writes lost");
        }));
});
