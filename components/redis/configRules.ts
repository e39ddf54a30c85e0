/** Config rules of Redis that span several keys: reserved user names, database indexes, Sentinel quorum. */
import { type AppConfig, REDIS_CLIENTS } from "../config/platform";
import type { RedisConfig } from "../config/redis";
import type { ParseContext } from "../config/issues";
import { checkPlacement } from "../config/placement";
import { ConfigRule, PROJECT, PlatformConfig } from "../config/types";
import { DEFAULT_INSTANCE } from "../serviceModule";
import { redisGroupOf, redisMoveOf, redisGroupPath, redisGroupSettings, redisGroups } from "./groups";
import { redisNames } from "./layout";
import { report } from "../config/issues";
import { RESERVED_USER_NAMES, appUserName, extraDatabaseUserName, longestDataAclBytes, redisTenants } from "./acl";
import {
    REDIS_CA_ENV_KEY,
    REDIS_PER_DATABASE_ENV_KEYS,
    REDIS_SENTINEL_ENV_KEYS,
    REDIS_STANDALONE_ENV_KEYS,
    redisExtraEnvKey,
} from "./env";
import { maxmemoryCeilingMiB, mebibytes } from "./files";
import { REDIS_CLIENT_PROFILES, redisClientsOf } from "./clients";

/** The keys of an application's own database: an extra database's keys must not be one of them. */
const BASE_REDIS_ENV_KEYS: readonly string[] = [
    ...REDIS_SENTINEL_ENV_KEYS,
    ...REDIS_STANDALONE_ENV_KEYS,
    REDIS_CA_ENV_KEY,
];

/** Every Redis database index (each application's own and its extra ones) belongs to one user of one application. */
export const uniqueRedisDatabases: ConfigRule = (config, ctx) => {
    // Per group: each group is its own servers, with its own database indexes.
    const owners = new Map<string, string>();
    const claim = (app: AppConfig, db: number, path: string, owner: string) => {
        const key = `${redisGroupOf(app)}/${db}`;
        const first = owners.get(key);
        if (first !== undefined) {
            report(
                ctx,
                `${PROJECT}:${path}`,
                db,
                `a Redis database index not used by another application of its Redis group (${first} has it)`,
            );
        } else {
            owners.set(key, owner);
        }
    };
    // Applications' own databases first: a clash with an extra database is reported at the extra one.
    config.apps.forEach((app, i) => claim(app, app.redisDb, `apps[${i}].redisDb`, `apps[${i}]`));
    config.apps.forEach((app, i) => {
        app.redisExtraDatabases.forEach((extra, j) => {
            const path = `apps[${i}].redisExtraDatabases[${j}]`;
            claim(app, extra.db, `${path}.db`, path);
        });
    });
};

/**
 * The most the users file may grow to: it is one Kubernetes Secret (`redis-acl`, its parts side by side), and a Secret
 * holds at most 1 MiB ("Secrets" concept page), its data base64-encoded (4/3) beside the Sentinels' file.
 */
export const REDIS_USERS_FILE_MAX_BYTES = 700_000;

export const redisConfigRules: ConfigRule = (config, ctx) => {
    const before = ctx.issues.length;
    checkPlacement(
        config.apps,
        {
            kind: "group",
            mapKey: "redis.groups",
            appKey: "redis.group",
            named: config.redis.groups,
            reserved: RESERVED_GROUP_NAMES,
            of: redisGroupOf,
            move: redisMoveOf,
        },
        ctx,
    );
    config.apps.forEach((app, i) => {
        const from = redisMoveOf(app)?.from;
        if (from !== undefined && config.tenantStack !== undefined) {
            report(
                ctx,
                `${PROJECT}:apps[${i}].redis.movedFrom`,
                from,
                "nothing in a tenant stack: its platform stack moves applications between groups (the copy Job runs as both groups' admins)",
            );
        }
        // A dedicated group's keys need not match the application's patterns: copied whole into a shared group, they
        // would sit where another application's patterns may reach them (ACLs do not check databases).
        const to = redisGroupOf(app);
        if (from !== undefined && config.redis.groups[from]?.dedicated && !config.redis.groups[to]?.dedicated) {
            report(
                ctx,
                `${PROJECT}:apps[${i}].redis.group`,
                to,
                `a dedicated group: ${app.name} moves from dedicated group ${from}, whose keys need not match its key patterns ` +
                    "(copied whole, they would sit in a shared group where another application's patterns may reach them: " +
                    "ACLs do not check databases)",
            );
        }
        // The application's name is its Redis ACL user.
        if (RESERVED_USER_NAMES.includes(app.name)) {
            report(
                ctx,
                `${PROJECT}:apps[${i}].name`,
                app.name,
                `a name other than ${RESERVED_USER_NAMES.join(", ")} (Redis ACL users of the platform)`,
            );
        }
    });
    checkUserNames(config, ctx);
    // A tenant stack sees neither its platform's applications nor other tenants': on a dedicated group (one application,
    // `~*`) a second one from another stack would pass every check and share every key. Only the platform places there.
    if (config.tenantStack !== undefined) {
        config.apps.forEach((app, i) => {
            if (config.redis.groups[redisGroupOf(app)]?.dedicated) {
                report(
                    ctx,
                    `${PROJECT}:apps[${i}].redis.group`,
                    redisGroupOf(app),
                    `a shared group of platform stack ${config.stack} (a dedicated group serves one application of the platform stack itself, which alone sees who else is on it)`,
                );
            }
        });
    }
    // Each group's checks need every application in an existing group.
    if (ctx.issues.length > before) {
        return;
    }
    for (const group of redisGroups(config.redis)) {
        const apps = config.apps.flatMap((app, index) => (redisGroupOf(app) === group ? [{ app, index }] : []));
        const settings = redisGroupSettings(config.redis, group);
        checkGroup(settings, apps, ctx);
        const plainAllowed = config.profile !== "production" || settings.dedicated === true;
        checkTlsCa(settings, config.cluster.platformNamespace, plainAllowed, ctx);
        if (!plainAllowed) {
            checkTlsKept(settings, ctx);
        }
    }
};

