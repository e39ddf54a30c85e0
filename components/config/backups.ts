/**
 * Scheduled exports to Azure Blob Storage: where they go (`backups`) and each schedule (`apps[].backup`,
 * `redis.backup`). The platform grants write access by workload identity only: no storage key is configured.
 */
import type { z } from "zod";
import { PINNED_IMAGE } from "./names";
import { integer, section, text } from "./fields";

/** A storage account's resource id (its name: 3-24 lowercase letters and digits). */
const STORAGE_ACCOUNT_ID =
    /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Storage\/storageAccounts\/[a-z0-9]{3,24}$/;

/** A blob container name: 3-63 lowercase letters, digits and single dashes, a letter or digit at both ends. */
const CONTAINER_NAME = /^[a-z0-9](?!.*--)[-a-z0-9]{1,61}[a-z0-9]$/;

export const backupsSchema = section({
    storageAccountId: text({ pattern: STORAGE_ACCOUNT_ID, allowed: "a storage account resource id" }).describe(
        "Resource id of the storage account (must exist; soft delete or versioning on it keeps what an export overwrites or deletes).",
    ),
    container: text({ pattern: CONTAINER_NAME, allowed: "a blob container name" }).describe(
        "Blob container of the exports (must exist): `postgres/<app>/...` and `redis/<group>/...` in it.",
    ),
    uploaderImage: text({ pattern: PINNED_IMAGE, allowed: "a pinned image reference (no :latest)" })
        .default("curlimages/curl:8.11.1")
        .describe("Image of the upload container (curl and a POSIX shell)."),
});

/** Where scheduled exports go. */
export type BackupsConfig = z.output<typeof backupsSchema>;

/** One scheduled export: when, and how many are kept. */
export const backupScheduleSchema = section({
    schedule: text({ pattern: /^(\S+\s+){4}\S+$/, allowed: "a 5-field cron expression" }).describe(
        "When (cron, the cluster's time zone, UTC on AKS).",
    ),
    retention: integer(1, 365).default(7).describe("Exports kept; older ones are deleted after each upload."),
});

export type BackupSchedule = z.output<typeof backupScheduleSchema>;
