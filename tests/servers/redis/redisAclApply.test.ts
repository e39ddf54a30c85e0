/**
 * The reload sidecars' `apply_acl` (components/redis/scripts/lib.sh) on a real server: a users file is applied in
 * order, and a line the server refuses stops it there, so the marker user that ends the file (what the ACL sync Job
 * waits for) is never applied over a user whose new rules or password the server did not take; and a marker is
 * applied only once the users the file no longer names are deleted, so a sync Job that saw it never reports a
 * removed application's user as gone while it still logs in.
 */
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ACL_MARKER_PREFIX } from "../../../components/redis/acl";
import { ACL_FILES, FILES } from "../../../components/redis/files";
import { runShellScript, waitFor } from "../../../testbed/servers/processes";
import { LocalRedisGroup } from "../../../testbed/servers/redis";
import { processTempDir } from "../../support/tempDir";
import { localGroup } from "../../support/redis";

describe("applying a users file on a real server (reload sidecar)", function () {
    this.timeout(60_000);
    let g: LocalRedisGroup;
    before(async () => {
        g = await localGroup("dev");
        g.startAll();
        await waitFor("the standalone master", 10_000, async () =>
            (await g.masters()).length === 1 ? true : undefined,
        );
    });
    after(() => g?.stop());

    /** The file the server started with, its last line's marker replaced by a new one (a changed file's). */
    function changedFile(marker: string): string[] {
        const lines = fs
            .readFileSync(path.join(g.dirsFor("redis-0").acl, ACL_FILES.data), "utf8")
            .trimEnd()
            .split("\n");
        const loaded = lines.at(-1)!.split(" ")[1];
        assert.ok(loaded.startsWith(ACL_MARKER_PREFIX), `the file ends with the marker: ${loaded}`);
        lines[lines.length - 1] = lines[lines.length - 1].replace(loaded, marker);
        return lines;
    }

    /**
     * Runs `apply_acl` on `lines` against the data node. Each redis-cli it runs goes through a shim on PATH that
     * writes the command's arguments, one call a line, before running the real client: the order the server saw.
     */
    async function apply(lines: string[]): Promise<{ code: number; output: string; calls: string[] }> {
        const dir = processTempDir("acl-apply-");
        const file = path.join(dir, "users.acl");
        fs.writeFileSync(file, `${lines.join("\n")}\n`);
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        const calls = path.join(dir, "calls.log");
        const redisCli = execFileSync("sh", ["-c", "command -v redis-cli"], { encoding: "utf8" }).trim();
        fs.writeFileSync(
            path.join(bin, "redis-cli"),
            `#!/bin/sh\nprintf '%s\\n' "$*" >> "${calls}"\nexec "${redisCli}" "$@"\n`,
            { mode: 0o755 },
        );
        const script = path.join(dir, "apply.sh");
        fs.writeFileSync(
            script,
            `. "${path.join(g.dirsFor("redis-0").config, FILES.lib)}"\napply_acl 127.0.0.1 ${g.port("data", 0)} "${file}"\n`,
        );
        const result = await runShellScript(script, { PATH: `${bin}:${process.env.PATH}` });
        const logged = fs.existsSync(calls) ? fs.readFileSync(calls, "utf8").trimEnd().split("\n") : [];
        return { ...result, calls: logged };
    }

    it("stops at the first line the server refuses: the marker after it is not applied", async () => {
        const marker = `${ACL_MARKER_PREFIX}${"0".repeat(32)}`;
        const lines = changedFile(marker);
        const app = lines.findIndex((l) => l.startsWith("user billing "));
        assert.ok(app >= 0);
        // A rule this server does not know (as a command of a newer Redis would be): ACL SETUSER refuses the line.
        lines[app] = `${lines[app]} +nosuchcommand`;
        const result = await apply(lines);
        assert.equal(result.code, 1, result.output);
        assert.match(result.output, /ACL SETUSER billing: .*nosuchcommand/i);
        // ioredis hands a nil reply back as null.
        assert.equal(await g.command("data", 0, "ACL", "GETUSER", marker), null, "the marker was applied");
    });

    it("applies the marker only after deleting the users the file no longer names (a removed application)", async () => {
        const marker = `${ACL_MARKER_PREFIX}${"1".repeat(32)}`;
        const lines = changedFile(marker).filter((l) => !l.startsWith("user billing "));
        const result = await apply(lines);
        assert.equal(result.code, 0, result.output);
        const deleted = result.calls.findIndex((c) => / ACL DELUSER billing$/.test(c));
        const marked = result.calls.findIndex((c) => c.includes(` ACL SETUSER ${marker} `));
        assert.ok(deleted >= 0, `billing deleted: ${result.calls.join("\n")}`);
        assert.ok(marked > deleted, `the marker (call ${marked}) after the deletion (call ${deleted})`);
        assert.equal(await g.command("data", 0, "ACL", "GETUSER", "billing"), null, "billing is gone");
        assert.ok(await g.command("data", 0, "ACL", "GETUSER", marker), "the marker is applied");
    });
});
