/**
 * A scheduled backup as a CronJob (pure): a producer writes one file into a scratch volume (an init container: it
 * finishes before the upload starts), then the upload container sends it to Blob Storage as the pod's workload identity
 * and applies the retention (`scripts/upload-blob.sh`). Used by the PostgreSQL exports and the Redis RDB copies.
 */
import * as path from "path";
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { BackupSchedule, BackupsConfig } from "../config/backups";
import { renderScript } from "../scriptTemplate";
import { WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION, WORKLOAD_IDENTITY_USE_LABEL, blobEndpoint } from "./blob";
import { RESTRICTED_CONTAINER, restrictedPod } from "../podSecurity";

type Container = k8s.types.input.core.v1.Container;
type Volume = k8s.types.input.core.v1.Volume;
type VolumeMount = k8s.types.input.core.v1.VolumeMount;

/** Where the producer writes its file, a volume of the pod only. */
export const BACKUP_DIR = "/backup";

/**
 * Blob service REST version the upload sends (`x-ms-version`), and the largest Put Blob it accepts from 2019-12-12 on:
 * 5000 MiB (learn.microsoft.com, Put Blob, "Remarks").
 */
export const BLOB_API_VERSION = "2023-11-03";
export const MAX_PUT_BLOB_BYTES = 5000 * 1024 * 1024;

/** Any uid works for the clients; none of the images' own users is assumed. */
const UID = 65532;
const RESOURCES = { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "1", memory: "512Mi" } };

/** The upload script as the container runs it. */
export function renderUploadScript(): string {
    return renderScript(path.join(__dirname, "scripts"), "upload-blob.sh", {
        API_VERSION: BLOB_API_VERSION,
        MAX_PUT_BYTES: String(MAX_PUT_BLOB_BYTES),
    });
}

export interface BackupCronJobInput {
    readonly name: string;
    readonly namespace: pulumi.Input<string>;
    readonly labels: Record<string, string>;
    readonly schedule: BackupSchedule;
    readonly backups: BackupsConfig;
    /** The writer's prefix in the container (`postgres/<app>/`, `redis/<group>/`). */
    readonly prefix: string;
    /** The file the producer writes into `BACKUP_DIR`, e.g. `export.dump`; its extension ends the blob's name. */
    readonly file: string;
    /** The service account federated with the writer's identity. */
    readonly serviceAccountName: string;
    /** Writes `BACKUP_DIR/<file>` and exits 0, or fails the Job. Pod Security is set here. */
    readonly producer: Omit<Container, "securityContext" | "resources" | "volumeMounts"> & {
        readonly volumeMounts?: VolumeMount[];
    };
    /** Volumes the producer mounts besides the scratch one. */
    readonly volumes?: Volume[];
}

/** The CronJob: never two runs at once, a failed run retried twice, the last runs kept for `kubectl logs`. */
export function backupCronJob(input: BackupCronJobInput) {
    const scratch = { name: "backup", mountPath: BACKUP_DIR };
    const labels = { ...input.labels, [WORKLOAD_IDENTITY_USE_LABEL]: "true" };
    return {
        metadata: { name: input.name, namespace: input.namespace, labels: input.labels },
        spec: {
            schedule: input.schedule.schedule,
            concurrencyPolicy: "Forbid",
            successfulJobsHistoryLimit: 1,
            failedJobsHistoryLimit: 3,
            jobTemplate: {
                metadata: { labels: input.labels },
                spec: {
                    backoffLimit: 2,
                    template: {
                        metadata: { labels },
                        spec: {
                            restartPolicy: "Never",
                            serviceAccountName: input.serviceAccountName,
                            // The webhook projects its own token for the identity; the API token is not needed.
                            automountServiceAccountToken: false,
                            securityContext: restrictedPod(UID),
                            initContainers: [
                                {
                                    ...input.producer,
                                    volumeMounts: [...(input.producer.volumeMounts ?? []), scratch],
                                    securityContext: RESTRICTED_CONTAINER,
                                    resources: RESOURCES,
                                },
                            ],
                            containers: [
                                {
                                    name: "upload",
                                    image: input.backups.uploaderImage,
                                    command: ["sh", "-c", renderUploadScript()],
                                    env: [
                                        { name: "FILE", value: `${BACKUP_DIR}/${input.file}` },
                                        { name: "BLOB_ENDPOINT", value: blobEndpoint(input.backups) },
                                        { name: "CONTAINER", value: input.backups.container },
                                        { name: "PREFIX", value: input.prefix },
                                        { name: "SUFFIX", value: path.extname(input.file) },
                                        { name: "KEEP", value: String(input.schedule.retention) },
                                    ],
                                    volumeMounts: [{ ...scratch, readOnly: true }],
                                    securityContext: RESTRICTED_CONTAINER,
                                    resources: RESOURCES,
                                },
                            ],
                            volumes: [...(input.volumes ?? []), { name: scratch.name, emptyDir: {} }],
                        },
                    },
                },
            },
        },
    };
}

/** The writer's service account, annotated with its identity's client id for the webhook. */
export function backupServiceAccount(
    name: string,
    namespace: pulumi.Input<string>,
    labels: Record<string, string>,
    clientId: pulumi.Input<string>,
) {
    return {
        metadata: {
            name,
            namespace,
            labels,
            annotations: { [WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION]: clientId },
        },
        // Nothing else of the cluster's API: the pods do not even mount its token.
        automountServiceAccountToken: false,
    };
}
