/**
 * Acknowledged replacements: a `.plan-ack` file in the pull request lists, one per line, the URNs whose
 * replacement or deletion is intended (`#` starts a comment). Only lines the pull request adds count: a URN the
 * base branch already lists is stale (it was for an earlier pull request) and would otherwise wave through every
 * later replacement of that resource.
 */
import * as fs from "fs";

export interface Acknowledgements {
    readonly urns: ReadonlySet<string>;
    /** Stale entries, for the reviewer. */
    readonly notes: string[];
}

export function parseAcknowledgements(text: string): string[] {
    return text
        .split("\n")
        .map((line) => line.replace(/#.*/, "").trim())
        .filter((line) => line.length > 0);
}

function read(file: string | undefined): string[] {
    return file && fs.existsSync(file) ? parseAcknowledgements(fs.readFileSync(file, "utf8")) : [];
}

/** The URNs the head acknowledges and the base does not. Missing files acknowledge nothing. */
export function readAcknowledgements(headFile: string | undefined, baseFile: string | undefined): Acknowledgements {
    const base = new Set(read(baseFile));
    const head = read(headFile);
    return {
        urns: new Set(head.filter((urn) => !base.has(urn))),
        notes: head
            .filter((urn) => base.has(urn))
            .map(
                (urn) => `note: ${urn} is already in the base's acknowledgements; it does not count again (remove it)`,
            ),
    };
}
