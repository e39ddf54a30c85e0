/**
 * Pure parts of the Azure Flexible Server implementation: names, server parameters and the login Job's
 * Kubernetes objects (as plain objects, given the already-resolved host and password digests).
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import type { PlatformConfig } from "../config/types";
import { PLATFORM_NAME, recommendedLabels } from "../labels";
import { ADMIN_SECRET_KEY, AppLogin, loginSecretKey, renderAzureLoginSql, renderLoginEntrypoint } from "./sql";

export const AZURE_POSTGRES_PORT = 5432;

/**
 * The root CAs Flexible Server certificates chain to, as one PEM bundle (`certs/azure-postgres-roots.pem`):
 * DigiCert Global Root G2 and Microsoft RSA Root Certificate Authority 2017, the roots Microsoft tells clients to
 * trust for `verify-ca`/`verify-full` (learn.microsoft.com/azure/postgresql/flexible-server/security-tls). Roots only:
 * the intermediates rotate without notice (the 2025-2026 rotation kept these roots). Taken from Debian's
 * ca-certificates; tests check each one's SHA-256 fingerprint.
 */
export function azureRootCertificates(): string {
    return fs.readFileSync(path.join(__dirname, "certs", "azure-postgres-roots.pem"), "utf8");
}
/** The built-in PgBouncer listens on the same host. */
export const AZURE_PGBOUNCER_PORT = 6432;

/** Server name: configured, or derived from project, stack and resource group (stable, globally unique enough). */
export function serverName(config: PlatformConfig): string {
    if (config.postgres.azure.serverName) {
        return config.postgres.azure.serverName;
    }
    const hash = crypto
        .createHash("sha256")
        .update(`${config.project}/${config.stack}/${config.azure.resourceGroupName}`)
        .digest("hex")
        .slice(0, 6);
    const stack =
        config.stack
            .toLowerCase()
            .replace(/[^a-z0-9]+/g, "-")
            .replace(/^-+|-+$/g, "")
            .slice(0, 40) || "stack";
    return `dp-${stack}-pg-${hash}`;
}

/**
 * Server parameters, in the order they are applied (one at a time: parallel PUTs fail with ServerBusy).
 * `max_connections` is static: Azure applies it at the next restart.
 */
export function serverParameters(config: PlatformConfig): Array<{ name: string; value: string }> {
    return [
        { name: "require_secure_transport", value: "on" },
        { name: "ssl_min_protocol_version", value: "TLSv1.2" },
        { name: "max_connections", value: String(config.postgres.maxConnections) },
        ...(config.postgres.azure.pgBouncer ? [{ name: "pgbouncer.enabled", value: "true" }] : []),
    ];
}

/** Names of the login Job's objects in the platform namespace. */
export const LOGIN_JOB = {
    configMap: "postgres-logins",
    secret: "postgres-logins",
    jobPrefix: "postgres-logins",
    sqlFile: "logins.sql",
    entrypointFile: "apply.sh",
    /** uid/gid of `postgres` in the official postgres images. */
    uid: 70,
} as const;

const MOUNT = { job: "/etc/postgres-logins/job", secrets: "/etc/postgres-logins/secrets" };

/** The ConfigMap data: SQL and entrypoint, no password. */
export function loginJobFiles(logins: readonly AppLogin[]): Record<string, string> {
    return {
        [LOGIN_JOB.sqlFile]: renderAzureLoginSql(logins),
        [LOGIN_JOB.entrypointFile]: renderLoginEntrypoint(logins),
    };
}

/** Keys of the Job's synced Secret: the admin's and each application's password. */
export function loginJobSecretKeys(logins: readonly AppLogin[]): string[] {
    return [ADMIN_SECRET_KEY, ...logins.map(loginSecretKey)];
}

export interface LoginJobInput {
    readonly logins: readonly AppLogin[];
    readonly image: string;
    readonly host: string;
    readonly adminLogin: string;
    /** `EXPECTED_DIGESTS`: key=digest of each password the Job must see. */
    readonly expectedDigests: string;
    /** How long the Job waits for the synced Secret to catch up. */
    readonly waitSeconds: number;
}

/**
 * The Job's name changes whenever anything it runs or waits for changes (SQL, image, host, password digests):
 * a finished Job is immutable and never runs again, a Job under a new name does.
 */
export function loginJobName(input: LoginJobInput): string {
    const hash = crypto
        .createHash("sha256")
        .update(
            JSON.stringify([
                loginJobFiles(input.logins),
                input.image,
                input.host,
                input.adminLogin,
                input.expectedDigests,
            ]),
        )
        .digest("hex");
    return `${LOGIN_JOB.jobPrefix}-${hash.slice(0, 10)}`;
}

/** `spec` of the login Job (restricted Pod Security; passwords only as mounted Secret files). */
export function loginJobSpec(input: LoginJobInput) {
    return {
        backoffLimit: 4,
        activeDeadlineSeconds: input.waitSeconds + 600,
        template: {
            metadata: {
                labels: recommendedLabels({ name: LOGIN_JOB.jobPrefix, partOf: PLATFORM_NAME }),
            },
            spec: {
                restartPolicy: "Never",
                automountServiceAccountToken: false,
                securityContext: {
                    runAsNonRoot: true,
                    runAsUser: LOGIN_JOB.uid,
                    runAsGroup: LOGIN_JOB.uid,
                    fsGroup: LOGIN_JOB.uid,
                    seccompProfile: { type: "RuntimeDefault" },
                },
                containers: [
                    {
                        name: "psql",
                        image: input.image,
                        command: ["/bin/sh", `${MOUNT.job}/${LOGIN_JOB.entrypointFile}`],
                        env: [
                            { name: "SECRETS_DIR", value: MOUNT.secrets },
                            { name: "SQL_FILE", value: `${MOUNT.job}/${LOGIN_JOB.sqlFile}` },
                            { name: "EXPECTED_DIGESTS", value: input.expectedDigests },
                            { name: "WAIT_SECONDS", value: String(input.waitSeconds) },
                            { name: "PGHOST", value: input.host },
                            // Straight to PostgreSQL, not PgBouncer: DDL and role changes need a real session.
                            { name: "PGPORT", value: String(AZURE_POSTGRES_PORT) },
                            { name: "PGUSER", value: input.adminLogin },
                            { name: "PGDATABASE", value: "postgres" },
                            { name: "PGSSLMODE", value: "require" },
                            { name: "PGCONNECT_TIMEOUT", value: "15" },
                            { name: "PGAPPNAME", value: LOGIN_JOB.jobPrefix },
                        ],
                        securityContext: {
                            allowPrivilegeEscalation: false,
                            readOnlyRootFilesystem: true,
                            capabilities: { drop: ["ALL"] },
                        },
                        resources: {
                            requests: { cpu: "50m", memory: "64Mi" },
                            limits: { cpu: "500m", memory: "128Mi" },
                        },
                        volumeMounts: [
                            { name: "job", mountPath: MOUNT.job, readOnly: true },
                            { name: "secrets", mountPath: MOUNT.secrets, readOnly: true },
                        ],
                    },
                ],
                volumes: [
                    { name: "job", configMap: { name: LOGIN_JOB.configMap } },
                    // A Secret volume (not env): kubelet refreshes it, so the entrypoint sees External Secrets' update.
                    { name: "secrets", secret: { secretName: LOGIN_JOB.secret, defaultMode: 0o440 } },
                ],
            },
        },
    };
}
