/**
 * ACL files of the data nodes and the Sentinels (pure). Passwords appear only as SHA-256 hashes
 * (`#<hex>`); the files travel Key Vault -> External Secrets -> a mounted Secret.
 *
 * Redis ACLs have no per-database rule: `-select +select|<n>` limits SELECT to the application's
 * index, but every connection starts in database 0, so only key patterns separate applications there.
 */
import * as crypto from "crypto";
import type { AppConfig } from "../config/platform";
import type { RedisMode } from "../config/redis";

/** Fixed ACL user names (applications use their own name, so these are reserved). */
export const USERS = {
    admin: "admin",
    monitor: "monitor",
    replication: "replication",
    sentinel: "sentinel",
} as const;

export const RESERVED_USER_NAMES: readonly string[] = ["default", ...Object.values(USERS)];

/** Plaintext passwords the ACL files are rendered from (hashed here; never written out). */
export interface RedisPasswords {
    readonly admin: string;
    readonly monitor: string;
    /** Sentinel mode only. */
    readonly replication?: string;
    readonly sentinel?: string;
    /** What clients give Sentinel's `default` user. */
    readonly sentinelClient?: string;
    /** By application name. */
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

/** Channel Sentinels gossip on; the only channel their user may use (a publisher there can forge topology). */
const HELLO_CHANNEL = "__sentinel__:hello";

/** An application: its keys (all when no patterns), its database only, no admin or keyspace-wide commands. */
export function appRules(app: Pick<AppConfig, "name" | "redisDb" | "redisKeyPatterns">): string {
    const keys = app.redisKeyPatterns.length > 0 ? app.redisKeyPatterns.map((p) => `~${p}`).join(" ") : "~*";
    return [
        "resetchannels",
        keys,
        `&${app.name}:*`,
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
        // FLUSHDB/FLUSHALL/KEYS/CLIENT KILL/MONITOR...; INFO and ROLE back for client libraries' ready checks.
        "-@dangerous",
        "+info",
        "+role",
        // Only its own database index.
        "-select",
        `+select|${app.redisDb}`,
    ].join(" ");
}

const MONITOR_DATA_RULES =
    "resetchannels -@all +ping +info +role +config|get +client|list +client|info +slowlog|get +slowlog|len +latency|latest +memory|stats +select +dbsize";
const REPLICATION_RULES = "resetchannels -@all +psync +replconf +ping";
/** What Sentinel sends a monitored instance (src/sentinel.c), with `+replicaof` beside `+slaveof`. */
const SENTINEL_DATA_RULES = `resetchannels &${HELLO_CHANNEL} -@all +multi +exec +slaveof +replicaof +ping +info +role +publish +subscribe +config|rewrite +client|setname +client|kill +script|kill`;

/** A user that accepts each given password (the current one and, during a rotation, the previous one). */
function line(user: string, passwords: readonly (string | undefined)[], rules: string): string {
    const hashes = [...new Set(passwords.filter((p): p is string => p !== undefined).map(sha256Hex))];
    return `user ${user} on ${hashes.map((h) => `#${h}`).join(" ")} ${rules}`;
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

/** `users.acl` of every data node. */
export function renderDataAcl(mode: RedisMode, apps: readonly AppConfig[], passwords: RedisPasswords): string {
    const lines = [
        "user default off resetchannels -@all",
        line(USERS.admin, role(passwords, "admin", "admin"), "~* &* +@all"),
        line(USERS.monitor, role(passwords, "monitor", "monitor"), MONITOR_DATA_RULES),
    ];
    if (mode === "sentinel") {
        lines.push(line(USERS.replication, role(passwords, "replication", "replication"), REPLICATION_RULES));
        lines.push(line(USERS.sentinel, role(passwords, "sentinel", "sentinel"), SENTINEL_DATA_RULES));
    }
    for (const app of apps) {
        const password = passwords.apps[app.name];
        if (password === undefined) {
            throw new Error(`no Redis password for application ${app.name}`);
        }
        lines.push(line(appUserName(app), [password, passwords.previous?.apps?.[app.name]], appRules(app)));
    }
    return lines.join("\n") + "\n";
}

/** Commands a Sentinel-aware client needs (redis/docs sentinel.md "Sentinel Access Control List authentication"). */
const SENTINEL_CLIENT_RULES =
    "resetchannels &+switch-master -@all +auth +hello +ping +role +command +client|setname +client|getname +client|id +subscribe " +
    "+sentinel|get-master-addr-by-name +sentinel|master +sentinel|masters +sentinel|replicas +sentinel|slaves +sentinel|sentinels +sentinel|myid";
/** Sentinel to Sentinel: gossip, votes (src/sentinel.c). */
const SENTINEL_PEER_RULES = `resetchannels &${HELLO_CHANNEL} -@all +auth +ping +publish +client|setname +sentinel|is-master-down-by-addr`;
/** redis_exporter on a Sentinel (exporter/sentinels.go). */
const SENTINEL_MONITOR_RULES =
    "resetchannels -@all +ping +info +client|setname +sentinel|masters +sentinel|master +sentinel|ckquorum +sentinel|sentinels +sentinel|slaves +sentinel|replicas";

/** `sentinel-users.acl` of every Sentinel: `default` is the clients' discovery user, with a password. */
export function renderSentinelAcl(passwords: RedisPasswords): string {
    return (
        [
            line("default", role(passwords, "sentinelClient", "Sentinel client"), SENTINEL_CLIENT_RULES),
            line(USERS.admin, role(passwords, "admin", "admin"), "&* +@all"),
            line(USERS.sentinel, role(passwords, "sentinel", "sentinel"), SENTINEL_PEER_RULES),
            line(USERS.monitor, role(passwords, "monitor", "monitor"), SENTINEL_MONITOR_RULES),
        ].join("\n") + "\n"
    );
}
