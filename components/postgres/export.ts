/**
 * Scheduled logical exports of one application's database (`apps[].backup`): a CronJob in the application's namespace
 * runs `pg_dump` with the application's own login, read from its contract Secret (libpq's `PG*` keys: never the admin,
 * and only its own database, which the login Job closes to every other login), and uploads the dump to
 * `backups.container` under `postgres/<app>/` as an identity of its own that may write nothing else there
 * (`components/backup/`). A dump is restored by the per-application copy's load and swap (`exportRestoreSteps`).
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { AppConfig } from "../config/platform";
import type { BackupsConfig } from "../config/backups";
import { BACKUP_SERVICE_ACCOUNT, postgresExportPrefix } from "../backup/blob";
import { BlobCopyArgs, BlobWriterIdentity } from "../backup/identity";
import { BACKUP_DIR, backupCronJob, backupServiceAccount } from "../backup/spec";
import { PLATFORM_NAME, recommendedLabels } from "../labels";
import { backupIdentityName } from "../vault/workloadIdentity";
import { RestoreStep, appRestoreSteps } from "./restore";
import type { AppLogin } from "./sql";

/** The dump's file name in the Job's scratch volume; its extension ends each blob's name. */
export const EXPORT_FILE = "export.dump";

/** The contract keys the dump reads from the application's Secret: libpq's own, so pg_dump needs no argument for them. */
export const EXPORT_ENV_KEYS = ["PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD", "PGSSLMODE"] as const;

/** The dump, as the producer runs it: custom format (pg_restore picks objects from it), connection from the env. */
export function exportDumpArgv(file: string): string[] {
    return ["pg_dump", "--format=custom", "--no-password", `--file=${file}`];
}

/**
 * Restoring an export into the live server: the per-application copy without its first step (the dump, which the
 * export already is): load into `<db>_pitr`, then the swap. Run as the admin, as `npm run restore` prints it.
 */
export function exportRestoreSteps(app: AppLogin, dumpFile: string): RestoreStep[] {
    return appRestoreSteps(app, dumpFile).slice(1);
}

/** The export's CronJob for `app` in `namespace`. */
export function appExportCronJob(
    app: AppConfig,
    backups: BackupsConfig,
    clientImage: string,
    namespace: pulumi.Input<string>,
) {
    if (!app.backup) {
        throw new Error(`application ${app.name} asks for no export (apps[].backup)`);
    }
    return backupCronJob({
        name: `${app.name}-pg-export`,
        namespace,
        labels: exportLabels(app),
        schedule: app.backup,
        backups,
        prefix: postgresExportPrefix(app.name),
        file: EXPORT_FILE,
        serviceAccountName: BACKUP_SERVICE_ACCOUNT,
        producer: {
            name: "pg-dump",
            image: clientImage,
            command: exportDumpArgv(`${BACKUP_DIR}/${EXPORT_FILE}`),
            env: EXPORT_ENV_KEYS.map((key) => ({
                name: key,
                valueFrom: { secretKeyRef: { name: app.secretName, key } },
            })),
        },
    });
}

function exportLabels(app: Pick<AppConfig, "name">): Record<string, string> {
    return recommendedLabels({ partOf: PLATFORM_NAME, component: "postgres-export", instance: app.name });
}

/** `after`: the application's Secret. */
export interface AppExportArgs extends BlobCopyArgs {
    readonly app: AppConfig;
    /** The dump's image: its server's `clientImage` (the login Job's psql image, with pg_dump of the same major). */
    readonly clientImage: string;
    /** The application's namespace (its `DataNamespace`). */
    readonly namespace: pulumi.Output<string>;
}

/** One application's scheduled export: its writer identity, service account and CronJob. */
export class AppExport extends pulumi.ComponentResource {
    constructor(name: string, args: AppExportArgs, opts?: pulumi.ComponentResourceOptions) {
        super("data-platform:postgres:AppExport", name, { app: args.app.name }, opts);
        const identity = new BlobWriterIdentity(
            `${name}-identity`,
            {
                ...args.azure,
                identityName: backupIdentityName(args.vaultName, `app-${args.app.name}`),
                oidcIssuerUrl: args.oidcIssuerUrl,
                serviceAccountNamespace: args.namespace,
                serviceAccountName: BACKUP_SERVICE_ACCOUNT,
                backups: args.backups,
                prefix: postgresExportPrefix(args.app.name),
            },
            { parent: this },
        );
        const serviceAccount = new k8s.core.v1.ServiceAccount(
            `${name}-sa`,
            backupServiceAccount(BACKUP_SERVICE_ACCOUNT, args.namespace, exportLabels(args.app), identity.clientId),
            { parent: this },
        );
        new k8s.batch.v1.CronJob(
            `${name}-cronjob`,
            appExportCronJob(args.app, args.backups, args.clientImage, args.namespace),
            { parent: this, dependsOn: [serviceAccount, ...identity.ready, ...args.after] },
        );
        this.registerOutputs({});
    }
}
