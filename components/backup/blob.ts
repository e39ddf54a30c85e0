/**
 * Where scheduled exports go in Azure Blob Storage and who may write there (pure). Each writer is a managed identity
 * with "Storage Blob Data Contributor" on the one container, narrowed by a role assignment condition to its own path
 * prefix: it can read, write, list and delete nothing outside it (learn.microsoft.com, "Example Azure role assignment
 * conditions for Blob Storage": blobs:path StringStartsWith, and the request's blobs:prefix for List Blobs).
 */
import type { BackupsConfig } from "../config/backups";

/** Built-in role "Storage Blob Data Contributor" (the same GUID in every tenant). */
export const STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";

/** The service account a backup CronJob runs as, federated with its writer identity; no other pod of ours uses it. */
export const BACKUP_SERVICE_ACCOUNT = "data-platform-backup";

/** Pod label the AKS workload identity webhook looks for to project the token and set `AZURE_*` (azure-workload-identity docs). */
export const WORKLOAD_IDENTITY_USE_LABEL = "azure.workload.identity/use";
/** Service account annotation naming the identity's client id (same docs). */
export const WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id";

/** The path prefix of one application's PostgreSQL exports. */
export function postgresExportPrefix(app: string): string {
    return `postgres/${app}/`;
}

/** The path prefix of one Redis group's RDB copies. */
export function redisBackupPrefix(group: string): string {
    return `redis/${group}/`;
}

/** The container's ARM id: the role assignments' scope. */
export function containerScope(backups: Pick<BackupsConfig, "storageAccountId" | "container">): string {
    return `${backups.storageAccountId}/blobServices/default/containers/${backups.container}`;
}

/** `https://<account>.blob.core.windows.net`, the account's Blob endpoint in Azure's public cloud. */
export function blobEndpoint(backups: Pick<BackupsConfig, "storageAccountId">): string {
    return `https://${backups.storageAccountId.split("/").pop()}.blob.core.windows.net`;
}

const BLOBS = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs";

/**
 * The role assignment condition (version 2.0) that keeps every data action of the role under `prefix`: reading,
 * writing, adding blocks, moving and deleting a blob whose path starts with it, and listing only with a request prefix
 * that does. Without it the identity would reach every other writer's exports in the container.
 */
export function prefixCondition(prefix: string): string {
    if (!/^[a-z0-9][-a-z0-9/]*\/$/.test(prefix)) {
        throw new Error(`blob prefix ${JSON.stringify(prefix)} must be lower-case words separated and ended by /`);
    }
    const on = (action: string) => `!(ActionMatches{'${BLOBS}/${action}'})`;
    return [
        "(",
        ` (${[`!(ActionMatches{'${BLOBS}/read'} AND NOT SubOperationMatches{'Blob.List'})`, ...["write", "add/action", "move/action", "delete"].map(on)].join(" AND ")})`,
        " OR",
        ` (@Resource[${BLOBS}:path] StringStartsWith '${prefix}')`,
        ")",
        "AND",
        "(",
        ` (!(ActionMatches{'${BLOBS}/read'} AND SubOperationMatches{'Blob.List'}))`,
        " OR",
        ` (@Request[${BLOBS}:prefix] StringStartsWith '${prefix}')`,
        ")",
    ].join("\n");
}
