/** Stack-wide configuration: profile, Azure placement, cluster access and the applications. */
import type { z } from "zod";
import {
    APP_NAME,
    DNS_LABEL,
    DURATION,
    INSTANCE_NAME,
    INSTANCE_NAME_ALLOWED,
    INSTANCE_NAME_MAX_LENGTH,
    IPV4_CIDR,
    PG_IDENTIFIER,
    RESOURCE_GROUP,
    SECRET_DATA_KEY,
} from "./names";
import { backupScheduleSchema } from "./backups";
import { PROFILES, Profile, byProfile, choice, derived, flag, integer, listOf, mapOf, section, text } from "./fields";

export const profileSchema = choice(PROFILES);

export function protectSchema(profile: Profile) {
    return flag().default(profile === "production");
}

export const azureSchema = section({
    resourceGroupName: text({ pattern: RESOURCE_GROUP, minLength: 1, maxLength: 90 }).describe(
        "Resource group of the vault, identity and managed database (must exist).",
    ),
    location: text({ pattern: /^[a-z0-9]+$/, allowed: "an Azure region name such as westeurope" }).describe(
        "Azure region.",
    ),
    tags: mapOf(text({ minLength: 1, maxLength: 512 }), text({ maxLength: 256 }))
        .default({})
        .describe(
            "Tags on every Azure resource, Key Vault secrets included (at most 15: Key Vault's limit per secret).",
        ),
});

/** Azure placement of the vault, the identity and the managed database. */
export type AzureConfig = z.output<typeof azureSchema>;

export function clusterSchema(profile: Profile) {
    return section({
        aks: section({
            name: text({ pattern: /^[a-zA-Z0-9][-_a-zA-Z0-9]{0,62}$/ }).describe("AKS cluster name."),
            resourceGroupName: text({ pattern: RESOURCE_GROUP, minLength: 1, maxLength: 90 }).describe(
                "Its resource group.",
            ),
            login: choice(["admin", "azurecli", "workloadidentity", "msi"])
                .optional()
                .describe(
                    "How the program signs in: `admin` (local accounts, cluster-admin kubeconfig), or a kubelogin mode for " +
                        "Entra-ID clusters (`azurecli`, `workloadidentity`, `msi`; kubelogin on PATH). Unset: the user kubeconfig as AKS returns it.",
                ),
        })
            .optional()
            .describe(
                "AKS cluster to look up (kubeconfig and OIDC issuer; a `data-platform:kubeconfig` given too replaces its kubeconfig). Unset: `data-platform:kubeconfig` and `oidcIssuerUrl` are used.",
            ),
        oidcIssuerUrl: text({ pattern: /^https:\/\/\S+$/, allowed: "an https:// URL" })
            .optional()
            .describe("OIDC issuer URL of the cluster (required with a kubeconfig)."),
        platformNamespace: text({ pattern: DNS_LABEL, maxLength: 63 })
            .default("data-platform")
            .describe("Namespace of the platform's own workloads."),
        egressIpRanges: listOf(text({ pattern: IPV4_CIDR, allowed: "an IPv4 address or CIDR range" }))
            .default([])
            .describe(
                "The cluster's outbound addresses (AKS: `networkProfile.loadBalancerProfile.effectiveOutboundIPs`, or the NAT gateway's); a public Key Vault admits them, since External Secrets calls it from there.",
            ),
        storageClass: text({ pattern: DNS_LABEL, maxLength: 63 })
            .default("managed-csi-premium")
            .describe("StorageClass for persistent volumes."),
        externalSecrets: section({
            install: flag().default(true).describe("Install External Secrets Operator from its Helm chart."),
            chartVersion: text({ pattern: /^\d+\.\d+\.\d+$/, allowed: "an exact chart version such as 2.9.0" })
                .default("2.9.0")
                .describe("Pinned Helm chart version."),
            namespace: text({ pattern: DNS_LABEL, maxLength: 63 })
                .default("external-secrets")
                .describe("Operator namespace."),
            serviceAccountName: text({ pattern: DNS_LABEL, maxLength: 63 })
                .default("external-secrets")
                .describe("Service account federated with the managed identity."),
            refreshInterval: text({ pattern: DURATION, allowed: "a duration such as 1h, 15m or 30s" })
                .default(byProfile(profile, { production: "15m", development: "1h" }))
                .describe("How often ExternalSecrets re-read Key Vault."),
            storePerStack: flag()
                .default(false)
                .describe(
                    "For a stack sharing its cluster with another: the platform's ClusterSecretStore is `azure-key-vault-<platformNamespace>` and reads as its own service account `data-platform-secret-store` in the platform namespace, instead of `azure-key-vault` reading as the operator's account (a store name is cluster-wide, and the operator's account names one identity); the operator's account is then never patched. Changing it on a deployed stack replaces its store.",
                ),
        })
            .prefault({})
            .describe("External Secrets Operator."),
    });
}

