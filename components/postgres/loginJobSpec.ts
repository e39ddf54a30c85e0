/**
 * Pure parts of the login Job (both modes): its files, name and `spec`, as plain objects given the resolved host and
 * the expected password digests.
 */
import * as crypto from "crypto";
import { PLATFORM_NAME, recommendedLabels } from "../labels";
import {
    ADMIN_SECRET_KEY,
    AppLogin,
    LoginSqlOptions,
    jobLogins,
    loginSecretKey,
    renderLoginEntrypoint,
    renderLoginSql,
    renderTenantLoginEntrypoint,
} from "./sql";
import { RESTRICTED_CONTAINER, restrictedPod } from "../podSecurity";

/**
 * The login Job's files and user. Its ConfigMap, synced Secret, service account (no other pod runs as it, and it holds
 * no API right) and name prefix are all the server's `postgresNames(...).logins`.
 */
export const LOGIN_JOB = {
    sqlFile: "logins.sql",
    entrypointFile: "apply.sh",
    /** A tenant stack's Job starts here (`renderTenantLoginEntrypoint`), which runs `entrypointFile`. */
    tenantEntrypointFile: "tenant-apply.sh",
    /** The CA(s) the server's certificate chains to, when known: the Job then connects with `verify-full`. */
    caFile: "server-ca.pem",
    /** uid/gid of `postgres` in the official postgres images. */
    uid: 70,
} as const;

/**
 * How long the Job waits for its synced Secret and for the server. Not tied to External Secrets' refresh interval: the
 * ExternalSecret carries the versions of the vault secrets it reads, so it re-syncs as soon as one changes, and the
 * kubelet refreshes a mounted Secret within its sync period (1 min by default). A new StackGres cluster takes minutes
 * to accept connections.
 */
export const LOGIN_JOB_WAIT_SECONDS = 600;

const MOUNT = { job: "/etc/postgres-logins/job", secrets: "/etc/postgres-logins/secrets" };

/**
 * The ConfigMap data: SQL and entrypoint, no password, and the server's CA(s) when known (`postgresCaCert`: Azure's
 * public roots, or the issuer's CA of `postgres.stackgres.tls`).
 */
export function loginJobFiles(
    logins: readonly AppLogin[],
    options: LoginSqlOptions,
    caCert: string | undefined,
): Record<string, string> {
    return {
        [LOGIN_JOB.sqlFile]: renderLoginSql(logins, options),
        [LOGIN_JOB.entrypointFile]: renderLoginEntrypoint(logins, options),
        ...(options.tenant !== undefined
            ? { [LOGIN_JOB.tenantEntrypointFile]: renderTenantLoginEntrypoint(LOGIN_JOB.entrypointFile) }
            : {}),
        ...(caCert !== undefined ? { [LOGIN_JOB.caFile]: caCert } : {}),
    };
}

/**
 * libpq's TLS settings for the Job: with the server's CA in its files, `verify-full` (the certificate must chain to
 * that CA and name the host the Job connects to), else `require`, which encrypts but accepts any certificate (libpq
 * docs, "SSL Support", table "SSL Mode Descriptions"; Microsoft recommends verification against its roots for
 * Flexible Server: learn.microsoft.com azure/postgresql/flexible-server/security-tls-how-to-connect).
 */
export function loginJobTls(files: Readonly<Record<string, string>>): Array<{ name: string; value: string }> {
    return LOGIN_JOB.caFile in files
        ? [
              { name: "PGSSLMODE", value: "verify-full" },
              { name: "PGSSLROOTCERT", value: `${MOUNT.job}/${LOGIN_JOB.caFile}` },
          ]
        : [{ name: "PGSSLMODE", value: "require" }];
}

/** Keys of the Job's synced Secret: the admin's password and every login's. */
export function loginJobSecretKeys(
    logins: readonly AppLogin[],
    options: Pick<LoginSqlOptions, "monitor"> = {},
): string[] {
    return [ADMIN_SECRET_KEY, ...jobLogins(logins, options).map(loginSecretKey)];
}

