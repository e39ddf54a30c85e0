/** The `.sh` placeholder substitution: every other byte copied, a missing value an error. */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderScript } from "../../../components/scriptTemplate";

describe("renderScript", () => {
    let dir: string;
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "script-template-"));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    const render = (text: string, values: Parameters<typeof renderScript>[2]) => {
        fs.writeFileSync(path.join(dir, "t.sh"), text);
        return renderScript(dir, "t.sh", values);
    };

    it("replaces inline placeholders and copies everything else, escapes included", () => {
        const text = "#!/bin/sh\necho \"$@\" '\\r' @USER@@FILE@ ${x:-@}\n";
        assert.equal(render(text, { USER: "monitor", FILE: "-x" }), "#!/bin/sh\necho \"$@\" '\\r' monitor-x ${x:-@}\n");
    });

    it("replaces a placeholder line by the given lines, or removes it for none", () => {
        const text = "a\n@LINES@\nb\n";
        assert.equal(render(text, { LINES: ["x=1", "export x"] }), "a\nx=1\nexport x\nb\n");
        assert.equal(render(text, { LINES: [] }), "a\nb\n");
    });

    it("does not rescan generated text", () => {
        assert.equal(render("@A@\n", { A: ["@B@"], B: "no" }), "@B@\n");
    });

    it("fails on a placeholder without a value, and on lines used inside a line", () => {
        assert.throws(() => render("echo @MISSING@\n", {}), /t\.sh: no value for the placeholder @MISSING@/);
        assert.throws(() => render("echo @LINES@\n", { LINES: ["x"] }), /must be alone on its line/);
    });
});
