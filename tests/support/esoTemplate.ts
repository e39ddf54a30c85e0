/**
 * External Secrets' template engine v2 as a program: `esoTemplate/main.go` runs Go's text/template exactly as ESO's
 * `runtime/template/v2/template.go` `execute` does (missingkey=error, default delimiters, the data as strings), built
 * here with the machine's Go (standard library only) once per source. A missing Go fails the test that needs it.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const SOURCES = path.join(__dirname, "esoTemplate");

/** Renders each template over `data` as ESO would: every key's text, or ESO's error. */
export type TemplateEngine = (
    data: Readonly<Record<string, string>>,
    templates: Readonly<Record<string, string>>,
) => Record<string, string>;

let built: string | undefined;

function program(): string {
    if (built) {
        return built;
    }
    const digest = crypto.createHash("sha256");
    for (const file of ["go.mod", "main.go"]) {
        digest.update(fs.readFileSync(path.join(SOURCES, file)));
    }
    const binary = path.join(os.tmpdir(), `data-platform-esotemplate-${digest.digest("hex").slice(0, 16)}`);
    if (!fs.existsSync(binary)) {
        const go = ["/usr/local/go/bin/go", "/usr/bin/go"].find((p) => fs.existsSync(p)) ?? "go";
        const run = spawnSync(go, ["build", "-o", `${binary}.tmp`, "."], { cwd: SOURCES, encoding: "utf8" });
        assert.equal(
            run.status,
            0,
            `building ${SOURCES} with ${go} failed (Go is installed by .ci/install.sh): ${run.error ?? run.stderr}`,
        );
        fs.renameSync(`${binary}.tmp`, binary);
    }
    built = binary;
    return binary;
}

/** ESO's template engine v2 (see the file's comment); throws ESO's error for a template it refuses. */
export const esoTemplateEngine: TemplateEngine = (data, templates) => {
    const run = spawnSync(program(), [], { input: JSON.stringify({ data, templates }), encoding: "utf8" });
    const out = JSON.parse(run.stdout || "{}") as Record<string, string>;
    if (run.status !== 0) {
        throw new Error(out.error ?? `${program()} exited ${run.status}: ${run.stderr}`);
    }
    return out;
};
