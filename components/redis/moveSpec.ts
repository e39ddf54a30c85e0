/**
 * Pure parts of moving an application's Redis databases to another group (`apps[].redis.movedFrom`): what is copied
 * and who is frozen, the Jobs' entrypoints (`scripts/move.sh`: the copy; `scripts/retire.sh`: with `retireOld`, the
 * old copy's deletion), files, names and `spec`s.
 *
 * DUMP and RESTORE through redis-cli, not MIGRATE: with MIGRATE the source server itself connects to the target,
 * holding the target admin's password, and speaks TLS there only when it runs `tls-cluster yes` (redis 7.0.15
 * `src/cluster.c:6182` `migrateGetSocket`; 7.4.1 `src/cluster.c:56-62,320` `connTypeOfCluster`), a cluster-bus setting
 * these groups, TLS-only in production, do not run. A value goes as RESTORE ... ABSTTL with its PEXPIRETIME (the same
 * absolute expiry; PEXPIRETIME is Redis 7.0+; a time already past restores nothing and answers OK: 7.0.15
 * `src/cluster.c:6097-6107`), many keys to one redis-cli session a side (`scripts/move-keys.sh`).
 */
import * as crypto from "crypto";
import * as path from "path";
import type { AppConfig } from "../config/platform";
import type { RedisConfig } from "../config/redis";
import { renderScript } from "../scriptTemplate";
import { USERS, appKeyPatterns, appRedisUserNames, defaultUserTenant, redisTenants } from "./acl";
import { redisKeyPrefix } from "./clients";
import { MOVE_JOB_LABELS, REDIS_UID } from "./spec";
import { redisPrefix } from "./groups";
import { MOVE_JOB_LIB_FILE, moveJobLibFiles, moveJobMounts, moveJobSpecAround } from "../moveJobSpec";

/** The two Jobs of a move: the copy (on the group it moves to), and with `retireOld` the old copy's deletion. */
export type RedisMoveStep = "copy" | "retire";

export const MOVE_JOB = {
    copyFile: "copy.list",
    /** The entrypoint of each step. */
    entrypointFiles: { copy: "move.sh", retire: "retire.sh" },
    /** What both steps source: the sides, the application's keys. */
    keysLibFile: "move-keys.sh",
    sourceCaFile: "source-ca.pem",
    targetCaFile: "target-ca.pem",
} as const;

const MOUNT = moveJobMounts("/etc/redis-move");

/** One side of the copy: its group's data nodes (`host:port`) and, with TLS, the CA its certificates chain to. */
export interface RedisMoveSide {
    readonly group: string;
    readonly nodes: readonly string[];
    readonly caCert: string | undefined;
}

/**
 * The key holding the Job's marks in the application's database on the target. Application names are DNS labels (no
 * `.`), so no application's prefix `<name>:` covers it; on a shared group no tenant reaches it.
 */
export function moveMarkKey(app: Pick<AppConfig, "name">): string {
    return `data-platform.io/move:${app.name}`;
}

/**
 * What is copied, and with `retireOld` deleted, as the source group sees the application: "<database> <key pattern>"
 * lines, its own database first (where the marks live). Alone on a dedicated group, every key of its databases; on a
 * shared one its key patterns (as its ACL users have them), so other tenants' keys stay.
 */
export function renderCopyList(source: Pick<RedisConfig, "dedicated">, app: AppConfig): string {
    const [tenant] = redisTenants(source, [app]);
    const own = tenant.dedicated ? ["*"] : appKeyPatterns(app);
    const lines = [
        ...own.map((p) => `${app.redisDb} ${p}`),
        ...app.redisExtraDatabases.flatMap((extra) => {
            const patterns = tenant.dedicated
                ? ["*"]
                : extra.keyPatterns.length > 0
                  ? extra.keyPatterns
                  : [`${redisKeyPrefix(app)}*`];
            return patterns.map((p) => `${extra.db} ${p}`);
        }),
    ];
    return lines.join("\n") + "\n";
}

/** The application's users on the source group: its own and its extra databases', and `default` when it stands for it. */
export function freezeUsers(source: Pick<RedisConfig, "dedicated">, app: AppConfig): string[] {
    const standsFor = defaultUserTenant(redisTenants(source, [app])) !== undefined;
    return [...appRedisUserNames(app), ...(standsFor ? ["default"] : [])];
}

