/**
 * The StackGres custom resources as plain objects (stackgres.io 1.18 CRDs in shared/schemas/stackgres).
 * Pure: tests validate exactly these objects against the upstream CRDs, and the component deploys them.
 * None of them contains a password: credentials are referenced through a Secret. Application logins and databases are
 * not here: the login Job creates them idempotently (an SGScript entry runs once per version over JDBC, where no psql
 * meta-command works, so its `CREATE DATABASE` fails on a cluster restored with the database present).
 */
import { stackGresExtensions } from "./extensions";
import { PLATFORM_NAME, POSTGRES_SERVER_ANNOTATION, recommendedLabels } from "../labels";
import { clientPeers } from "../clientPeers";
import { postgresNames } from "./servers";
import { renderedPoolerSettings } from "./pooler";
import type { ServerConfig } from "../config/types";
import type { AppConfig } from "../config/platform";
import { appLogins } from "./sql";
import { LIMITS } from "../documentedLimits";

export const STACKGRES_API_VERSION = "stackgres.io/v1";
/** SGObjectStorage exists only as v1beta1. */
export const STACKGRES_OBJECT_STORAGE_API_VERSION = "stackgres.io/v1beta1";
export const STACKGRES_CHART = "stackgres-operator";
export const STACKGRES_CHART_REPO = "https://stackgres.io/downloads/stackgres-k8s/stackgres/helm/";

/** Port of the `<cluster>` Service that goes straight to PostgreSQL (its PgBouncer's: pooler.ts). */
export const STACKGRES_DIRECT_PORT = 5433;
/**
 * The container ports those Service ports target, by name (StackGres PatroniServices: targetPort
 * `EnvoyUtil.POSTGRES_PORT_NAME` = "pgport", PgBouncer's 6432, and `POSTGRES_REPLICATION_PORT_NAME` = "pgreplication",
 * PostgreSQL's 5432). A NetworkPolicy matches pod ports, never Service ports.
 */
export const STACKGRES_POD_PORT_NAMES = ["pgport", "pgreplication"] as const;

/** Keys of the credentials Secret (`spec.configurations.credentials`). */
export const CREDENTIAL_KEYS = {
    superuser: "superuser-password",
    replication: "replication-password",
    authenticator: "authenticator-password",
} as const;

/** Object names, all derived from the cluster name (never from anything that changes with unrelated config). */
export function stackGresNames(clusterName: string) {
    return {
        cluster: clusterName,
        profile: `${clusterName}-profile`,
        postgresConfig: `${clusterName}-postgres`,
        poolingConfig: `${clusterName}-pooling`,
        /** Our own Secret for the system roles; not `<cluster>`, which the operator owns and rewrites. */
        credentialsSecret: `${clusterName}-credentials`,
        objectStorage: `${clusterName}-backups`,
        backupSecret: `${clusterName}-backup-storage`,
        /** cert-manager Certificate and its Secret (`postgres.stackgres.tls`). */
        tls: `${clusterName}-tls`,
    };
}

export type StackGresNames = ReturnType<typeof stackGresNames>;

/**
 * What the operator names after the cluster (StackGres 1.18.6 StackGresUtil.java: `cronJobBackupName`,
 * `statefulSetPodDataPersistentVolumeClaimName`): the scheduled backup's CronJob, whose Job exits non-zero when a
 * backup fails (templates/create-backup.sh), and each instance's data volume claim (a regular expression).
 */
export function stackGresOperatorNames(clusterName: string) {
    return {
        backupCronJob: `${clusterName}-backup`,
        dataClaims: `${clusterName}-data-${clusterName}-[0-9]+`,
    };
}

/** Key Vault secret holding the backup storage account's name (so one synced Secret carries both selectors). */
export const BACKUP_ACCOUNT_VAULT_SECRET = "pg-backup-storage-account";

/** Keys of the backup Secret. */
export const BACKUP_KEYS = { storageAccount: "storageAccount", accessKey: "accessKey" } as const;

/** The cluster's Service host: the `<cluster>` Service reaches the primary. */
export function stackGresHost(clusterName: string, namespace: string): string {
    return `${clusterName}.${namespace}.svc.cluster.local`;
}

/** Keys cert-manager writes into a Certificate's Secret. */
export const CERTIFICATE_SECRET_KEYS = { cert: "tls.crt", key: "tls.key" } as const;

/**
 * cert-manager Certificate for the cluster's Services (`<cluster>` reaches the primary, `<cluster>-replicas` the
 * replicas), each by every name a pod may use, so `verify-full` holds for whichever the application is given.
 */
