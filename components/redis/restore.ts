/**
 * Restore of a Redis data node from an RDB snapshot (`redis.snapshots`, a backup of `dump.rdb`): the script
 * `scripts/restore-rdb.sh` run on the stopped node's volume, then an ordinary start. Run by the drill
 * (tests/servers/redis/redisRestore.test.ts) and by the operator (README, Backup and restore), whose steps for a whole
 * group `npm run restore -- --redis-group` prints (`renderRedisRestorePlan`).
 */
import * as path from "path";
import type { PlatformConfig } from "../config/types";
import type { RedisConfig } from "../config/redis";
import { redisBackupPrefix } from "../backup/blob";
import { renderScript } from "../scriptTemplate";
import { redisGroupSettings, redisGroups, redisPrefix } from "./groups";
import { redisNames } from "./layout";
import { REDIS_UID } from "./spec";
import { RESTRICTED_CONTAINER, restrictedPod } from "../podSecurity";

/**
 * Redis' defaults, which redis.conf here does not change: `appenddirname appendonlydir`, `appendfilename
 * appendonly.aof` (its manifest `<appendfilename>.manifest`), `dbfilename dump.rdb` (redis/redis redis.conf, 7.0+).
 */
export const REDIS_PERSISTENCE_FILES = {
    aofDir: "appendonlydir",
    aofManifest: "appendonly.aof.manifest",
    rdb: "dump.rdb",
} as const;

/** The restore script (DATA_DIR, RDB_FILE from the environment). */
export function renderRestoreRdbScript(): string {
    return renderScript(path.join(__dirname, "scripts"), "restore-rdb.sh", {
        AOF_DIR: REDIS_PERSISTENCE_FILES.aofDir,
        MANIFEST_FILE: REDIS_PERSISTENCE_FILES.aofManifest,
        BASE_FILE: "restored.base.rdb",
        INCR_FILE: "restored.incr.aof",
    });
}

/** Where the restore pod mounts a data node's volume, and the copy within it. */
const RESTORE_MOUNT = "/data";
const RESTORE_COPY = `${RESTORE_MOUNT}/restore.rdb`;

/**
 * A pod that mounts data node `ordinal`'s volume (claim `data-<statefulset>-<ordinal>`) while the group is stopped,
 * under the restricted Pod Security standard, as the redis user: the copy is put there and `restore-rdb.sh` run.
 */
export function restorePod(redis: RedisConfig, namespace: string, ordinal: number) {
    const names = redisNames(redis);
    return {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: `${names.data}-restore-${ordinal}`, namespace },
        spec: {
            restartPolicy: "Never",
            automountServiceAccountToken: false,
            securityContext: restrictedPod(REDIS_UID),
            containers: [
                {
                    name: "restore",
                    image: redis.image,
                    command: ["sleep", "3600"],
                    securityContext: RESTRICTED_CONTAINER,
                    resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "1", memory: "256Mi" } },
                    volumeMounts: [{ name: "data", mountPath: RESTORE_MOUNT }],
                },
            ],
            volumes: [{ name: "data", persistentVolumeClaim: { claimName: `data-${names.data}-${ordinal}` } }],
        },
    };
}

/**
 * The printed plan of restoring a whole group from one of its backups (`npm run restore -- --redis-group`): download,
 * stop the data nodes, make the copy the base of each node's AOF (`restore-rdb.sh`), start them again. Every node, so
 * whichever becomes master holds the copy. Everything written after the copy is lost.
 */
export function renderRedisRestorePlan(config: PlatformConfig, group: string, blob: string): string {
    const known = redisGroups(config.redis);
    if (!known.includes(group)) {
        throw new Error(
            `--redis-group: ${JSON.stringify(group)} is not a group of stack ${config.stack}; allowed: ${known.join(", ")}`,
        );
    }
    const redis = redisGroupSettings(config.redis, group);
    const prefix = redisBackupPrefix(group);
    if (!config.backups || !redis.backup) {
        throw new Error(
            `Redis group ${group} of stack ${config.stack} is not backed up (redis.backup unset): nothing to restore from`,
        );
    }
    if (!blob.startsWith(prefix) || !blob.endsWith(".rdb")) {
        throw new Error(
            `--backup: ${JSON.stringify(blob)} is not a copy of group ${group}; allowed: ${prefix}<time>.rdb`,
        );
    }
    const ns = config.cluster.platformNamespace;
    const names = redisNames(redis);
    const nodes = redis.mode === "sentinel" ? redis.replicas : 1;
    const account = config.backups.storageAccountId.split("/").pop();
    const script = renderRestoreRdbScript();
    const lines = [
        `# Restore Redis group ${group} of stack ${config.stack} from ${blob}: every application of the group goes back`,
        "# to that copy; what was written after it is lost. The Sentinels keep running.",
        "",
        "## 1. Download the copy",
        `az storage blob download --auth-mode login --account-name ${account} --container-name ${config.backups.container} --name ${blob} --file dump.rdb`,
        "",
        "## 2. Stop the data nodes",
        `kubectl -n ${ns} scale statefulset ${names.data} --replicas=0`,
        `kubectl -n ${ns} wait --for=delete pod -l app.kubernetes.io/name=${redisPrefix(redis)},app.kubernetes.io/component=data --timeout=300s`,
        "",
        `## 3. On each data node's volume (${nodes}): the copy as the base of a new AOF (the old one kept, renamed)`,
        ...Array.from({ length: nodes }, (_, i) => {
            const pod = restorePod(redis, ns, i);
            const name = pod.metadata.name;
            return [
                `kubectl apply -f - <<'EOF'\n${JSON.stringify(pod, null, 2)}\nEOF`,
                `kubectl -n ${ns} wait --for=condition=Ready pod/${name} --timeout=120s`,
                `kubectl -n ${ns} cp dump.rdb ${name}:${RESTORE_COPY}`,
                `kubectl -n ${ns} exec -i ${name} -- env DATA_DIR=${RESTORE_MOUNT} RDB_FILE=${RESTORE_COPY} sh -s <<'RESTORE'\n${script}RESTORE`,
                `kubectl -n ${ns} delete pod ${name}`,
            ].join("\n");
        }),
        "",
        "## 4. Start the data nodes again",
        `kubectl -n ${ns} scale statefulset ${names.data} --replicas=${nodes}`,
    ];
    return `${lines.join("\n")}\n`;
}