/** The ConfigMap data of one step of a move. */
export function moveJobFiles(
    step: RedisMoveStep,
    source: Pick<RedisConfig, "dedicated">,
    app: AppConfig,
    sides: { source: RedisMoveSide; target: RedisMoveSide },
): Record<string, string> {
    const entrypoint = MOVE_JOB.entrypointFiles[step];
    const scripts = path.join(__dirname, "scripts");
    return {
        [MOVE_JOB.copyFile]: renderCopyList(source, app),
        [entrypoint]: renderScript(scripts, entrypoint, { MOVE_KEYS_LIB: MOVE_JOB.keysLibFile }),
        [MOVE_JOB.keysLibFile]: renderScript(scripts, MOVE_JOB.keysLibFile, {
            COPY_FILE: MOVE_JOB.copyFile,
            MOVE_JOB_LIB: MOVE_JOB_LIB_FILE,
        }),
        ...moveJobLibFiles(),
        ...(sides.source.caCert !== undefined ? { [MOVE_JOB.sourceCaFile]: sides.source.caCert } : {}),
        ...(sides.target.caCert !== undefined ? { [MOVE_JOB.targetCaFile]: sides.target.caCert } : {}),
    };
}

/** What a Job of the move runs. */
export interface RedisMoveJobInput {
    readonly step: RedisMoveStep;
    readonly app: string;
    readonly markKey: string;
    readonly freezeUsers: readonly string[];
    readonly files: Readonly<Record<string, string>>;
    /** The target group's Redis image (its redis-cli). */
    readonly image: string;
    readonly source: RedisMoveSide;
    readonly target: RedisMoveSide;
}

/**
 * The base of a step's objects (ConfigMap, Secret, the Job's name prefix): the copy's on the target group, the
 * deletion's on the source group.
 */
export function moveJobBase(step: RedisMoveStep, group: Pick<RedisConfig, "group">, app: string): string {
    return `${redisPrefix(group)}-${moveStepWord(step)}-${app}`;
}

/** The word of a step in its objects' names: `move` for the copy (as before the deletion step), `retire`. */
export function moveStepWord(step: RedisMoveStep): string {
    return step === "copy" ? "move" : "retire";
}

/** Renamed whenever what it runs changes: a finished Job never runs again, one under a new name does (idempotently). */
export function moveJobName(input: RedisMoveJobInput, base: string): string {
    return `${base}-${crypto.createHash("sha256").update(JSON.stringify(input)).digest("hex").slice(0, 8)}`;
}

/**
 * `spec` of a Job of the move (restricted Pod Security; the admins' passwords only as mounted Secret files). A stopped
 * copy leaves the mark "copying": the next attempt deletes its partial copy and copies again; a stopped deletion is
 * deleted further.
 */
export function moveJobSpec(input: RedisMoveJobInput, base: string) {
    const ca = (side: RedisMoveSide, file: string) => (side.caCert !== undefined ? `${MOUNT.job}/${file}` : "");
    return moveJobSpecAround(
        base,
        MOUNT,
        { labels: MOVE_JOB_LABELS, uid: REDIS_UID },
        {
            name: input.step,
            image: input.image,
            command: ["/bin/sh", `${MOUNT.job}/${MOVE_JOB.entrypointFiles[input.step]}`],
            env: [
                { name: "ADMIN_USER", value: USERS.admin },
                { name: "MARK_KEY", value: input.markKey },
                { name: "FREEZE_USERS", value: input.freezeUsers.join(" ") },
                { name: "SOURCE_GROUP", value: input.source.group },
                { name: "SOURCE_NODES", value: input.source.nodes.join(" ") },
                { name: "SOURCE_TLS_CA", value: ca(input.source, MOVE_JOB.sourceCaFile) },
                { name: "TARGET_NODES", value: input.target.nodes.join(" ") },
                { name: "TARGET_TLS_CA", value: ca(input.target, MOVE_JOB.targetCaFile) },
            ],
            resources: {
                requests: { cpu: "100m", memory: "64Mi" },
                limits: { cpu: "1", memory: "256Mi" },
            },
        },
    );
}
