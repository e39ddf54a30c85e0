/** The stack files as the program reads them, with test overrides, and the ConfigError an invalid variant gets. */
import * as assert from "assert";
import { ConfigError, PlatformConfig, parseConfig } from "../../components/config";
import type { ServerConfig } from "../../components/config/types";
import { postgresServerConfig } from "../../components/postgres/servers";
import { DEFAULT_INSTANCE } from "../../components/serviceModule";
import { StackConfig, loadStackConfig, mergeConfig } from "../../offline/stackConfig";

/** Config overrides keyed `<namespace>:<key>`, values as they would appear in a stack file. */
export type Overrides = Record<string, unknown>;

const stackFiles = new Map<string, StackConfig>();

/** A stack's own file as the program reads it, parsed once per process (frozen: no test may change it). */
export function stackConfig(stack: string): StackConfig {
    let parsed = stackFiles.get(stack);
    if (!parsed) {
        const { config, secretKeys } = loadStackConfig(stack);
        parsed = Object.freeze({ config: Object.freeze(config), secretKeys: Object.freeze(secretKeys) as string[] });
        stackFiles.set(stack, parsed);
    }
    return parsed;
}

/** Parses a stack file with `overrides` applied (each replaces a whole key), the way the program would see it. */
export function parseStack(stack: string, overrides: Overrides = {}): PlatformConfig {
    const { config, secretKeys } = mergeConfig(stackConfig(stack), overrides);
    return parseConfig(config, stack, secretKeys);
}

/** The ConfigError a variant that must be refused gets; fails the test when it is accepted or fails otherwise. */
export function configError(stack: string, overrides: Overrides): ConfigError {
    try {
        parseStack(stack, overrides);
    } catch (err) {
        assert.ok(err instanceof ConfigError, `expected ConfigError, got ${err}`);
        return err;
    }
    return assert.fail(`configuration was accepted: ${JSON.stringify(overrides)}`);
}

/** The refused variant's problems, one `<path>: given <value>; allowed: <what>` line each. */
export function problemLines(stack: string, overrides: Overrides): string[] {
    return configError(stack, overrides).issues.map((i) => `${i.path}: given ${i.given}; allowed: ${i.allowed}`);
}

/**
 * An override of one section (`data-platform:<section>`) that keeps the stack file's own block and applies
 * `changes` on top: an override replaces a whole key.
 */
export function sectionOverride(stack: string, section: string, changes: Record<string, unknown>): Overrides {
    const key = `data-platform:${section}`;
    const own = JSON.parse(stackConfig(stack).config[key] ?? "{}");
    return { [key]: { ...own, ...changes } };
}

/** The stack file's `keyVault` block with `changes` applied, as an override for `runStack`/`parseStack`. */
export function keyVaultOverride(stack: string, changes: Record<string, unknown>): Overrides {
    return sectionOverride(stack, "keyVault", changes);
}

/** One PostgreSQL server's view of a stack (`postgresServerConfig`): the stack's own server unless `server` is given. */
export function parseServer(stack: string, overrides: Overrides = {}, server = DEFAULT_INSTANCE): ServerConfig {
    return postgresServerConfig(parseStack(stack, overrides), server);
}
