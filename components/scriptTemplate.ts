/**
 * Shell scripts live as `.sh` files beside the code that deploys them (`<service>/scripts/`), so they are read,
 * and shellchecked, as shell. They are read at render time and copied byte for byte, except for placeholders that
 * stand for values fixed in TypeScript (file names, user names):
 * - `@NAME@` inside a line: replaced by a string;
 * - a line that is only `@NAME@`: replaced by zero or more generated lines.
 * A placeholder without a value is an error, so a script and its renderer cannot drift apart unnoticed.
 */
import * as fs from "fs";
import * as path from "path";

export type ScriptValues = Readonly<Record<string, string | readonly string[]>>;

/** A line that is only a placeholder, or a placeholder inside a line (one pass: generated text is not rescanned). */
const PLACEHOLDER = /^@([A-Z_]+)@\n|@([A-Z_]+)@/gm;

/** The script `file` of `dir`, its placeholders replaced from `values`. */
export function renderScript(dir: string, file: string, values: ScriptValues): string {
    const template = fs.readFileSync(path.join(dir, file), "utf8");
    return template.replace(PLACEHOLDER, (_, lineName: string | undefined, inlineName: string | undefined) => {
        const name = lineName ?? inlineName ?? "";
        const value = values[name];
        if (value === undefined) {
            throw new Error(`${file}: no value for the placeholder @${name}@`);
        }
        if (typeof value === "string") {
            return lineName === undefined ? value : `${value}\n`;
        }
        if (lineName === undefined) {
            throw new Error(`${file}: @${name}@ stands for lines and must be alone on its line`);
        }
        return value.map((line) => `${line}\n`).join("");
    });
}