/** Cluster access and the cluster-level operators. */
export type ClusterConfig = z.output<ReturnType<typeof clusterSchema>>;
/** The AKS cluster to look up by name (yields kubeconfig and OIDC issuer). */
export type AksLookup = NonNullable<ClusterConfig["aks"]>;
export type ExternalSecretsConfig = ClusterConfig["externalSecrets"];

/** Key patterns of an ACL user: Redis globs. */
const keyPatternsSchema = listOf(text({ pattern: /^[^\s]+$/, allowed: "a Redis glob without spaces" }));

/** A further Redis database of one application, with its own ACL user (e.g. a cache beside the session store). */
const redisExtraDatabaseSchema = section({
    name: text({ pattern: /^[a-z][a-z0-9]*$/, maxLength: 12 }).describe(
        "Its name (lower-case letters and digits): the ACL user is `<app>-<name>`, the contract keys `REDIS_<NAME>_*`.",
    ),
    db: integer(1, 1023).describe(
        "Its database index (unique across every application's databases, below redis.databases, never 0).",
    ),
    keyPatterns: keyPatternsSchema
        .default([])
        .describe("Key patterns (globs) its user may use; empty: `<app>:*`, as for the application's own database."),
});

/** One extra Redis database of an application. */
export type RedisExtraDatabase = z.output<typeof redisExtraDatabaseSchema>;

/** What of an application may already exist and be imported (`apps[].import`) instead of created. */
export const APP_IMPORTS = ["namespace", "database", "secrets"] as const;
export type AppImport = (typeof APP_IMPORTS)[number];

/** Kinds of Redis client an application runs (`apps[].redis.clients`); what each is granted: components/redis/clients.ts. */
export const REDIS_CLIENTS = ["plain", "celery", "sessions"] as const;
export type RedisClient = (typeof REDIS_CLIENTS)[number];
/** What every application was granted before it could say: its prefix, and Celery's channels under it. */
export const DEFAULT_REDIS_CLIENTS: readonly RedisClient[] = ["plain", "celery"];

/**
 * Who reads an application's `DATABASE_URL` and `DATABASE_DIRECT_URL` (`apps[].postgres.urlFormat`): libpq, or
 * node-postgres (pg, knex), whose `sslmode=require` means verify-full against Node's own store (pg-connection-string
 * 2.x); what each is written as: components/postgres/env.ts.
 */
export const URL_FORMATS = ["libpq", "node-postgres"] as const;
export type UrlFormat = (typeof URL_FORMATS)[number];

/** The Secret of an application's contract unless it names its own (`apps[].secretName`). */
export function defaultSecretName(app: { readonly name: string }): string {
    return `${app.name}-data`;
}

