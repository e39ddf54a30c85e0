/**
 * The plan of a point-in-time restore of one application (`npm run restore`), per mode: the NEW server restored at t
 * (Azure Flexible Server `createMode: PointInTimeRestore`; StackGres SGCluster `initialData.restore`), the
 * per-application copy (`appRestoreSteps`, the steps the drill runs) and the cleanup. The live server is never an
 * input of it: nothing here changes the program's resources.
 */
import type { ServerArgs } from "@pulumi/azure-native/dbforpostgresql";
import type { PlatformConfig, ServerConfig } from "../config/types";
import { postgresNames, postgresServerConfig, postgresServerOf } from "./servers";
import { credentialSecretName, prefixedSecretName } from "../vault/secretNames";
import { AZURE_POSTGRES_PORT, serverBackup, serverName, serverNetwork } from "./azureSpec";
import { RestoreStep, appRestoreCleanup, appRestoreSteps } from "./restore";
import { appLogins } from "./sql";
import { STACKGRES_DIRECT_PORT, STACKGRES_SUPERUSER, stackGresHost, stackGresManifests } from "./stackgresSpec";

/** The type of the restored server in mode azure (`RestorePlan.restoredServer.kind`); otherwise an SGCluster. */
export const AZURE_SERVER_TYPE = "azure-native:dbforpostgresql:Server";

/** ISO 8601 with a zone (`Z` or `±hh:mm`), seconds and fractions optional: what `--time` accepts. */
const ZONED_ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
export const RESTORE_TIME_ALLOWED =
    "an ISO 8601 time with its zone, e.g. 2026-12-06T14:30:00Z or 2026-12-06T15:30+01:00";

/** A real day: `Date` rolls 2026-02-30 over to March 2 instead of refusing it. */
function isCalendarDate(yyyyMmDd: string): boolean {
    const [y, m, d] = yyyyMmDd.split("-").map(Number);
    const day = new Date(Date.UTC(y, m - 1, d));
    return day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d;
}

/** The restore time as typed, or an error naming `flag`, the value and what is allowed. */
export function parseRestoreTime(value: string, flag: string, now: Date = new Date()): Date {
    const t = new Date(value);
    if (!ZONED_ISO_8601.test(value) || Number.isNaN(t.getTime()) || !isCalendarDate(value.slice(0, 10))) {
        throw new Error(`${flag}: ${JSON.stringify(value)} is not ${RESTORE_TIME_ALLOWED}`);
    }
    if (t.getTime() > now.getTime()) {
        throw new Error(`${flag}: ${JSON.stringify(value)} is in the future; allowed: a time before now`);
    }
    return t;
}

/** Where the copy connects to one server: host and port, as the admin (password from `passwordFrom`). */
export interface PlanEndpoint {
    readonly host: string;
    readonly port: number;
}

export interface RestorePlan {
    readonly mode: ServerConfig["postgres"]["mode"];
    readonly app: string;
    readonly time: string;
    /** How to create the restored server: an azure-native `dbforpostgresql.Server`'s inputs, or an SGCluster. */
    readonly restoredServer:
        | { readonly kind: typeof AZURE_SERVER_TYPE; readonly inputs: ServerArgs }
        | { readonly kind: "SGCluster"; readonly inputs: Record<string, unknown> };
    /** Commands to run before creating it (finding the base backup, StackGres). */
    readonly before: readonly string[];
    readonly adminLogin: string;
    /** Where the admin password is. */
    readonly passwordFrom: string;
    readonly endpoints: Readonly<Record<"restored" | "live", PlanEndpoint>>;
    readonly copy: readonly RestoreStep[];
    /** Dropping the replaced database, once the application is checked. */
    readonly dropReplaced: RestoreStep;
    /** Removing the restored server. */
    readonly cleanup: readonly string[];
}

/** `yyyymmddhhmm` of t (UTC): names the restored server after the time it holds. */
function stamp(t: Date): string {
    return t.toISOString().slice(0, 16).replace(/[-T:]/g, "");
}

/** Flexible Server names: 3-63 lowercase letters, digits and hyphens (Azure's naming rules for Microsoft.DBforPostgreSQL). */
const AZURE_SERVER_NAME_MAX = 63;

/** The restored server's name: the live one's (cut to fit) with `-r<yyyymmddhhmm>`. */
export function restoredServerName(live: string, t: Date): string {
    const suffix = `-r${stamp(t)}`;
    return `${live.slice(0, AZURE_SERVER_NAME_MAX - suffix.length).replace(/-+$/, "")}${suffix}`;
}