/** What the Job runs and where; `S` is the type of the host and digests (strings, or Outputs when deployed). */
export interface LoginJobInput<S = string> {
    /** The ConfigMap data (`loginJobFiles`). */
    readonly files: Readonly<Record<string, string>>;
    readonly image: string;
    readonly host: S;
    /** PostgreSQL itself, not a pooler: DDL and role changes need a real session. */
    readonly port: number;
    /** The Azure admin login or the StackGres superuser. */
    readonly adminLogin: string;
    /**
     * `EXPECTED_DIGESTS`: key=digest of each password the Job must see (keyed by the admin password); a tenant's Job
     * (its files hold `LOGIN_JOB.tenantEntrypointFile`): `TENANT_EXPECTED_DIGESTS`, keyed by its tenant key.
     */
    readonly expectedDigests: S;
}

/**
 * The Job's name changes whenever anything it runs or waits for changes (SQL, image, host, password digests):
 * a finished Job is immutable and never runs again, a Job under a new name does.
 */
export function loginJobName(input: LoginJobInput, logins: string): string {
    const hash = crypto
        .createHash("sha256")
        .update(
            JSON.stringify([input.files, input.image, input.host, input.port, input.adminLogin, input.expectedDigests]),
        )
        .digest("hex");
    return `${logins}-${hash.slice(0, 10)}`;
}

/**
 * The Job's service account. No Role binds it: the kubelet mounts the Secret volume whatever the pod's API rights, and
 * the pod gets no token, so a grant to it would be a right nothing uses (and one a mounted token would then carry).
 */
export function loginJobServiceAccount<S>(namespace: S, logins: string) {
    return {
        metadata: {
            name: logins,
            namespace,
            labels: recommendedLabels({ name: logins, partOf: PLATFORM_NAME }),
        },
        automountServiceAccountToken: false,
    };
}

/** `spec` of the login Job (restricted Pod Security; passwords only as mounted Secret files). */
export function loginJobSpec<S>(input: LoginJobInput<S>, logins: string) {
    const tenant = LOGIN_JOB.tenantEntrypointFile in input.files;
    return {
        backoffLimit: 4,
        activeDeadlineSeconds: LOGIN_JOB_WAIT_SECONDS + 600,
        template: {
            metadata: {
                labels: recommendedLabels({ name: logins, partOf: PLATFORM_NAME }),
            },
            spec: {
                restartPolicy: "Never",
                serviceAccountName: logins,
                automountServiceAccountToken: false,
                securityContext: restrictedPod(LOGIN_JOB.uid),
                containers: [
                    {
                        name: "psql",
                        image: input.image,
                        command: [
                            "/bin/sh",
                            `${MOUNT.job}/${tenant ? LOGIN_JOB.tenantEntrypointFile : LOGIN_JOB.entrypointFile}`,
                        ],
                        env: [
                            { name: "SECRETS_DIR", value: MOUNT.secrets },
                            { name: "SQL_FILE", value: `${MOUNT.job}/${LOGIN_JOB.sqlFile}` },
                            {
                                name: tenant ? "TENANT_EXPECTED_DIGESTS" : "EXPECTED_DIGESTS",
                                value: input.expectedDigests,
                            },
                            { name: "WAIT_SECONDS", value: String(LOGIN_JOB_WAIT_SECONDS) },
                            { name: "PGHOST", value: input.host },
                            { name: "PGPORT", value: String(input.port) },
                            { name: "PGUSER", value: input.adminLogin },
                            { name: "PGDATABASE", value: "postgres" },
                            ...loginJobTls(input.files),
                            { name: "PGCONNECT_TIMEOUT", value: "15" },
                            { name: "PGAPPNAME", value: logins },
                        ],
                        securityContext: RESTRICTED_CONTAINER,
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
                    { name: "job", configMap: { name: logins } },
                    // A Secret volume (not env): kubelet refreshes it, so the entrypoint sees External Secrets' update.
                    { name: "secrets", secret: { secretName: logins, defaultMode: 0o440 } },
                ],
            },
        },
    };
}
