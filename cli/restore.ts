/**
 * `npm run restore -- --stack <name> --app <app> --time <ISO 8601 with zone> [--subscription <id>]`
 * `npm run restore -- --stack <name> --redis-group <group> --backup <redis/<group>/<time>.rdb>`
 * Prints the plan of a point-in-time restore of one application (components/postgres/restorePlan.ts), or of a Redis
 * group from one of its backups (components/redis/restore.ts). Prints only: it changes nothing, and the stack's own
 * resources are not part of it.
 */
import { ConfigError, parseConfig } from "../components/config";
import { parseRestoreTime, renderRestorePlan, restorePlan } from "../components/postgres/restorePlan";
import { renderRedisRestorePlan } from "../components/redis/restore";
import { loadStackConfig } from "../offline/stackConfig";
import { parseFlags } from "./args";

const USAGE =
    "usage: npm run restore -- --stack <name> --app <application> --time <ISO 8601 with zone, e.g. 2026-12-06T14:30:00Z> " +
    "[--subscription <Azure subscription id>]\n" +
    "       npm run restore -- --stack <name> --redis-group <group> --backup <redis/<group>/<time>.rdb>";

function main(): number {
    const { flags } = parseFlags(process.argv.slice(2), [
        "stack",
        "app",
        "time",
        "subscription",
        "redis-group",
        "backup",
    ]);
    const redis = flags["redis-group"] !== undefined || flags.backup !== undefined;
    if (
        !flags.stack ||
        (redis ? !flags["redis-group"] || !flags.backup || flags.app || flags.time : !flags.app || !flags.time)
    ) {
        console.error(USAGE);
        return 2;
    }
    try {
        if (redis) {
            const { config, secretKeys } = loadStackConfig(flags.stack);
            process.stdout.write(
                renderRedisRestorePlan(
                    parseConfig(config, flags.stack, secretKeys),
                    flags["redis-group"],
                    flags.backup,
                ),
            );
            return 0;
        }
        const t = parseRestoreTime(flags.time, "--time");
        const { config, secretKeys } = loadStackConfig(flags.stack);
        const parsed = parseConfig(config, flags.stack, secretKeys);
        const plan = restorePlan(parsed, flags.app, t, flags.subscription ?? "<subscription-id>");
        process.stdout.write(renderRestorePlan(plan));
        return 0;
    } catch (err) {
        console.error(err instanceof Error && !(err instanceof ConfigError) ? err.message : String(err));
        return 1;
    }
}

process.exit(main());