export function stackGresCertificate(config: ServerConfig) {
    const sg = config.postgres.stackgres;
    const tls = sg.tls;
    if (!tls) {
        throw new Error("postgres.stackgres.tls is not set: the operator's self-signed certificate is used");
    }
    const ns = config.cluster.platformNamespace;
    const n = stackGresNames(sg.clusterName);
    return {
        apiVersion: "cert-manager.io/v1",
        kind: "Certificate",
        metadata: { name: n.tls, namespace: ns, labels: LABELS },
        spec: {
            secretName: n.tls,
            issuerRef: { name: tls.issuerName, kind: tls.issuerKind, group: "cert-manager.io" },
            dnsNames: [n.cluster, `${n.cluster}-replicas`].flatMap((svc) => [
                stackGresHost(svc, ns),
                `${svc}.${ns}.svc`,
                `${svc}.${ns}`,
                svc,
            ]),
            usages: ["server auth", "digital signature", "key encipherment"],
            privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
            duration: "2160h",
            renewBefore: "360h",
        },
    };
}

interface Manifest {
    readonly apiVersion: string;
    readonly kind: string;
    readonly metadata: { readonly name: string; readonly namespace: string; readonly labels: Record<string, string> };
    readonly spec: Record<string, unknown>;
}

const LABELS = recommendedLabels({ partOf: PLATFORM_NAME, component: "postgres" });

function manifest(
    kind: string,
    name: string,
    namespace: string,
    spec: Record<string, unknown>,
    apiVersion = STACKGRES_API_VERSION,
): Manifest {
    return { apiVersion, kind, metadata: { name, namespace, labels: LABELS }, spec };
}

/** The superuser StackGres creates (`superuser-username` of its `<cluster>` Secret): the login Job runs as it. */
export const STACKGRES_SUPERUSER = "postgres";

/**
 * The applications whose logins the server admits without TLS (`apps[].postgres.tls: false`), also while they go back
 * to it (`retirePlain`: pods started before still connect so).
 */
export function plainTextApps(apps: readonly AppConfig[]): AppConfig[] {
    return apps.filter((app) => app.postgres?.tls === false);
}

/**
 * The pg_hba lines that admit the logins of applications without TLS, each to its own database only, from any address
 * (`all`: IPv4 and IPv6 in one line, so each application costs one).
 */
export function plainLoginHba(apps: readonly AppConfig[]): string[] {
    return appLogins(plainTextApps(apps)).map(
        (app) => `hostnossl ${app.database} ${app.logins.map((l) => l.name).join(",")} all scram-sha-256`,
    );
}

/**
 * The most our pg_hba rules may take: Patroni keeps its dynamic configuration in its config object's annotations,
 * which Kubernetes caps together; half is left to what StackGres puts there (PostgreSQL's parameters, its own rules).
 */
export const PG_HBA_MAX_BYTES = LIMITS.kubernetesAnnotationsBytes.max / 2;

/** What a server's pg_hba rules take in Patroni's configuration (as JSON, the annotation's encoding). */
export function pgHbaBytes(apps: readonly AppConfig[]): number {
    return Buffer.byteLength(JSON.stringify(stackGresPgHba(apps)));
}

/**
 * Our pg_hba rules. StackGres puts them before its own, which accept any address with `host ... md5`, TLS or not
 * (source: PatroniConfigEndpoints.getPatroniConfig at tag 1.18.6, `setPgHba(...).append(...)`). So a non-TLS TCP
 * connection is rejected here, except over the pod's loopback, which never leaves the pod (StackGres' own sidecars),
 * and for an application that connects without TLS (`apps[].postgres.tls: false`): its own logins, to its own
 * database, SCRAM (the password never crosses the network). Everything else falls through to StackGres' rules, now
 * reached over TLS only. PgBouncer reaches PostgreSQL through the Unix socket (`* = port=5432`, no host), which `local`
 * rules govern.
 */
export function stackGresPgHba(apps: readonly AppConfig[]): string[] {
    return [
        "host all all 127.0.0.1/32 md5",
        "host all all ::1/128 md5",
        ...plainLoginHba(apps),
        "hostnossl all all 0.0.0.0/0 reject",
        "hostnossl all all ::/0 reject",
        "hostnossl replication all 0.0.0.0/0 reject",
        "hostnossl replication all ::/0 reject",
    ];
}

