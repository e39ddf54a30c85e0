/**
 * The part of GitHub Actions' expression language the workflows' `if:` conditions use, evaluated as GitHub does
 * (docs.github.com, "Evaluate expressions in workflows and actions"): literals, context paths (`needs.test.result`,
 * `matrix.kubelogin`), `!`, `==`, `!=`, `&&`, `||`, parentheses and the status functions. A condition without a status
 * function gets GitHub's implicit `success() &&`. Anything else throws, so a condition the tests cannot read fails them.
 */

/** How the job (or, for a step, the steps before it) stands when the condition is evaluated. */
export type Status = "success" | "failure" | "cancelled";

export interface ExpressionContext {
    readonly status: Status;
    /** Context values by path, e.g. `{ "needs.test.result": "success" }`. */
    readonly values?: Readonly<Record<string, unknown>>;
}

type Token = { kind: "op" | "str" | "num" | "path" | "fn"; text: string };

function tokenize(source: string): Token[] {
    const tokens: Token[] = [];
    const pattern =
        /\s*(?:(&&|\|\||==|!=|!|\(|\))|'((?:[^']|'')*)'|(\d+(?:\.\d+)?)|([A-Za-z_][\w-]*(?:\.[\w-]+)*)(\(\))?)/y;
    let at = 0;
    while (at < source.length) {
        if (/^\s*$/.test(source.slice(at))) {
            break;
        }
        pattern.lastIndex = at;
        const m = pattern.exec(source);
        if (!m) {
            throw new Error(`cannot read the expression at "${source.slice(at)}"`);
        }
        at = pattern.lastIndex;
        if (m[1]) tokens.push({ kind: "op", text: m[1] });
        else if (m[2] !== undefined) tokens.push({ kind: "str", text: m[2].replace(/''/g, "'") });
        else if (m[3]) tokens.push({ kind: "num", text: m[3] });
        else if (m[5]) tokens.push({ kind: "fn", text: m[4] });
        else tokens.push({ kind: "path", text: m[4] });
    }
    return tokens;
}

const STATUS_FUNCTIONS = ["success", "failure", "cancelled", "always"];

/** GitHub's truthiness: false, 0, '' and null are false. */
const truthy = (v: unknown): boolean => v !== false && v !== 0 && v !== "" && v !== null && v !== undefined;

/** Loose equality as GitHub compares: strings case-insensitively, otherwise by value. */
const equal = (a: unknown, b: unknown): boolean =>
    typeof a === "string" && typeof b === "string" ? a.toLowerCase() === b.toLowerCase() : a === b;

export function evaluate(condition: string | boolean | undefined, context: ExpressionContext): boolean {
    if (condition === undefined) {
        return context.status === "success";
    }
    const source = String(condition)
        .trim()
        .replace(/^\$\{\{([\s\S]*)\}\}$/, "$1");
    const tokens = tokenize(source);
    const usesStatus = tokens.some((t) => t.kind === "fn" && STATUS_FUNCTIONS.includes(t.text));
    let i = 0;
    const peek = () => tokens[i]?.text;
    const expect = (text: string) => {
        if (tokens[i]?.text !== text) {
            throw new Error(`expected "${text}" in ${source}`);
        }
        i++;
    };
    const primary = (): unknown => {
        const t = tokens[i++];
        if (!t) throw new Error(`unexpected end of ${source}`);
        if (t.kind === "op" && t.text === "!") return !truthy(primary());
        if (t.kind === "op" && t.text === "(") {
            const v = or();
            expect(")");
            return v;
        }
        if (t.kind === "str") return t.text;
        if (t.kind === "num") return Number(t.text);
        if (t.kind === "fn") {
            switch (t.text) {
                case "success":
                    return context.status === "success";
                case "failure":
                    return context.status === "failure";
                case "cancelled":
                    return context.status === "cancelled";
                case "always":
                    return true;
                default:
                    throw new Error(`function ${t.text}() is not modelled`);
            }
        }
        if (t.kind === "path") {
            if (t.text === "true" || t.text === "false") return t.text === "true";
            if (t.text === "null") return null;
            if (!context.values || !(t.text in context.values)) {
                throw new Error(`no value given for ${t.text} in ${source}`);
            }
            return context.values[t.text];
        }
        throw new Error(`unexpected "${t.text}" in ${source}`);
    };
    const comparison = (): unknown => {
        const left = primary();
        if (peek() === "==" || peek() === "!=") {
            const op = tokens[i++].text;
            const right = primary();
            return op === "==" ? equal(left, right) : !equal(left, right);
        }
        return left;
    };
    const and = (): unknown => {
        let v = comparison();
        while (peek() === "&&") {
            i++;
            const right = comparison();
            v = truthy(v) ? right : v;
        }
        return v;
    };
    const or = (): unknown => {
        let v = and();
        while (peek() === "||") {
            i++;
            const right = and();
            v = truthy(v) ? v : right;
        }
        return v;
    };
    const value = or();
    if (i !== tokens.length) {
        throw new Error(`unexpected "${tokens[i].text}" in ${source}`);
    }
    return usesStatus ? truthy(value) : context.status === "success" && truthy(value);
}