/** The whole plan for application `appName` of the stack, restored to `t`. */
export function restorePlan(stack: PlatformConfig, appName: string, t: Date, subscriptionId: string): RestorePlan {
    const app = stack.apps.find((a) => a.name === appName);
    if (app === undefined) {
        throw new Error(
            `--app: ${JSON.stringify(appName)} is not an application of stack ${stack.stack}; ` +
                `allowed: ${stack.apps.map((a) => a.name).join(", ")}`,
        );
    }
    // The server that holds its database, and the applications beside it there.
    const config = postgresServerConfig(stack, postgresServerOf(app));
    const login = appLogins(config.apps, config.keyVault.rotations)[config.apps.indexOf(app)];
    const dumpFile = `/tmp/${login.database}.dump`;
    const copy = appRestoreSteps(login, dumpFile);
    const passwordFrom =
        `Key Vault secret ${prefixedSecretName(config.keyVault.secretPrefix ?? "", credentialSecretName(postgresNames(config.postgres).credentials.admin))} ` +
        "(the restored server keeps the source's logins and passwords as of t)";
    const common = { app: appName, time: t.toISOString(), passwordFrom, copy, dropReplaced: appRestoreCleanup(login) };
    return config.postgres.mode === "azure"
        ? { ...azurePlan(config, t, subscriptionId), ...common, cleanup: azureCleanup(config, t) }
        : { ...stackGresPlan(config, t), ...common, cleanup: stackGresCleanup(config) };
}

function azurePlan(config: ServerConfig, t: Date, subscriptionId: string) {
    const live = serverName(config);
    const restored = restoredServerName(live, t);
    const rg = config.azure.resourceGroupName;
    return {
        mode: "azure" as const,
        restoredServer: {
            kind: AZURE_SERVER_TYPE as typeof AZURE_SERVER_TYPE,
            // Learn "Point-in-time restore of a Flexible Server" (REST `createMode: PointInTimeRestore`): sku, storage,
            // version, logins and backups come from the source; location and network must be given. The backup
            // settings are stated as Azure copies them ("created with the source server's configuration for ...
            // backup retention period, and backup redundancy option", MicrosoftDocs/azure-docs flexible-server
            // concepts-backup-restore.md), so the policy pack sees what the server will have. High availability is
            // not copied (same page, "Post-restore tasks"): the restored server serves no application.
            inputs: {
                resourceGroupName: rg,
                serverName: restored,
                location: config.azure.location,
                tags: config.azure.tags,
                createMode: "PointInTimeRestore",
                sourceServerResourceId:
                    `/subscriptions/${subscriptionId}/resourceGroups/${rg}` +
                    `/providers/Microsoft.DBforPostgreSQL/flexibleServers/${live}`,
                pointInTimeUTC: t.toISOString(),
                backup: serverBackup(config),
                network: serverNetwork(config),
            } satisfies ServerArgs,
        },
        before: [],
        adminLogin: config.postgres.azure.adminLogin,
        endpoints: {
            restored: { host: `${restored}.postgres.database.azure.com`, port: AZURE_POSTGRES_PORT },
            live: { host: `${live}.postgres.database.azure.com`, port: AZURE_POSTGRES_PORT },
        },
    };
}

/**
 * A restored server created through the program (`RestoredServer`) is retained on delete and, in production,
 * protected: leaving the program deletes nothing, so the delete below is the operator's in both cases.
 */
const PROGRAM_CLEANUP =
    "created through the program (RestoredServer): remove it there first (protected: pulumi state unprotect its URN); " +
    "it is retained, so that deletes nothing";

function azureCleanup(config: ServerConfig, t: Date): string[] {
    const restored = restoredServerName(serverName(config), t);
    return [
        `az postgres flexible-server delete --resource-group ${config.azure.resourceGroupName} --name ${restored} --yes ` +
            `(${PROGRAM_CLEANUP}); it bills until deleted`,
    ];
}

/** Where the restored cluster archives its WAL and base backups: its own path per restore time. */
export function restoredBackupPath(namespace: string, cluster: string, t: Date): string {
    return `sgbackups.stackgres.io/${namespace}/${cluster}/${stamp(t)}`;
}

/** The restored cluster's name. */
function restoredClusterName(config: ServerConfig): string {
    return `${config.postgres.stackgres.clusterName}-pitr`;
}

