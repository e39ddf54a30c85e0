/**
 * ACL files of the data nodes and the Sentinels (pure). Passwords appear only as SHA-256 hashes
 * (`#<hex>`); the files travel Key Vault -> External Secrets -> a mounted Secret.
 *
 * Redis ACLs have no per-database rule: `-select +select|<n>` limits SELECT to the application's
 * index, but every connection starts in database 0, so only key patterns separate applications there.
 */
import { partCounts, splitInto } from "../vault/parts";
import * as crypto from "crypto";
import type { AppConfig, RedisExtraDatabase } from "../config/platform";
import type { RedisConfig, RedisMode } from "../config/redis";
import { redisClientProfiles, redisKeyPrefix } from "./clients";

/** Fixed ACL user names (applications use their own name, so these are reserved). */
export const USERS = {
    admin: "admin",
    monitor: "monitor",
    replication: "replication",
    sentinel: "sentinel",
    /** `redis.backup`: copies the master's RDB (`redis-cli --rdb`), and may do nothing else. */
    backup: "backup",
} as const;

export const RESERVED_USER_NAMES: readonly string[] = ["default", ...Object.values(USERS)];

/** The platform's own users of a group's data nodes: `backup` only with `redis.backup`. */
export function platformUserNames(redis: Pick<RedisConfig, "backup">): string[] {
    return RESERVED_USER_NAMES.filter((user) => user !== USERS.backup || redis.backup !== undefined);
}

/** Plaintext passwords the ACL files are rendered from (hashed here; never written out). */
export interface RedisPasswords {
    readonly admin: string;
    readonly monitor: string;
    /** Sentinel mode only. */
    readonly replication?: string;
    readonly sentinel?: string;
    /** What clients give Sentinel's `default` user. */
    readonly sentinelClient?: string;
    /** With `redis.backup` only: the user the RDB copy runs as. */
    readonly backup?: string;
    /** By application ACL user name (`appRedisUserNames`). */
    readonly apps: Readonly<Record<string, string>>;
    /** What each of these was before its last rotation: accepted too, until the next rotation. Default: none. */
    readonly previous?: Partial<Omit<RedisPasswords, "previous" | "apps">> & {
        readonly apps?: Readonly<Record<string, string>>;
    };
}

export function sha256Hex(password: string): string {
    return crypto.createHash("sha256").update(password, "utf8").digest("hex");
}

/** The ACL user name of an application. */
export function appUserName(app: Pick<AppConfig, "name">): string {
    return app.name;
}

/** The ACL user of an application's extra database: `<app>-<name>`. */
export function extraDatabaseUserName(app: Pick<AppConfig, "name">, extra: Pick<RedisExtraDatabase, "name">): string {
    return `${app.name}-${extra.name}`;
}

/** Every ACL user of an application: its own, then one per extra database. */
export function appRedisUserNames(app: {
    readonly name: string;
    readonly redisExtraDatabases: readonly Pick<RedisExtraDatabase, "name">[];
}): string[] {
    return [appUserName(app), ...app.redisExtraDatabases.map((extra) => extraDatabaseUserName(app, extra))];
}

/** Channel Sentinels gossip on; the only channel their user may use (a publisher there can forge topology). */
const HELLO_CHANNEL = "__sentinel__:hello";

/**
 * Key patterns of an application: its own (`redisKeyPatterns`) and its prefix's (key names are the boundary in database
 * 0 too). `*` alone when it is one of them: Redis refuses a users file with a pattern after `~*` ("Adding a pattern
 * after the * pattern ... is not valid", redis-server 7.0.15 at start).
 */
export function appKeyPatterns(app: Pick<AppConfig, "name" | "redisKeyPatterns">): readonly string[] {
    return app.redisKeyPatterns.includes("*") ? ["*"] : unique([...app.redisKeyPatterns, `${redisKeyPrefix(app)}*`]);
}

function unique(values: readonly string[]): string[] {
    return [...new Set(values)];
}

/**
 * What an application may do beyond its key and channel patterns. ACLs check no database argument, ignore the
 * channels PUBSUB names and the prefixes of broadcast tracking, so the commands that use them are denied outright
 * (tests/servers/redis/redisTenantAcl.test.ts probes every command of the server's table). What the allowed commands
 * reach beyond keys (server-wide state) is audited in tests/support/redisAppAudit.ts.
 */
