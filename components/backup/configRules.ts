/** Config rules of the scheduled exports: a schedule needs somewhere to upload to. */
import { ConfigRule, PROJECT } from "../config/types";
import { report } from "../config/issues";

export const backupConfigRules: ConfigRule = (config, ctx) => {
    if (config.backups) {
        return;
    }
    const allowed = `unset while ${PROJECT}:backups (the Blob container the exports go to) is unset`;
    config.apps.forEach((app, i) => {
        if (app.backup) {
            report(ctx, `${PROJECT}:apps[${i}].backup`, app.backup, allowed);
        }
    });
    const groups: Array<[string, { backup?: unknown }]> = [
        ["redis", config.redis],
        ...Object.entries(config.redis.groups).map(([g, s]): [string, { backup?: unknown }] => [
            `redis.groups.${g}`,
            s,
        ]),
    ];
    for (const [at, settings] of groups) {
        if (settings.backup) {
            report(ctx, `${PROJECT}:${at}.backup`, settings.backup, allowed);
        }
    }
};