/**
 * Production keeps TLS on every shared group (`checkTlsKept`): without it a group's passwords (`AUTH` is plain text) and data cross the
 * pod network in clear. A dedicated group may go without, for clients that cannot speak TLS (seed 001's redis-py by
 * host and port, ioredis without its CA): one application's alone, and only its namespace reaches its ports
 * (`networkPolicy`).
 */
function checkTlsKept(redis: RedisConfig, ctx: ParseContext): void {
    if (redis.tls) {
        return;
    }
    const path = redisGroupPath(redis.group ?? DEFAULT_INSTANCE);
    const why = "a group without TLS carries its users' passwords and data in clear across the pod network";
    report(
        ctx,
        `${path}.tls`,
        false,
        redis.group === undefined
            ? `true in production: the default group is shared, and ${why} (a dedicated group may: redis.groups.<name>.dedicated)`
            : `true in production, unless ${path.split(":")[1]}.dedicated is true: ${why} (on a dedicated group one ` +
                  "application's alone, which only its namespace may reach)",
    );
}

/**
 * Words the default group's own names use after `redis-` (`redis-sentinel`, `redis-acl`, `redis-app-<user>`, ...): a
 * group named like one would take another's Kubernetes object, credential or Key Vault secret name.
 * `tests/unit/redis/redisGroups.test.ts` checks every name of a recorded plan against it.
 */
export const RESERVED_GROUP_NAMES: readonly string[] = [
    DEFAULT_INSTANCE,
    "acl",
    "admin",
    "alerts",
    "app",
    "auth",
    "backup",
    "cert",
    "config",
    "dashboard",
    "data",
    "headless",
    "master",
    "monitor",
    "replication",
    "sentinel",
    "standalone",
    "tls",
    "users",
];

/**
 * Application users and extra databases' users share one ACL namespace (and credential ids `redis-app-<user>`, across
 * groups: an application keeps its password when it moves); an extra database's user `<app>-<name>` has a dash, so it
 * is never one of the reserved names.
 */
function checkUserNames(config: PlatformConfig, ctx: ParseContext): void {
    const users = new Map<string, string>(config.apps.map((app, i) => [appUserName(app), `apps[${i}].name`]));
    config.apps.forEach((app, i) => {
        const names = new Set<string>();
        app.redisExtraDatabases.forEach((extra, j) => {
            const path = `${PROJECT}:apps[${i}].redisExtraDatabases[${j}]`;
            if (names.has(extra.name)) {
                report(ctx, `${path}.name`, extra.name, "a name not used by another extra database of the application");
                return;
            }
            names.add(extra.name);
            const user = extraDatabaseUserName(app, extra);
            const holder = users.get(user);
            if (holder !== undefined) {
                report(
                    ctx,
                    `${path}.name`,
                    extra.name,
                    `a name whose ACL user ${user} is not taken (${holder} is ${user})`,
                );
            } else {
                users.set(user, `apps[${i}].redisExtraDatabases[${j}]`);
            }
            const clash = Object.values(REDIS_PER_DATABASE_ENV_KEYS)
                .flat()
                .map((base) => redisExtraEnvKey(base, extra.name))
                .filter((key) => BASE_REDIS_ENV_KEYS.includes(key));
            if (clash.length > 0) {
                report(
                    ctx,
                    `${path}.name`,
                    extra.name,
                    `a name whose keys are not the contract's own (${clash.join(", ")})`,
                );
            }
        });
    });
}

/** Clients on a shared group: only those whose keys and channels go under the application's prefix. */
function checkSharedClients(app: AppConfig, index: number, ctx: ParseContext): void {
    const clients = redisClientsOf(app);
    const alone = clients.flatMap((client) => {
        const reason = REDIS_CLIENT_PROFILES[client].needsDedicatedGroup;
        return reason ? [`${client} (${reason})`] : [];
    });
    if (alone.length > 0) {
        const shared = REDIS_CLIENTS.filter((client) => !REDIS_CLIENT_PROFILES[client].needsDedicatedGroup);
        report(
            ctx,
            `${PROJECT}:apps[${index}].redis.clients`,
            clients,
            `${shared.join(" or ")} on a shared Redis group; ${alone.join(", ")} needs a group of its own: ` +
                `redis.groups.<name>.dedicated: true and apps[${index}].redis.group: <name>`,
        );
    }
}