const APP_COMMAND_RULES = [
    "-@all",
    "+@read",
    "+@write",
    "+@connection",
    "+@transaction",
    "+@pubsub",
    "+eval",
    "+evalsha",
    "+eval_ro",
    "+evalsha_ro",
    "+script|load",
    "+script|exists",
    "+fcall",
    "+fcall_ro",
    // FLUSHDB/FLUSHALL/KEYS/CLIENT KILL/MONITOR/SWAPDB...; INFO and ROLE back for client libraries' ready checks.
    "-@dangerous",
    "+info",
    "+role",
    // COPY ... DB <n> and MOVE write into another database (another application's).
    "-copy",
    "-move",
    // PUBSUB CHANNELS/NUMSUB/SHARDCHANNELS/SHARDNUMSUB name and count every application's channels.
    "-pubsub",
    // CLIENT TRACKING ... BCAST PREFIX <p> pushes the names of changed keys under any prefix, from every database.
    "-client|tracking",
    // Function libraries are global: FUNCTION LOAD REPLACE swaps another application's library (which then runs under
    // its ACL), DELETE/FLUSH/RESTORE drop it; they are @write, not @dangerous (redis 7.4.1 src/commands/function-*.json).
    // FCALL stays: it runs what the admin loaded.
    "-function",
    // RANDOMKEY names keys the caller gets NOPERM on (another application's, in database 0); nothing needs it.
    "-randomkey",
];

/**
 * An application as its group's users file sees it: `dedicated` when the group serves it alone
 * (`redis.groups.<group>.dedicated`).
 */
export type RedisTenant = AppConfig & {
    readonly dedicated?: boolean;
    /**
     * Moved to another group (`apps[].redis.movedFrom`): its users stay here, off, with their keys, until `retireOld`
     * (the durable half of the move Job's write freeze: the sidecars re-apply the file after a failover or a change).
     */
    readonly movedOut?: boolean;
};

/** A group's applications as tenants: each marked `dedicated` when the group is. */
export function redisTenants(redis: Pick<RedisConfig, "dedicated">, apps: readonly AppConfig[]): RedisTenant[] {
    return redis.dedicated ? apps.map((app) => ({ ...app, dedicated: true })) : [...apps];
}

/**
 * An application: its keys and channels, its database only, no admin, keyspace-wide or cross-database commands; its
 * channels are its prefix's and those its clients subscribe to by pattern (`./clients.ts`). Alone on a dedicated group,
 * every key and channel (`~*`, `&*`): no other tenant's names to keep it from, so clients that write unprefixed keys
 * (Celery's `celery`, `_kombu.binding.*`, `unacked`) and subscribe unprefixed channels connect as they are; still only
 * its own database (the platform's restart lock lives in another).
 */
export function appRules(
    app: Pick<RedisTenant, "name" | "redisDb" | "redisKeyPatterns" | "redis" | "dedicated">,
): string {
    if (app.dedicated) {
        return tenantRules(["*"], ["*"], app.redisDb);
    }
    const channels = [`${redisKeyPrefix(app)}*`, ...redisClientProfiles(app).flatMap((p) => p.channelPatterns(app))];
    return tenantRules(appKeyPatterns(app), unique(channels), app.redisDb);
}

/** The tenant a dedicated group's `default` user stands for: its application, when its clients log in with a password alone. */
export function defaultUserTenant(apps: readonly RedisTenant[]): RedisTenant | undefined {
    // The group's own application before one moved off it (whose `default` is then off).
    const ordered = [...apps.filter((app) => !app.movedOut), ...apps.filter((app) => app.movedOut)];
    return ordered.find((app) => app.dedicated && redisClientProfiles(app).some((p) => p.defaultUser));
}

/**
 * The user of an application's extra database: the application's command rules, in that database only; key patterns
 * default to the application's prefix, channels are the user's own (Pub/Sub ignores databases; Celery's broker is the
 * application's own database, so no fanout patterns here).
 */
export function extraDatabaseRules(app: Pick<AppConfig, "name">, extra: RedisExtraDatabase): string {
    const keyPatterns = extra.keyPatterns.length > 0 ? extra.keyPatterns : [`${redisKeyPrefix(app)}*`];
    return tenantRules(keyPatterns, [`${extraDatabaseUserName(app, extra)}:*`], extra.db);
}

function tenantRules(keyPatterns: readonly string[], channels: readonly string[], db: number): string {
    return [
        "resetchannels",
        ...keyPatterns.map((p) => `~${p}`),
        ...channels.map((c) => `&${c}`),
        ...APP_COMMAND_RULES,
        // Only its own database index.
        "-select",
        `+select|${db}`,
    ].join(" ");
}

