/**
 * `redis.backup`: a CronJob in the platform namespace copies the group's master dataset as an RDB file
 * (`scripts/backup-rdb.sh`: `redis-cli --rdb` as the ACL user `backup`, which may only SYNC) and uploads it to
 * `backups.container` under `redis/<group>/` as a writer identity of the group's own (`components/backup/`). A copy is
 * restored by `scripts/restore-rdb.sh` on every data node's volume (README, Backup and restore).
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { BackupsConfig } from "../config/backups";
import type { RedisConfig } from "../config/redis";
import { DEFAULT_INSTANCE } from "../serviceModule";
import { redisBackupPrefix } from "../backup/blob";
import { BlobCopyArgs, BlobWriterIdentity } from "../backup/identity";
import { BACKUP_DIR, backupCronJob, backupServiceAccount } from "../backup/spec";
import { renderScript } from "../scriptTemplate";
import { backupIdentityName } from "../vault/workloadIdentity";
import { USERS } from "./acl";
import { AUTH_FILES, TLS_FILES } from "./files";
import { redisPrefix } from "./groups";
import { RedisLayout, redisNames } from "./layout";
import { redisLabels } from "./spec";

/** The copy's file in the Job's scratch volume; its extension ends each blob's name. */
export const RDB_BACKUP_FILE = "dump.rdb";

const MOUNTS = { auth: "/etc/redis/auth", tls: "/etc/redis/tls", script: "/etc/redis/backup" } as const;
/** The copy script's file in the group's backup ConfigMap. */
export const BACKUP_RDB_SCRIPT = "backup-rdb.sh";

/** The copy script as the producer runs it. */
export function renderBackupRdbScript(): string {
    return renderScript(path.join(__dirname, "scripts"), BACKUP_RDB_SCRIPT, { BACKUP_USER: USERS.backup });
}

/**
 * The group's backup ConfigMap: the copy script as a file, as the group's own scripts are (the policy pack reads a
 * container whose command line names Sentinel as a Sentinel; the script asks Sentinels for a replica).
 */
export function backupConfigMap(redis: Pick<RedisConfig, "group">, namespace: string) {
    return {
        metadata: { name: redisNames(redis).backup, namespace, labels: backupLabels(redis) },
        data: { [BACKUP_RDB_SCRIPT]: renderBackupRdbScript() },
    };
}

/** The labels of the backup's pods: the group's, so its NetworkPolicy can admit them. */
export function backupLabels(redis: Pick<RedisConfig, "group">): Record<string, string> {
    return redisLabels(redis, "backup");
}

/** The environment of the copy: where the master is found and the password files (paths in the Job's container). */
export function backupRdbEnv(
    redis: Pick<RedisConfig, "mode" | "tls" | "masterName">,
    layout: RedisLayout,
    out: string,
): Record<string, string> {
    const endpoints: Record<string, string> =
        redis.mode === "sentinel"
            ? { SENTINELS: layout.sentinels.map((s) => `${s.host}:${s.port}`).join(" "), MASTER_NAME: redis.masterName }
            : {
                  DATA_HOST: (layout.standaloneService ?? layout.dataNodes[0]).host,
                  DATA_PORT: String((layout.standaloneService ?? layout.dataNodes[0]).port),
              };
    return {
        OUT: out,
        TLS: redis.tls ? "yes" : "no",
        BACKUP_PASSWORD_FILE: `${MOUNTS.auth}/${AUTH_FILES.backup}`,
        ...(redis.mode === "sentinel" ? { SENTINEL_PASSWORD_FILE: `${MOUNTS.auth}/${AUTH_FILES.sentinelClient}` } : {}),
        ...(redis.tls ? { CA_FILE: `${MOUNTS.tls}/${TLS_FILES.ca}` } : {}),
        ...endpoints,
    };
}

