/**
 * The parts of the names derived for Azure resources whose names are global (Key Vault, Flexible Server): stable for
 * one stack and resource group, distinct across them. Both are stateful, so a change here renames them into new,
 * empty resources: tests/unit/config/config.test.ts pins the names existing stacks were given.
 */
import * as crypto from "crypto";

/** 6 hex digits of SHA-256 over `<project>/<stack>/<resource group>`. */
export function stackHash(project: string, stack: string, resourceGroupName: string): string {
    return crypto.createHash("sha256").update(`${project}/${stack}/${resourceGroupName}`).digest("hex").slice(0, 6);
}

/** The stack name lower-cased, each run of other characters than letters and digits one dash, cut to `maxLength`. */
export function stackSlug(stack: string, maxLength: number): string {
    return (
        stack
            .toLowerCase()
            .replace(/[^a-z0-9]+/g, "-")
            .replace(/^-+|-+$/g, "")
            .slice(0, maxLength) || "stack"
    );
}