/**
 * redis_exporter (v1.67.0 exporter/exporter.go, latency.go, slowlog.go): it names its connection every scrape. No
 * CONFIG GET: it returns `masterauth` in clear, and with that password PSYNC streams every tenant's data; the exporter
 * runs with `REDIS_EXPORTER_CONFIG_COMMAND=-` and reads maxmemory from INFO memory. (ACLs cannot allow CONFIG GET of
 * one parameter: "Allowing first-arg of a subcommand is not supported".)
 */
const MONITOR_DATA_RULES =
    "resetchannels -@all +ping +info +role +client|list +client|info +client|setname +slowlog|get +slowlog|len +latency|latest +latency|histogram +memory|stats +select +dbsize";
const REPLICATION_RULES = "resetchannels -@all +psync +replconf +ping";
/**
 * `redis-cli --rdb` sends `REPLCONF capa eof`, `REPLCONF rdb-only 1` (the master ends the link after the RDB instead of
 * streaming writes on) and `SYNC` (not PSYNC), then reads the RDB: redis-cli 7.0.15 against redis-server 7.0.15
 * (tests/servers/redis/redisRdbBackup.test.ts: with +sync alone REPLCONF is refused and the copy stays a replica's
 * stream; with the replication user's +psync SYNC is refused). Like replication, SYNC reads every database: the
 * user holds no other right, and its password reaches only the backup Job.
 */
const BACKUP_RULES = "resetchannels -@all +sync +replconf";
/** What Sentinel sends a monitored instance (src/sentinel.c), with `+replicaof` beside `+slaveof`. */
const SENTINEL_DATA_RULES = `resetchannels &${HELLO_CHANNEL} -@all +multi +exec +slaveof +replicaof +ping +info +role +publish +subscribe +config|rewrite +client|setname +client|kill +script|kill`;

/** A user that accepts each given password (the current one and, during a rotation, the previous one). */
function line(user: string, passwords: readonly (string | undefined)[], rules: string, state = "on"): string {
    const hashes = [...new Set(passwords.filter((p): p is string => p !== undefined).map(sha256Hex))];
    return `user ${user} ${state} ${hashes.map((h) => `#${h}`).join(" ")} ${rules}`;
}

type RoleName = Exclude<keyof RedisPasswords, "apps" | "previous">;

/** The current and previous password of a role (the current one must be there). */
function role(passwords: RedisPasswords, name: RoleName, what: string): string[] {
    const current = passwords[name];
    if (current === undefined) {
        throw new Error(`the ${what} password is needed in sentinel mode`);
    }
    const previous = passwords.previous?.[name];
    return previous === undefined ? [current] : [current, previous];
}

/**
 * Each users file ends with a marker user named by what the file was rendered from: it accepts any password and may
 * run no command, so authenticating as it tells only whether a server has loaded that file. The ACL sync Job checks
 * it on every server, with no credential. Application names are DNS labels, so none contains the `:`.
 */
export const ACL_MARKER_PREFIX = "acl-version:";

function markerLines(marker: string | undefined): string[] {
    return marker === undefined ? [] : [`user ${marker} on nopass resetchannels -@all`];
}

/**
 * The marker of the users files rendered from the passwords whose Key Vault versions are `versions` (version URIs in
 * the shape of the passwords): it changes with any user, rule or password, and reveals nothing about a password.
 */
export function aclMarker(mode: RedisMode, apps: readonly RedisTenant[], versions: RedisPasswords): string {
    const rendered = renderDataAcl(mode, apps, versions) + (mode === "sentinel" ? renderSentinelAcl(versions) : "");
    return ACL_MARKER_PREFIX + sha256Hex(rendered).slice(0, 32);
}

