/**
 * The reload sidecars' `apply_acl` (components/redis/scripts/lib.sh) on a real server: a users file is applied in
 * order, and a line the server refuses stops it there, so the marker user that ends the file (what the ACL sync Job
 * waits for) is never applied over a user whose new rules or password the server did not take.
 */
import { strict as assert } from "assert";
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

    it("stops at the first line the server refuses: the marker after it is not applied", async () => {
        const dirs = g.dirsFor("redis-0");
        const lines = fs.readFileSync(path.join(dirs.acl, ACL_FILES.data), "utf8").trimEnd().split("\n");
        // The server started with this file: a changed file ends with a new marker.
        const loaded = lines.at(-1)!.split(" ")[1];
        assert.ok(loaded.startsWith(ACL_MARKER_PREFIX), `the file ends with the marker: ${loaded}`);
        const marker = `${ACL_MARKER_PREFIX}${"0".repeat(32)}`;
        lines[lines.length - 1] = lines[lines.length - 1].replace(loaded, marker);
        const app = lines.findIndex((l) => l.startsWith("user billing "));
        assert.ok(app >= 0);
        // A rule this server does not know (as a command of a newer Redis would be): ACL SETUSER refuses the line.
        lines[app] = `${lines[app]} +nosuchcommand`;
        const dir = processTempDir("acl-apply-");
        const file = path.join(dir, "users.acl");
        fs.writeFileSync(file, `${lines.join("\n")}\n`);
        const script = path.join(dir, "apply.sh");
        fs.writeFileSync(
            script,
            `. "${path.join(dirs.config, FILES.lib)}"\napply_acl 127.0.0.1 ${g.port("data", 0)} "${file}"\n`,
        );
        const result = await runShellScript(script, {});
        assert.equal(result.code, 1, result.output);
        assert.match(result.output, /ACL SETUSER billing: .*nosuchcommand/i);
        // ioredis hands a nil reply back as null.
        assert.equal(await g.command("data", 0, "ACL", "GETUSER", marker), null, "the marker was applied");
    });
});
