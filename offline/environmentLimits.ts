/**
 * Azure's limits across an environment's stacks (issue 26 items 3, 7): a platform stack and its tenant stacks share one
 * subscription (4,000 role assignments) and its resource groups (800 user-assigned identities each), which each stack's
 * own check (components/limits.ts `azureLimitRules`) cannot see. Each stack's footprint is counted from its
 * configuration by the function its own check uses (`azureFootprint`, equal to what its plan registers:
 * tests/unit/config/azureLimits.test.ts), then summed per subscription (`environmentLimitProblems`). `npm run stacks`
 * refuses the repository's stack files past a limit.
 */
import * as path from "path";
import { AZURE_SUBSCRIPTION_KEY, ConfigError, parseConfig, parseTenantRaw } from "../components/config";
import { type EnvironmentUse, LIMITS, type StackFootprint, azureFootprint } from "../components/limits";
import { ROOT, type StackConfig, loadStackConfig } from "./stackConfig";
import { stackNames } from "./stacks";
import { platformStackOf } from "./tenantStacks";

/**
 * Each stack's footprint; a tenant's with its platform's configuration (from `stacks`). Stacks are in their platform's
 * subscription: `azure-native:subscriptionId` when its file sets one, else the platform stack's own. A stack whose
 * configuration is invalid (or whose platform is not among `stacks`) is left out, as `npm run stacks`' other checks
 * leave it: its own preview and plan fail on it.
 */
export function stackFootprints(stacks: Readonly<Record<string, StackConfig>>): StackFootprint[] {
    return Object.entries(stacks).flatMap(([stack, { config, secretKeys }]): StackFootprint[] => {
        const platform = platformStackOf(config) ?? stack;
        const platformConfig = stacks[platform];
        if (platformConfig === undefined) {
            return [];
        }
        try {
            const parsed =
                platform === stack
                    ? parseConfig(config, stack, secretKeys)
                    : parseTenantRaw(config, stack, {
                          stack: platform,
                          raw: platformConfig.config,
                          secretKeys: platformConfig.secretKeys,
                      });
            const subscription = platformConfig.config[AZURE_SUBSCRIPTION_KEY];
            return [
                {
                    stack,
                    subscription: subscription ? subscription : `of platform stack ${platform}`,
                    footprint: azureFootprint(parsed),
                },
            ];
        } catch (err) {
            if (err instanceof ConfigError) {
                return [];
            }
            throw err;
        }
    });
}

/** The footprints of the stack files in `dir`. */
export function repositoryFootprints(dir: string = ROOT): StackFootprint[] {
    return stackFootprints(
        Object.fromEntries(
            stackNames(dir).map((stack) => [stack, loadStackConfig(stack, path.join(dir, `Pulumi.${stack}.yaml`))]),
        ),
    );
}

/** One line of an environment's use of a limit: used / max, the headroom left, how many stacks fill it. */
export function environmentUseLine(use: EnvironmentUse): string {
    const { max, unit } = LIMITS[use.limit];
    const left = ((1 - use.used / max) * 100).toFixed(1);
    return `${use.scope}: ${use.used} / ${max} ${unit} (${left}% left; ${use.stacks.length} stacks)`;
}