/** `users.acl` of every data node; `marker` (`aclMarker`) last. */
export function renderDataAcl(
    mode: RedisMode,
    apps: readonly RedisTenant[],
    passwords: RedisPasswords,
    marker?: string,
): string {
    const appLine = (name: string, user: string, rules: string, app: RedisTenant) =>
        appUserLine(name, user, rules, passwords, app);
    // Off unless a dedicated group's clients log in with a password alone (AUTH <password> is AUTH default <password>).
    const defaultTenant = defaultUserTenant(apps);
    const lines = [
        defaultTenant
            ? appLine("default", appUserName(defaultTenant), appRules(defaultTenant), defaultTenant)
            : "user default off resetchannels -@all",
        line(USERS.admin, role(passwords, "admin", "admin"), "~* &* +@all"),
        line(USERS.monitor, role(passwords, "monitor", "monitor"), MONITOR_DATA_RULES),
    ];
    if (mode === "sentinel") {
        lines.push(line(USERS.replication, role(passwords, "replication", "replication"), REPLICATION_RULES));
        lines.push(line(USERS.sentinel, role(passwords, "sentinel", "sentinel"), SENTINEL_DATA_RULES));
    }
    if (passwords.backup !== undefined) {
        lines.push(line(USERS.backup, role(passwords, "backup", "backup"), BACKUP_RULES));
    }
    lines.push(...appLines(apps, passwords), ...markerLines(marker));
    return lines.join("\n") + "\n";
}

/** The line of ACL user `name`, with application user `user`'s current and previous passwords. */
function appUserLine(
    name: string,
    user: string,
    rules: string,
    passwords: AppPasswords,
    app: Pick<RedisTenant, "movedOut">,
): string {
    const password = passwords.apps[user];
    if (password === undefined) {
        throw new Error(`no Redis password for application user ${user}`);
    }
    return line(name, [password, passwords.previous?.apps?.[user]], rules, app.movedOut ? "off" : "on");
}

/** Each application's users (its own, then its extra databases'), one line each. */
function appLines(apps: readonly RedisTenant[], passwords: AppPasswords): string[] {
    return apps.flatMap((app) => [
        appUserLine(appUserName(app), appUserName(app), appRules(app), passwords, app),
        ...app.redisExtraDatabases.map((extra) => {
            const user = extraDatabaseUserName(app, extra);
            return appUserLine(user, user, extraDatabaseRules(app, extra), passwords, app);
        }),
    ]);
}

/** The application users' passwords alone: what a tenant stack holds. */
export type AppPasswords = Pick<RedisPasswords, "apps"> & {
    readonly previous?: { readonly apps?: Readonly<Record<string, string>> };
};

/**
 * A tenant stack's users file on a group of its platform stack (issue 26 item 7): its applications' users, then its own
 * marker. The data nodes load it after the platform's parts (`tenantDataAclFile`: the same ACL directory, sorted after
 * them), so every sync and every start applies the platform's users and every tenant's together; a tenant's users
 * change only with its own file. Its marker is named by its stack too, so two tenants' markers never share a name (Redis
 * refuses a users file naming a user twice, "Duplicate user", and would not start).
 */
export function renderTenantDataAcl(apps: readonly RedisTenant[], passwords: AppPasswords, marker?: string): string {
    return [...appLines(apps, passwords), ...markerLines(marker)].map((l) => `${l}\n`).join("");
}

/** The marker of a tenant stack's users file (`aclMarker`'s, named by the stack and the passwords' versions). */
export function tenantAclMarker(stack: string, apps: readonly RedisTenant[], versions: AppPasswords): string {
    const rendered = `tenant ${stack}\n${renderTenantDataAcl(apps, versions)}`;
    return ACL_MARKER_PREFIX + sha256Hex(rendered).slice(0, 32);
}

/** A tenant's users file's parts (each under Key Vault's 25 KB), planned from its lines at their longest. */
export function tenantDataAclPartPlan(apps: readonly RedisTenant[]): number[] {
    const users = apps.flatMap(appRedisUserNames);
    const longest: AppPasswords = {
        apps: Object.fromEntries(users.map((u) => [u, `${u}-now`])),
        previous: { apps: Object.fromEntries(users.map((u) => [u, `${u}-before`])) },
    };
    const lines = renderTenantDataAcl(apps, longest, `${ACL_MARKER_PREFIX}${"0".repeat(32)}`)
        .split("\n")
        .slice(0, -1);
    return partCounts(lines.map((l) => Buffer.byteLength(l) + 1));
}

/** `renderTenantDataAcl`'s file in the parts `tenantDataAclPartPlan` plans. */
export function tenantDataAclParts(apps: readonly RedisTenant[], passwords: AppPasswords, marker: string): string[] {
    const lines = renderTenantDataAcl(apps, passwords, marker).split("\n").slice(0, -1);
    return splitInto(lines, tenantDataAclPartPlan(apps)).map((part) => `${part.join("\n")}\n`);
}

/**
 * The users file's lines at their longest, from the configuration alone: every user with a previous password too (two
 * hashes) and a full-length marker. A real file has the same lines, none longer.
 */
