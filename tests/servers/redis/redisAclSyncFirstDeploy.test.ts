/**
 * The ACL sync Job's script (`await-acl.sh`) as the first deploy runs it: before any Redis pod exists, so no pod name
 * resolves. The image is Alpine, whose musl resolver words the failure "Name does not resolve" (musl
 * `src/network/gai_strerror.c`, EAI_NONAME) where Debian's glibc says "Name or service not known"; redis-cli prints that
 * text after "Could not connect to Redis at host:port:" (hiredis `net.c`). The Job must decide without reading it.
 */
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { aclMarker } from "../../../components/redis/acl";
import { FILES, renderFiles } from "../../../components/redis/files";
import { RedisLayout, kubernetesLayout } from "../../../components/redis/layout";
import { LOOPBACK, freePorts, runShellScript } from "../../../testbed/servers/processes";
import { requireRedisBinaries } from "../../../testbed/servers/redis";
import { parseStack } from "../../support/config";
import { testPasswords } from "../../support/redis";
import { processTempDir } from "../../support/tempDir";

const GLIBC_NONAME = "Name or service not known";
const MUSL_NONAME = "Name does not resolve";

describe("the ACL sync Job before any Redis pod exists (first deploy)", function () {
    this.timeout(60_000);
    const prod = parseStack("prod");
    const marker = aclMarker(prod.redis.mode, prod.apps, testPasswords(prod));
    const root = processTempDir("acl-sync-first-deploy-");
    let redisCli: string;

    before(() => {
        requireRedisBinaries();
        redisCli = execFileSync("sh", ["-c", "command -v redis-cli"], { encoding: "utf8" }).trim();
    });

    /** The Job's two files as the ConfigMap holds them for `layout`, in a directory of their own. */
    function jobFiles(name: string, layout: RedisLayout): string {
        const dir = path.join(root, name);
        fs.mkdirSync(dir, { recursive: true });
        const files = renderFiles(prod.redis, layout);
        for (const file of [FILES.lib, FILES.awaitAcl]) {
            fs.writeFileSync(path.join(dir, file), files[file]);
        }
        return path.join(dir, FILES.awaitAcl);
    }

    /** A `redis-cli` that is the real one, its resolver's words those of musl (what the Alpine image prints). */
    function muslWordedRedisCli(): string {
        const bin = path.join(root, "musl-bin");
        fs.mkdirSync(bin, { recursive: true });
        fs.writeFileSync(
            path.join(bin, "redis-cli"),
            [
                "#!/bin/sh",
                `out=$("${redisCli}" "$@" 2>&1)`,
                "code=$?",
                `printf '%s\\n' "$out" | sed 's/${GLIBC_NONAME}/${MUSL_NONAME}/'`,
                'exit "$code"',
                "",
            ].join("\n"),
            { mode: 0o755 },
        );
        return bin;
    }

    const cluster = kubernetesLayout(prod.redis, prod.cluster.platformNamespace);

    it("the pods' names do not resolve here, and redis-cli words that as this machine's libc does", () => {
        const host = cluster.dataNodes[0].host;
        let out = "";
        try {
            execFileSync(redisCli, ["-h", host, "-p", String(cluster.dataNodes[0].port), "PING"], {
                encoding: "utf8",
                stdio: "pipe",
            });
        } catch (err) {
            out = String((err as { stdout?: string }).stdout ?? "") + String((err as { stderr?: string }).stderr);
        }
        assert.match(
            out,
            new RegExp(`Could not connect to Redis at ${host.replace(/\./g, "\\.")}:\\d+: ${GLIBC_NONAME}`),
        );
    });

    for (const libc of ["glibc", "musl"] as const) {
        it(`completes without waiting when no pod exists yet (${libc} resolver)`, async () => {
            const result = await runShellScript(jobFiles(`first-${libc}`, cluster), {
                ACL_MARKER: marker,
                WAIT_SECONDS: "20",
                ...(libc === "musl" ? { PATH: `${muslWordedRedisCli()}:${process.env.PATH}` } : {}),
            });
            assert.equal(result.code, 0, result.output);
            assert.match(result.output, /every server applied/);
        });
    }

    it("keeps waiting for a server whose name resolves but that does not answer yet, then fails naming it", async () => {
        const ports = await freePorts(1);
        const down: RedisLayout = { ...cluster, dataNodes: [{ host: LOOPBACK, port: ports[0] }], sentinels: [] };
        const result = await runShellScript(jobFiles("down", down), {
            ACL_MARKER: marker,
            WAIT_SECONDS: "2",
            PATH: `${muslWordedRedisCli()}:${process.env.PATH}`,
        });
        assert.equal(result.code, 1, result.output);
        assert.match(result.output, new RegExp(`not yet applied after 2s by: ${LOOPBACK}:${ports[0]} `));
    });
});
