/** The `if:` evaluator the workflow tests use, on GitHub's documented rules. */
import * as assert from "assert";
import { evaluate } from "./expressions";

describe("workflow if: conditions as GitHub evaluates them", () => {
    it("adds success() to a condition without a status function, and runs an unconditioned step on success only", () => {
        assert.strictEqual(evaluate(undefined, { status: "success" }), true);
        assert.strictEqual(evaluate(undefined, { status: "failure" }), false);
        const values = { "matrix.kubelogin": true };
        assert.strictEqual(evaluate("matrix.kubelogin", { status: "success", values }), true);
        assert.strictEqual(evaluate("matrix.kubelogin", { status: "failure", values }), false);
    });

    it("status functions: always() after a cancel too, !cancelled() after a failure but not a cancel", () => {
        for (const status of ["success", "failure", "cancelled"] as const) {
            assert.strictEqual(evaluate("always()", { status }), true, status);
            assert.strictEqual(evaluate("${{ !cancelled() }}", { status }), status !== "cancelled", status);
            assert.strictEqual(evaluate("failure()", { status }), status === "failure", status);
        }
    });

    it("compares strings case-insensitively and combines with && and || by value, parentheses first", () => {
        const values = { "needs.a.result": "Success", "needs.b.result": "skipped" };
        const context = { status: "success" as const, values };
        assert.strictEqual(evaluate("needs.a.result == 'success'", context), true);
        assert.strictEqual(evaluate("needs.b.result != 'skipped'", context), false);
        assert.strictEqual(
            evaluate("needs.a.result == 'failure' && (needs.b.result == 'skipped' || true)", context),
            false,
        );
        assert.strictEqual(evaluate("needs.a.result == 'failure' || needs.b.result == 'skipped'", context), true);
        assert.strictEqual(evaluate("'it''s' == 'IT''S'", context), true);
    });

    it("refuses what it does not model instead of guessing", () => {
        assert.throws(() => evaluate("hashFiles()", { status: "success" }), /not modelled/);
        assert.throws(() => evaluate("contains(github.ref, 'main')", { status: "success" }), /cannot read/);
        assert.throws(() => evaluate("needs.x.result == 'success'", { status: "success" }), /no value given/);
        assert.throws(() => evaluate("a == == b", { status: "success", values: { a: 1, b: 1 } }), /unexpected/);
    });
});