/** Every StackGres object of the configuration, in creation order (the SGCluster last). */
export function stackGresManifests(config: ServerConfig): Manifest[] {
    const sg = config.postgres.stackgres;
    const ns = config.cluster.platformNamespace;
    const n = stackGresNames(sg.clusterName);
    const secretRef = (key: string) => ({ name: n.credentialsSecret, key });
    const objects: Manifest[] = [
        manifest("SGInstanceProfile", n.profile, ns, { cpu: sg.cpu, memory: sg.memory }),
        manifest("SGPostgresConfig", n.postgresConfig, ns, {
            postgresVersion: config.postgres.version,
            "postgresql.conf": {
                max_connections: String(config.postgres.maxConnections),
                password_encryption: "scram-sha-256",
                ssl_min_protocol_version: "TLSv1.2",
            },
        }),
        manifest("SGPoolingConfig", n.poolingConfig, ns, {
            pgBouncer: {
                "pgbouncer.ini": {
                    pgbouncer: {
                        pool_mode: sg.poolMode,
                        // Protocol-level prepared statements keep working in transaction mode (PgBouncer >= 1.21).
                        max_prepared_statements: String(config.postgres.pooler.maxPreparedStatements),
                        // StackGres sets `prefer` with its certificate; the contract promises TLS on every connection
                        // but to an application that asked for none, and PgBouncer's requirement is server-wide.
                        client_tls_sslmode: plainTextApps(config.apps).length > 0 ? "prefer" : "require",
                        // The pool limits set in the config (components/postgres/pooler.ts); unset: StackGres' defaults.
                        ...renderedPoolerSettings(config.postgres.pooler),
                    },
                },
            },
        }),
    ];
    const backups = sg.backups;
    if (backups) {
        objects.push(
            manifest(
                "SGObjectStorage",
                n.objectStorage,
                ns,
                {
                    type: "azureBlob",
                    azureBlob: {
                        bucket: backups.container,
                        azureCredentials: {
                            secretKeySelectors: {
                                storageAccount: { name: n.backupSecret, key: BACKUP_KEYS.storageAccount },
                                accessKey: { name: n.backupSecret, key: BACKUP_KEYS.accessKey },
                            },
                        },
                    },
                },
                STACKGRES_OBJECT_STORAGE_API_VERSION,
            ),
        );
    }
    const extensions = stackGresExtensions(config.postgres.extensions);
    objects.push(
        manifest("SGCluster", n.cluster, ns, {
            profile: config.profile === "production" ? "production" : "development",
            instances: sg.instances,
            postgres: {
                version: config.postgres.version,
                ...(extensions.length > 0 ? { extensions } : {}),
                // With `tls`, the cert-manager Certificate's Secret; without, the operator generates a self-signed one.
                ssl: sg.tls
                    ? {
                          enabled: true,
                          certificateSecretKeySelector: { name: n.tls, key: CERTIFICATE_SECRET_KEYS.cert },
                          privateKeySecretKeySelector: { name: n.tls, key: CERTIFICATE_SECRET_KEYS.key },
                      }
                    : { enabled: true },
            },
            sgInstanceProfile: n.profile,
            pods: { persistentVolume: { size: sg.storageSize, storageClass: config.cluster.storageClass } },
            configurations: {
                sgPostgresConfig: n.postgresConfig,
                sgPoolingConfig: n.poolingConfig,
                patroni: { dynamicConfig: { postgresql: { pg_hba: stackGresPgHba(config.apps) } } },
                credentials: {
                    users: {
                        superuser: { password: secretRef(CREDENTIAL_KEYS.superuser) },
                        replication: { password: secretRef(CREDENTIAL_KEYS.replication) },
                        authenticator: { password: secretRef(CREDENTIAL_KEYS.authenticator) },
                    },
                },
                // StackGres 1.18: a PodMonitor per Prometheus the operator finds (SGCluster.yaml `observability`).
                ...(sg.monitoring ? { observability: { prometheusAutobind: true } } : {}),
                ...(backups
                    ? {
                          backups: [
                              {
                                  sgObjectStorage: n.objectStorage,
                                  cronSchedule: backups.schedule,
                                  retention: backups.retention,
                                  compression: "lz4",
                              },
                          ],
                      }
                    : {}),
            },
        }),
    );
    // A named server's objects say which server they are (the budget policy reads its SGPostgresConfig's).
    const server = config.postgres.server;
    return server === undefined
        ? objects
        : objects.map((o) => ({
              ...o,
              metadata: {
                  ...o.metadata,
                  labels: { ...o.metadata.labels, [POSTGRES_SERVER_ANNOTATION]: postgresNames(config.postgres).prefix },
              },
          }));
}

/**
 * Ingress to the cluster's pods: applications (`clientPeers`: consumer namespaces, or a dedicated server's application's
 * own) on the ports the Service targets, the cluster's own pods (replication, Patroni) and the operator (Patroni REST,
 * managed SQL) on any port. Pod labels as StackGres sets them.
 */
export function stackGresNetworkPolicySpec(config: ServerConfig) {
    const sg = config.postgres.stackgres;
    return {
        podSelector: { matchLabels: { app: "StackGresCluster", "stackgres.io/cluster-name": sg.clusterName } },
        policyTypes: ["Ingress"],
        ingress: [
            {
                from: clientPeers(
                    config.postgres.dedicated,
                    [...config.apps, ...(config.movedOutApps ?? [])].map((app) => app.namespace),
                ),
                ports: STACKGRES_POD_PORT_NAMES.map((port) => ({ protocol: "TCP", port })),
            },
            { from: [{ podSelector: {} }] },
            { from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": sg.operatorNamespace } } }] },
        ],
    };
}
