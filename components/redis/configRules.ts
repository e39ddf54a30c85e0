/** Config rules of Redis that span several keys: reserved user names, database indexes, Sentinel quorum. */
import { ConfigRule, PROJECT } from "../config/types";
import { report } from "../config/issues";
import { RESERVED_USER_NAMES } from "./acl";
import { maxmemoryCeilingMiB, mebibytes } from "./files";

export const redisConfigRules: ConfigRule = (config, ctx) => {
    const path = `${PROJECT}:redis`;
    const { redis } = config;
    config.apps.forEach((app, i) => {
        // The application's name is its Redis ACL user.
        if (RESERVED_USER_NAMES.includes(app.name)) {
            report(
                ctx,
                `${PROJECT}:apps[${i}].name`,
                app.name,
                `a name other than ${RESERVED_USER_NAMES.join(", ")} (Redis ACL users of the platform)`,
            );
        }
        if (app.redisDb >= redis.databases) {
            report(
                ctx,
                `${PROJECT}:apps[${i}].redisDb`,
                app.redisDb,
                `an index from 1 to ${redis.databases - 1} (${PROJECT}:redis.databases is ${redis.databases})`,
            );
        }
    });
    const ceiling = maxmemoryCeilingMiB(redis);
    if (ceiling < 1) {
        report(ctx, `${path}.memory`, redis.memory, "more memory than the replica output buffers and the backlog need");
    } else if (redis.maxmemory !== undefined && mebibytes(redis.maxmemory) > ceiling) {
        report(
            ctx,
            `${path}.maxmemory`,
            redis.maxmemory,
            `at most ${ceiling}mb with memory ${redis.memory} (a fork's copy-on-write can double the dataset` +
                (redis.mode === "sentinel" ? `, plus ${redis.replicas - 1} replica buffers and the backlog)` : ")") +
                "; or unset it",
        );
    }
    if (redis.mode === "standalone") {
        return;
    }
    if (redis.sentinels < 3 || redis.sentinels % 2 === 0) {
        report(ctx, `${path}.sentinels`, redis.sentinels, "an odd number of at least 3 in sentinel mode");
    }
    if (redis.quorum <= Math.floor(redis.sentinels / 2) || redis.quorum > redis.sentinels) {
        report(
            ctx,
            `${path}.quorum`,
            redis.quorum,
            `a majority of the ${redis.sentinels} Sentinels (${Math.floor(redis.sentinels / 2) + 1} to ${redis.sentinels})`,
        );
    }
    if (redis.replicas < 2) {
        report(
            ctx,
            `${path}.replicas`,
            redis.replicas,
            "at least 2 data pods in sentinel mode (a master and a replica; 3 recommended)",
        );
    }
};
