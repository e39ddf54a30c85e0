/**
 * A clone in a private folder (a 0700 parent: `mktemp -d`, /root) runs its PostgreSQL tests: as root the servers run
 * as the `postgres` user, who cannot reach binaries inside that folder (runuser: "Permission denied"), so the testbed
 * runs them from a copy it can reach. A real server, started from an installation copied into a 0700 directory.
 */
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PG16_BIN, requirePostgresBinaries, startLocalServer, superuserSql } from "../../../testbed/servers/postgres";

describe("a clone in a private folder", function () {
    this.timeout(120_000);
    let privateDir: string;

    before(() => {
        requirePostgresBinaries(PG16_BIN, ["initdb", "pg_ctl", "postgres"]);
        privateDir = fs.mkdtempSync(path.join(os.tmpdir(), "dp-private-clone-"));
        assert.strictEqual(fs.statSync(privateDir).mode & 0o777, 0o700, "mkdtemp makes a 0700 directory");
        execFileSync("cp", ["-a", path.dirname(PG16_BIN), path.join(privateDir, "native")]);
    });
    after(() => fs.rmSync(privateDir, { recursive: true, force: true }));

    it("starts PostgreSQL 16 from binaries under a 0700 directory (as root: the server user cannot reach them)", async () => {
        const bin = path.join(privateDir, "native", "bin");
        const server = await startLocalServer({ bin });
        try {
            await superuserSql(server, "CREATE TABLE reached (id int); INSERT INTO reached VALUES (1)");
            if (process.getuid?.() === 0) {
                assert.ok(!server.bin.startsWith(privateDir), `the server runs from a reachable copy, not ${bin}`);
            }
        } finally {
            await server.stop();
        }
    });
});