function stackGresPlan(config: ServerConfig, t: Date) {
    const sg = config.postgres.stackgres;
    if (!sg.backups) {
        throw new Error(
            `stack ${config.stack} has no backups (postgres.stackgres.backups unset): there is nothing to restore from. ` +
                "Configure postgres.stackgres.backups before the day you need them.",
        );
    }
    const ns = config.cluster.platformNamespace;
    const live = stackGresManifests(config).find((m) => m.kind === "SGCluster");
    if (!live) {
        throw new Error("no SGCluster rendered for a stackgres stack");
    }
    const name = restoredClusterName(config);
    const { configurations } = live.spec as { configurations: { backups: Array<Record<string, unknown>> } };
    // Backed up like the live cluster (in production it holds the only copy of the data at t until the copy is
    // checked; policy stackgres-backups-in-production), but under a path of its own: WAL-G archives a cluster's WAL
    // under its backup path, and the operator's default path is made of the namespace, the cluster name and the major
    // (StackGres docs, administration/backups), so a re-created `<cluster>-pitr` would reuse an earlier restore's path
    // (the CRD's `path` warns of the "mixed WAL history"). One path per restore time, never the live cluster's.
    const backups = configurations.backups.map((b) => ({ ...b, path: restoredBackupPath(ns, name, t) }));
    return {
        mode: "stackgres" as const,
        restoredServer: {
            kind: "SGCluster" as const,
            inputs: {
                ...live,
                metadata: { ...live.metadata, name },
                spec: {
                    ...live.spec,
                    instances: 1,
                    configurations: { ...configurations, backups },
                    initialData: {
                        restore: {
                            fromBackup: {
                                name: "BACKUP",
                                pointInTimeRecovery: { restoreToTimestamp: t.toISOString() },
                            },
                        },
                    },
                },
            },
        },
        before: [
            `kubectl -n ${ns} get sgbackup --sort-by=.status.process.timing.end ` +
                "-o custom-columns=NAME:.metadata.name,STATUS:.status.process.status,END:.status.process.timing.end",
            `BACKUP: the last Completed SGBackup whose END is before ${t.toISOString()} (WAL from it to t is replayed)`,
        ],
        adminLogin: STACKGRES_SUPERUSER,
        // The direct port: pg_dump and ALTER DATABASE need a session of their own, not a PgBouncer transaction.
        endpoints: {
            restored: { host: stackGresHost(name, ns), port: STACKGRES_DIRECT_PORT },
            live: { host: stackGresHost(sg.clusterName, ns), port: STACKGRES_DIRECT_PORT },
        },
    };
}

function stackGresCleanup(config: ServerConfig): string[] {
    return [
        `kubectl -n ${config.cluster.platformNamespace} delete sgcluster ${restoredClusterName(config)} ` +
            `(${PROGRAM_CLEANUP}; then check that its PersistentVolumeClaims are gone; its backups stay under ` +
            "its own path in the object storage until deleted there)",
    ];
}

/** A step as the operator types it, each argument quoted when the shell would split or expand it. */
export function argvLine(argv: readonly string[]): string {
    return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}

/** The plan as printed by `npm run restore`. */
export function renderRestorePlan(plan: RestorePlan): string {
    const env = (on: "restored" | "live") =>
        `PGHOST=${plan.endpoints[on].host} PGPORT=${plan.endpoints[on].port} PGUSER=${plan.adminLogin} PGSSLMODE=require`;
    const step = (n: string, s: RestoreStep) => [`# ${n} ${s.title}`, `${env(s.on)} ${argvLine(s.argv)}`];
    const lines = [
        `# Restore application ${plan.app} to ${plan.time} (${plan.mode}); every other application stays untouched.`,
        "",
        ...(plan.before.length > 0 ? ["## 0. Find the base backup", ...plan.before.map((l) => `  ${l}`), ""] : []),
        `## 1. Create the restored server (a NEW ${plan.restoredServer.kind}; the live server is not changed),`,
        "##    by hand or through the program: new RestoredServer(name, { plan, protect }) beside buildPlatform",
        JSON.stringify(plan.restoredServer.inputs, null, 2),
        "",
        "## 2. Copy the application's database back (from a pod that reaches both servers, PostgreSQL client tools of",
        `##    the server's major; PGPASSWORD: ${plan.passwordFrom})`,
        ...plan.copy.flatMap((s, i) => step(`2.${i + 1}`, s)),
        "",
        "## 3. Clean up",
        ...step("3.1", plan.dropReplaced),
        ...plan.cleanup.map((l, i) => `# 3.${i + 2} ${l}`),
    ];
    return `${lines.join("\n")}\n`;
}