/** One group's rules: its users file, its applications' database indexes, its memory and its Sentinels. */
function checkGroup(
    redis: RedisConfig,
    apps: readonly { readonly app: AppConfig; readonly index: number }[],
    ctx: ParseContext,
): void {
    const path = redisGroupPath(redis.group ?? DEFAULT_INSTANCE);
    const usersFile = longestDataAclBytes(
        redis.mode,
        redisTenants(
            redis,
            apps.map(({ app }) => app),
        ),
        redis.backup !== undefined,
    );
    if (usersFile > REDIS_USERS_FILE_MAX_BYTES) {
        report(
            ctx,
            `${PROJECT}:apps`,
            `${apps.length} applications (a Redis users file of up to ${usersFile} bytes)`,
            `a Redis users file of at most ${REDIS_USERS_FILE_MAX_BYTES} bytes: it is the Secret ${redisNames(redis).acl}, and ` +
                "Kubernetes holds at most 1 MiB in a Secret, base64-encoded; fewer applications, extra databases or " +
                "key patterns on this Redis group, or another group (redis.groups)",
        );
    }
    const databases = (given: number, at: string) => {
        if (given >= redis.databases) {
            report(
                ctx,
                at,
                given,
                `an index from 1 to ${redis.databases - 1} (${path}.databases is ${redis.databases})`,
            );
        }
    };
    for (const { app, index } of apps) {
        if (!redis.dedicated) {
            checkSharedClients(app, index, ctx);
        }
        databases(app.redisDb, `${PROJECT}:apps[${index}].redisDb`);
        app.redisExtraDatabases.forEach((extra, j) =>
            databases(extra.db, `${PROJECT}:apps[${index}].redisExtraDatabases[${j}].db`),
        );
    }
    const ceiling = maxmemoryCeilingMiB(redis);
    if (ceiling < 1) {
        report(ctx, `${path}.memory`, redis.memory, "more memory than the replica output buffers and the backlog need");
    } else if (redis.maxmemory !== undefined && mebibytes(redis.maxmemory) > ceiling) {
        report(
            ctx,
            `${path}.maxmemory`,
            redis.maxmemory,
            `at most ${ceiling}mb with memory ${redis.memory} (a fork's copy-on-write can double the dataset` +
                (redis.mode === "sentinel" ? `, plus ${redis.replicas - 1} replica buffers and the backlog)` : ")") +
                "; or unset it",
        );
    }
    if (redis.mode === "standalone") {
        return;
    }
    if (redis.sentinels < 3 || redis.sentinels % 2 === 0) {
        report(ctx, `${path}.sentinels`, redis.sentinels, "an odd number of at least 3 in sentinel mode");
    }
    if (redis.quorum <= Math.floor(redis.sentinels / 2) || redis.quorum > redis.sentinels) {
        report(
            ctx,
            `${path}.quorum`,
            redis.quorum,
            `a majority of the ${redis.sentinels} Sentinels (${Math.floor(redis.sentinels / 2) + 1} to ${redis.sentinels})`,
        );
    }
    if (redis.replicas < 2) {
        report(
            ctx,
            `${path}.replicas`,
            redis.replicas,
            "at least 2 data pods in sentinel mode (a master and a replica; 3 recommended)",
        );
    }
}

/**
 * TLS without the CA is refused: the applications would be handed no CA (REDIS_CA_CERT is absent from their contract)
 * for a certificate of the stack's own issuer, which no trust store holds, so they could only fail verification or
 * skip it. The message offers `tls: false` only where the group may go without (`plainAllowed`).
 */
function checkTlsCa(redis: RedisConfig, platformNamespace: string, plainAllowed: boolean, ctx: ParseContext): void {
    if (!redis.tls || redis.tlsCaCert !== undefined) {
        return;
    }
    const path = redisGroupPath(redis.group ?? DEFAULT_INSTANCE);
    const namespace = redis.tlsIssuerKind === "ClusterIssuer" ? "cert-manager" : platformNamespace;
    const source =
        redis.tlsSecretName !== undefined
            ? `ca.crt of the Secret ${redis.tlsSecretName}`
            : `the public certificate of ${redis.tlsIssuerKind} ${redis.tlsIssuerName}'s CA, e.g. kubectl -n ` +
              `${namespace} get secret <its CA Secret> -o jsonpath='{.data.tls\\.crt}' | base64 -d`;
    report(
        ctx,
        `${path}.tlsCaCert`,
        undefined,
        `the PEM certificate of the CA that signs the Redis certificate (${source}): with ${path.split(":")[1]}.tls true ` +
            "the applications verify the servers against it (REDIS_CA_CERT), and without it they cannot" +
            (plainAllowed ? `; or ${path.split(":")[1]}.tls: false` : ""),
    );
}