function longestDataAclLines(mode: RedisMode, apps: readonly RedisTenant[], withBackup: boolean): string[] {
    const users = apps.flatMap(appRedisUserNames);
    const roles = ["admin", "monitor", "replication", "sentinel", "sentinelClient", ...(withBackup ? ["backup"] : [])];
    const longest: RedisPasswords = {
        admin: "admin-now",
        monitor: "monitor-now",
        ...Object.fromEntries(roles.map((r) => [r, `${r}-now`])),
        apps: Object.fromEntries(users.map((u) => [u, `${u}-now`])),
        previous: {
            ...Object.fromEntries(roles.map((r) => [r, `${r}-before`])),
            apps: Object.fromEntries(users.map((u) => [u, `${u}-before`])),
        },
    };
    return renderDataAcl(mode, apps, longest, `${ACL_MARKER_PREFIX}${"0".repeat(32)}`)
        .split("\n")
        .slice(0, -1);
}

/** The users file's size at its longest, in bytes (`withBackup`: the group has `redis.backup`). */
export function longestDataAclBytes(mode: RedisMode, apps: readonly RedisTenant[], withBackup = false): number {
    return longestDataAclLines(mode, apps, withBackup).reduce((sum, line) => sum + Buffer.byteLength(line) + 1, 0);
}

/**
 * The users file's parts (Key Vault holds 25 KB a secret: `../vault/parts.ts`), planned from its lines at their
 * longest (`longestDataAclLines`), kept whole and in order: a part of the real file is never longer than planned.
 * Returns the line count of each part.
 */
export function dataAclPartPlan(mode: RedisMode, apps: readonly RedisTenant[], withBackup = false): number[] {
    return partCounts(longestDataAclLines(mode, apps, withBackup).map((line) => Buffer.byteLength(line) + 1));
}

/** `renderDataAcl`'s file in the parts `dataAclPartPlan` plans; joined in order they are the file. */
export function dataAclParts(
    mode: RedisMode,
    apps: readonly RedisTenant[],
    passwords: RedisPasswords,
    marker: string,
): string[] {
    const lines = renderDataAcl(mode, apps, passwords, marker).split("\n").slice(0, -1);
    return splitInto(lines, dataAclPartPlan(mode, apps, passwords.backup !== undefined)).map(
        (part) => `${part.join("\n")}\n`,
    );
}

/**
 * Commands a Sentinel-aware client needs (redis/docs sentinel.md "Sentinel Access Control List authentication").
 * Every channel, to read: a Sentinel publishes only its events there, and clients subscribe to several in one command
 * (go-redis sentinel.go: `+switch-master` and `+replica-reconf-done`), which is refused whole if one is not allowed.
 * No PUBLISH: a forged `+switch-master` would send clients to another master.
 */
const SENTINEL_CLIENT_RULES =
    "resetchannels &* -@all +auth +hello +ping +role +command +client|setname +client|getname +client|id " +
    "+subscribe +psubscribe +unsubscribe +punsubscribe " +
    "+sentinel|get-master-addr-by-name +sentinel|master +sentinel|masters +sentinel|replicas +sentinel|slaves +sentinel|sentinels +sentinel|myid";
/** Sentinel to Sentinel: gossip, votes (src/sentinel.c). */
const SENTINEL_PEER_RULES = `resetchannels &${HELLO_CHANNEL} -@all +auth +ping +publish +client|setname +sentinel|is-master-down-by-addr`;
/** redis_exporter on a Sentinel (exporter/sentinels.go). */
const SENTINEL_MONITOR_RULES =
    "resetchannels -@all +ping +info +client|setname +sentinel|masters +sentinel|master +sentinel|ckquorum +sentinel|sentinels +sentinel|slaves +sentinel|replicas";

/** `sentinel-users.acl` of every Sentinel: `default` is the clients' discovery user, with a password. */
export function renderSentinelAcl(passwords: RedisPasswords, marker?: string): string {
    return (
        [
            line("default", role(passwords, "sentinelClient", "Sentinel client"), SENTINEL_CLIENT_RULES),
            line(USERS.admin, role(passwords, "admin", "admin"), "&* +@all"),
            line(USERS.sentinel, role(passwords, "sentinel", "sentinel"), SENTINEL_PEER_RULES),
            line(USERS.monitor, role(passwords, "monitor", "monitor"), SENTINEL_MONITOR_RULES),
            ...markerLines(marker),
        ].join("\n") + "\n"
    );
}