/** The group's backup CronJob: the copy as an init container, then the upload. */
export function rdbBackupCronJob(redis: RedisConfig, layout: RedisLayout, namespace: string, backups: BackupsConfig) {
    if (!redis.backup) {
        throw new Error(`Redis group ${redis.group ?? DEFAULT_INSTANCE} has no redis.backup`);
    }
    const names = redisNames(redis);
    // Of the group's password files only the backup user's and, with Sentinels, the clients' discovery password.
    const passwords = [AUTH_FILES.backup, ...(redis.mode === "sentinel" ? [AUTH_FILES.sentinelClient] : [])];
    return backupCronJob({
        name: names.backup,
        namespace,
        labels: backupLabels(redis),
        schedule: redis.backup,
        backups,
        prefix: redisBackupPrefix(redis.group ?? DEFAULT_INSTANCE),
        file: RDB_BACKUP_FILE,
        serviceAccountName: names.backup,
        producer: {
            name: "rdb",
            image: redis.image,
            command: ["sh", `${MOUNTS.script}/${BACKUP_RDB_SCRIPT}`],
            env: Object.entries(backupRdbEnv(redis, layout, `${BACKUP_DIR}/${RDB_BACKUP_FILE}`)).map(
                ([name, value]) => ({ name, value }),
            ),
            volumeMounts: [
                { name: "script", mountPath: MOUNTS.script, readOnly: true },
                { name: "auth", mountPath: MOUNTS.auth, readOnly: true },
                ...(redis.tls ? [{ name: "tls", mountPath: MOUNTS.tls, readOnly: true }] : []),
            ],
        },
        volumes: [
            { name: "script", configMap: { name: names.backup, defaultMode: 0o444 } },
            {
                name: "auth",
                secret: {
                    secretName: names.auth,
                    defaultMode: 0o440,
                    items: passwords.map((key) => ({ key, path: key })),
                },
            },
            ...(redis.tls
                ? [
                      {
                          name: "tls",
                          secret: {
                              secretName: redis.tlsSecretName ?? names.tls,
                              defaultMode: 0o440,
                              items: [{ key: TLS_FILES.ca, path: TLS_FILES.ca }],
                          },
                      },
                  ]
                : []),
        ],
    });
}

/** `after`: the group's `redis-auth` Secret with the backup user's password. */
export interface RedisBackupArgs extends BlobCopyArgs {
    readonly redis: RedisConfig;
    readonly layout: RedisLayout;
    readonly namespace: string;
}

/** One group's scheduled RDB copy: its writer identity, service account and CronJob. */
export class RedisBackup extends pulumi.ComponentResource {
    constructor(name: string, args: RedisBackupArgs, opts?: pulumi.ComponentResourceOptions) {
        super("data-platform:redis:RedisBackup", name, { group: args.redis.group ?? DEFAULT_INSTANCE }, opts);
        const names = redisNames(args.redis);
        const identity = new BlobWriterIdentity(
            `${name}-identity`,
            {
                ...args.azure,
                identityName: backupIdentityName(args.vaultName, redisPrefix(args.redis)),
                oidcIssuerUrl: args.oidcIssuerUrl,
                serviceAccountNamespace: args.namespace,
                serviceAccountName: names.backup,
                backups: args.backups,
                prefix: redisBackupPrefix(args.redis.group ?? DEFAULT_INSTANCE),
            },
            { parent: this },
        );
        const script = new k8s.core.v1.ConfigMap(`${name}-script`, backupConfigMap(args.redis, args.namespace), {
            parent: this,
        });
        const serviceAccount = new k8s.core.v1.ServiceAccount(
            `${name}-sa`,
            backupServiceAccount(names.backup, args.namespace, backupLabels(args.redis), identity.clientId),
            { parent: this },
        );
        new k8s.batch.v1.CronJob(
            `${name}-cronjob`,
            rdbBackupCronJob(args.redis, args.layout, args.namespace, args.backups),
            { parent: this, dependsOn: [script, serviceAccount, ...identity.ready, ...args.after] },
        );
        this.registerOutputs({});
    }
}
