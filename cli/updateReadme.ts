/** Writes the generated configuration reference into README.md between its markers. */
import * as fs from "fs";
import * as path from "path";
import { renderConfigReference } from "./configDocs";

export const README = path.resolve(__dirname, "..", "README.md");
export const START = "<!-- config-reference:start -->";
export const END = "<!-- config-reference:end -->";

export function withReference(readme: string): string {
    const start = readme.indexOf(START);
    const end = readme.indexOf(END);
    if (start < 0 || end < start) {
        throw new Error(`README.md lacks the ${START} ... ${END} markers`);
    }
    return `${readme.slice(0, start + START.length)}\n${renderConfigReference()}\n${readme.slice(end)}`;
}

if (require.main === module) {
    fs.writeFileSync(README, withReference(fs.readFileSync(README, "utf8")));
}