const appSchema = section({
    name: text({ pattern: APP_NAME, maxLength: 30 }).describe("Application name (DNS label, at most 30 characters)."),
    namespace: text({ pattern: DNS_LABEL, maxLength: 63 }).describe("Its namespace (one application per namespace)."),
    createNamespace: flag().default(true).describe("Create the namespace (false: adopt an existing one)."),
    podSecurity: derived(choice(["restricted", "unchanged"])).describe(
        "Pod Security labels on the namespace: `restricted` enforces the restricted standard, `unchanged` leaves the namespace's own; default `restricted` for a created namespace, `unchanged` for an adopted one (its running workloads would be refused at their next rollout).",
    ),
    database: derived(text({ pattern: PG_IDENTIFIER, maxLength: 63 })).describe(
        "Database and login name; default: the name with `-` as `_`.",
    ),
    redisDb: integer(1, 1023).describe(
        "Redis database index (unique per application, below redis.databases). Database 0 holds no application data: every connection starts there and Redis ACLs cannot keep other applications out of it.",
    ),
    redisKeyPatterns: keyPatternsSchema
        .default([])
        .describe(
            "Redis key patterns (globs) it may use besides its prefix `<name>:*` (`REDIS_KEY_PREFIX`), which it always has. `*` grants every key name, but only in its own database and in the shared database 0.",
        ),
    redisExtraDatabases: listOf(redisExtraDatabaseSchema, { maxItems: 8 })
        .default([])
        .describe(
            "Further Redis databases of the application, each with its own ACL user, password and contract keys (opt-in; e.g. sessions in `redisDb`, a cache here).",
        ),
    postgres: section({
        server: text({ pattern: INSTANCE_NAME, maxLength: INSTANCE_NAME_MAX_LENGTH, allowed: INSTANCE_NAME_ALLOWED })
            .optional()
            .describe("The PostgreSQL server of its database: a name of `postgres.servers`; unset: `default`."),
        movedFrom: text({ pattern: INSTANCE_NAME, maxLength: INSTANCE_NAME_MAX_LENGTH, allowed: INSTANCE_NAME_ALLOWED })
            .optional()
            .describe(
                'Set with a new `server` to move its database there (README "Moving an application"): the server it was on. A Job freezes the old logins, copies the database with pg_dump/pg_restore, and only then its Secret names the new server; the old copy stays (its logins NOLOGIN, its database protected in production) until the cleanup: `retireOld: true`, then both keys removed.',
            ),
        urlFormat: choice(URL_FORMATS)
            .optional()
            .describe(
                "Who reads its `DATABASE_URL` and `DATABASE_DIRECT_URL`. `libpq` (unset): libpq's URI with `sslmode=require`, which psql, psycopg, SQLAlchemy and JDBC wrappers read. `node-postgres`: for pg and knex, which read `sslmode=require` as verify-full against Node's own store: `sslmode=verify-full` where that store holds the server's CA (Azure's public roots), else `sslmode=no-verify` (encrypted and unverified, what libpq's `require` is; libpq refuses the word). The other keys (`DB_SSL_MODE`, `PGSSLMODE`) keep libpq's words.",
            ),
        tls: flag()
            .optional()
            .describe(
                "`false`: its clients connect without TLS, for code that can neither verify a StackGres issuer's CA nor skip verification (seed 003's hand-built URL, which node-postgres reads as verify-full, beside a pool that turns TLS off for anything but `require`). Its contract says `sslmode=disable`; the server's pg_hba admits its own logins to its own database without TLS (SCRAM: the password never crosses the network) and its PgBouncer takes plain clients (its TLS requirement is server-wide). StackGres only; in production on a dedicated server only; not in a tenant stack. Unset: TLS; going back to it: `retirePlain`.",
            ),
        retirePlain: flag()
            .optional()
            .describe(
                "With `tls: false`: step 1 of going back to TLS. Its contract says TLS again (`sslmode=require`), while the server still admits its logins without TLS, so pods started before keep connecting; once they have restarted, remove both keys.",
            ),
        retireOld: flag()
            .optional()
            .describe(
                "With `movedFrom`: step 1 of dropping the old copy (as `retired` does for an application): its database on `movedFrom` stays in the stack unprotected for this `up`; then remove `movedFrom` and this key.",
            ),
    })
        .optional()
        .describe("Where its PostgreSQL database lives."),
    redis: section({
        group: text({ pattern: INSTANCE_NAME, maxLength: INSTANCE_NAME_MAX_LENGTH, allowed: INSTANCE_NAME_ALLOWED })
            .optional()
            .describe("The Redis group of its databases: a name of `redis.groups`; unset: `default`."),
        movedFrom: text({ pattern: INSTANCE_NAME, maxLength: INSTANCE_NAME_MAX_LENGTH, allowed: INSTANCE_NAME_ALLOWED })
            .optional()
            .describe(
                'Set with a new `group` to move its databases there (README "Moving an application"): the group it was on. A Job freezes its users on the old group (off, their clients killed), copies its keys (DUMP/RESTORE with their TTLs: under its key patterns, or every key of its databases on a dedicated group), and only then its Secret names the new group; the old users (off) and keys stay until `retireOld`, then this key, drop them.',
            ),
        retireOld: flag()
            .optional()
            .describe(
                "With `movedFrom`: step 1 of the cleanup: its users are deleted from the old group, then a Job there deletes the keys the copy took (its patterns in its databases on a shared group, its databases whole on a dedicated one), once the new group is marked as holding the copy; then remove `movedFrom` and this key.",
            ),
        clients: listOf(choice(REDIS_CLIENTS), { minItems: 1, maxItems: REDIS_CLIENTS.length })
            .optional()
            .describe(
                "The kinds of Redis client it runs; its ACL user gets what each needs under its prefix `<name>:` (`REDIS_KEY_PREFIX`). " +
                    "`plain`: keys and channels under the prefix, for clients given it as their key prefix (ioredis `keyPrefix`, connect-redis and rate-limit-redis `prefix`). " +
                    "`celery`: Celery 5.3+ with `global_keyprefix` = `REDIS_KEY_PREFIX` in its broker and result backend transport options; adds the channels kombu subscribes to by pattern (remote control, gossip, event receivers such as Flower). " +
                    "`sessions`: a client that names its keys itself (`session:*`, seed 001) and logs in with a password alone; only on a dedicated group (`redis.groups.<name>.dedicated`), where the application is also the group's `default` user. " +
                    `Unset: ${JSON.stringify(DEFAULT_REDIS_CLIENTS)}.`,
            ),
    })
        .optional()
        .describe("Where its Redis databases live."),
    backup: backupScheduleSchema
        .optional()
        .describe(
            "A scheduled `pg_dump` of its database as its own login, uploaded to `backups` under `postgres/<name>/` by a CronJob in its namespace; unset: none (the server's own backups still cover it).",
        ),
    identityResourceGroupName: text({ pattern: RESOURCE_GROUP, minLength: 1, maxLength: 90 })
        .optional()
        .describe(
            "Resource group of its Azure identities (its store's reader, its export's writer; must exist); unset: `azure.resourceGroupName`. " +
                "Azure holds at most 800 identities per resource group, so stacks of many applications spread them. A change replaces its identities (new client ids).",
        ),
    poolSize: integer(1, 200).default(10).describe("Connections per replica."),
    replicas: integer(1, 100).default(2).describe("Replicas (for the connection budget)."),
    secretName: derived(text({ pattern: DNS_LABEL, maxLength: 63 })).describe(
        "Secret with the contract; default `<name>-data`.",
    ),
    env: mapOf(
        text({ pattern: SECRET_DATA_KEY, maxLength: 253, allowed: "a Secret key (letters, digits, -, _ and .)" }),
        text({
            minLength: 1,
            maxLength: 4096,
            allowed:
                "a template over the contract's keys, such as {{REDIS_SENTINEL_PASSWORD}} or redis://{{REDIS_HOST}}",
        }),
    )
        .default({})
        .describe(
            'Further keys of its Secret under the names its code reads, each a template over the contract\'s keys (`SENTINEL_PASSWORD: "{{REDIS_SENTINEL_PASSWORD}}"`), rendered by External Secrets from the synced values: no value is written here, and each must name at least one contract key.',
        ),
    adoptSecret: flag()
        .optional()
        .describe(
            "Write the contract into an existing Secret `secretName`, keeping its other keys (External Secrets `creationPolicy: Merge`; the Secret must exist). Required with a `secretName` of its own in a namespace that exists (adopted or imported): `false` says no Secret of that name exists there (one would be taken over and lose its other keys).",
        ),
    serviceAccounts: derived(listOf(text({ pattern: DNS_LABEL, maxLength: 63 }), { minItems: 1 })).describe(
        "Service accounts that may read the Secret; default `[<name>]`.",
    ),
    retired: flag()
        .default(false)
        .describe(
            'Step 1 of removing the application (README "Remove, re-add or import an application"): it loses its access as if removed, and its namespace (and, with ARM databases, its database) stay in the stack unprotected (`protect: false`, retained on delete) for this `up`; then delete the entry. Pulumi refuses to delete a protected resource, so dropping the entry at once fails in production.',
        ),
    import: listOf(choice(APP_IMPORTS))
        .default([])
        .describe(
            "What of the application already exists and is brought under the stack with Pulumi's `import` option instead of created (Azure and Kubernetes refuse to create what exists): `namespace` (with `createNamespace`), `database` (mode azure, its databases ARM resources: `postgres.azure.databases` arm or release), `secrets` (its Key Vault secrets as a removal left them). A re-added application: all three.",
        ),
}).transform((app) => ({
    ...app,
    podSecurity: app.podSecurity ?? (app.createNamespace ? "restricted" : "unchanged"),
    database: app.database ?? app.name.replace(/-/g, "_"),
    secretName: app.secretName ?? defaultSecretName(app),
    serviceAccounts: app.serviceAccounts ?? [app.name],
}));

/** One `apps[]` entry as written: an application, and whether it is being removed or has parts to import. */
export type AppEntry = z.output<typeof appSchema>;

/** One application: its namespace, database, Redis database and the Secret with its contract. */
export type AppConfig = Omit<AppEntry, "retired" | "import">;

/**
 * Applications per stack: beyond the documented limits the config checks (components/limits.ts and the services'
 * rules), a stack of more would take longer to plan than CI allows (1,000: `npm run bench`).
 */
export const MAX_APPS = 2_000;

export const appsSchema = listOf(appSchema, { minItems: 1, maxItems: MAX_APPS });

/** `imports`: resource name in the program to the id of the existing object it takes over. */
export const importsSchema = mapOf(
    text({
        pattern: /^[A-Za-z0-9][-A-Za-z0-9_.]*$/,
        maxLength: 200,
        allowed: "a resource name of the program (plan.json `name`)",
    }),
    text({
        pattern: /^(\/subscriptions\/[^/\s]+\/resourceGroups\/\S+|[a-z0-9][-a-z0-9.]*(\/[a-z0-9][-a-z0-9.]*)?)$/,
        maxLength: 1000,
        allowed: "an ARM resource id (/subscriptions/...) or a Kubernetes object's [namespace/]name",
    }),
);
