/** Variants of a stack's `keyVault` section (overrides replace a whole key, so the stack's own block is kept). */
import { loadStackConfig } from "../../engine/stackConfig";
import type { Overrides } from "./program";

export const KEY_VAULT_KEY = "data-platform:keyVault";

/** The stack file's `keyVault` block with `changes` applied, as an override for `runStack`/`parseConfig`. */
export function keyVaultOverride(stack: string, changes: Record<string, unknown>): Overrides {
    const own = JSON.parse(loadStackConfig(stack).config[KEY_VAULT_KEY] ?? "{}");
    return { [KEY_VAULT_KEY]: { ...own, ...changes } };
}
