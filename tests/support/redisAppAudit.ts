/**
 * The audit of what an application's ACL user may run beyond its keys: every command that names no key (plus the
 * keyed ones with server-wide effects), what it reaches, and whether the rules allow it and why. Key, database and
 * channel reach are probed on a real server by tests/servers/redis/redisTenantAcl.test.ts; this table covers the state
 * no key pattern bounds. FUNCTION LOAD/DELETE/FLUSH/RESTORE are `@write`, not `@dangerous` (redis 7.4.1
 * src/commands/function-*.json); the others' behaviour was reproduced on 7.0.15.
 */

/** What a command reaches: only the caller's connection, channels (bounded by `&` patterns), or the server. */
export type Reach = "connection" | "channels" | "server";

export interface Audit {
    readonly reaches: Reach;
    /** The state it reads or changes. */
    readonly what: string;
    readonly allowed: boolean;
    readonly why: string;
}

const connection = (what: string): Audit => ({ reaches: "connection", what, allowed: true, why: "its own connection" });
const channels = (what: string): Audit => ({
    reaches: "channels",
    what,
    allowed: true,
    why: "`&` patterns bound the channels (probed by the tenant test)",
});
const server = (what: string, allowed: boolean, why: string): Audit => ({ reaches: "server", what, allowed, why });

const NOTHING_NEEDS_IT = "no client library needs it";

export const APP_COMMAND_AUDIT: Readonly<Record<string, Audit>> = {
    auth: connection("the connection's user"),
    hello: server("the protocol; shows the server's version and role", true, "clients need it (RESP3)"),
    quit: connection("closes it"),
    reset: connection("its state"),
    ping: connection("a reply"),
    echo: connection("a reply"),
    select: connection("its database: only the application's own (`+select|<db>`)"),
    readonly: connection("cluster mode flag"),
    readwrite: connection("cluster mode flag"),
    asking: connection("cluster mode flag"),
    "client|setname": connection("its name"),
    "client|getname": connection("its name"),
    "client|setinfo": connection("its library name and version (7.2+)"),
    "client|id": connection("its id"),
    "client|info": connection("its own CLIENT LIST line"),
    "client|help": connection("help text"),
    "client|reply": connection("whether it gets replies"),
    "client|no-touch": connection("whether its reads touch LRU/LFU (7.2+)"),
    "client|caching": connection("tracking of its next read (tracking itself is denied)"),
    "client|getredir": connection("its tracking redirection"),
    "client|trackinginfo": connection("its tracking state"),
    multi: connection("a transaction"),
    exec: connection("a transaction"),
    discard: connection("a transaction"),
    unwatch: connection("its watched keys"),
    "command|count": server("the command table", true, "the same for everyone; cluster clients read it"),
    "command|docs": server("the command table", true, "the same for everyone"),
    "command|info": server("the command table", true, "the same for everyone; cluster clients read it"),
    "command|list": server("the command table", true, "the same for everyone"),
    "command|getkeys": server("the command table", true, "computes, reaches no key"),
    "command|getkeysandflags": server("the command table", true, "computes, reaches no key"),
    "command|help": server("help text", true, "the same for everyone"),
    subscribe: channels("messages on its channels"),
    psubscribe: channels("messages on its channel patterns"),
    unsubscribe: channels("its own subscriptions"),
    punsubscribe: channels("its own subscriptions"),
    publish: channels("subscribers of its channels"),
    info: server(
        "server statistics: memory, clients, every database's key count, commandstats; no key names or values",
        true,
        "client libraries' ready checks read it (ioredis INFO `loading`)",
    ),
    role: server("replication role and replica addresses", true, "Sentinel hands the same to every client"),
    wait: server("replica acknowledgements of its own writes", true, "blocks only the caller; durability checks"),
    waitaof: server("AOF fsync of its own writes (7.2+)", true, "blocks only the caller; durability checks"),
    dbsize: server("the key count of the selected database (its own or the shared 0)", true, "a count, no names"),
    scan: server(
        "key names of the selected database (its own, or database 0, which the contract keeps free of data)",
        true,
        "libraries iterate their own prefix with SCAN MATCH; other applications' names only in database 0",
    ),
    lolwut: server("the server's version", true, "the same for everyone"),
    eval: server(
        "the script cache (global; 7.4 evicts EVAL-loaded scripts) and the server's only thread",
        true,
        "scripts run under the caller's ACL; a long script makes everyone wait (BUSY): not bounded",
    ),
    evalsha: server("the script cache, by digest", true, "runs a cached script under the caller's ACL"),
    eval_ro: server("as EVAL, read-only", true, "as EVAL"),
    evalsha_ro: server("as EVALSHA, read-only", true, "as EVALSHA"),
    "script|load": server(
        "the script cache: global, never evicted, not bounded by maxmemory",
        true,
        "redis-py's Script (its Lock) loads scripts with it; a script's digest names its body, so no tenant changes another's script. Its memory is not bounded (README)",
    ),
    "script|exists": server(
        "the script cache, by digest",
        true,
        "tells only whether a body one already knows was loaded",
    ),
    fcall: server("function libraries (global)", true, "runs only what the admin loaded, under the caller's ACL"),
    fcall_ro: server("function libraries (global)", true, "as FCALL"),
    "function|load": server(
        "function libraries: global, persisted, replicated",
        false,
        "REPLACE swaps another tenant's library, which then runs under the victim's ACL",
    ),
    "function|delete": server("function libraries", false, "deletes another tenant's library"),
    "function|flush": server("function libraries", false, "deletes every library"),
    "function|restore": server("function libraries", false, "replaces (FLUSH policy) or adds libraries"),
    "function|list": server("function libraries' names and code", false, "another tenant's code"),
    "function|dump": server("function libraries' code", false, "another tenant's code"),
    "function|stats": server("the running function", false, NOTHING_NEEDS_IT),
    "function|kill": server("another client's running function", false, "kills another tenant's function"),
    "script|flush": server("the script cache", false, "another tenant's EVALSHA gets NOSCRIPT"),
    "script|kill": server("another client's running script", false, "kills another tenant's script"),
    "script|debug": server("the script debugger", false, "synchronous mode blocks the server"),
    "client|tracking": server(
        "invalidations of keys changed anywhere (BCAST PREFIX)",
        false,
        "7.0 checks no key permission on a broadcast prefix: pushes other tenants' key names",
    ),
    "client|list": server("every client's address, user and last command", false, "other tenants' connections"),
    "client|kill": server("other clients' connections", false, "closes other tenants' connections"),
    "client|pause": server("every client", false, "stops every tenant's commands"),
    "client|no-evict": server("client eviction (maxmemory-clients)", false, "escapes the client memory bound"),
    "acl|log": server("every user's ACL failures", false, "other tenants' user names and commands"),
    "acl|whoami": server("the caller's user name", false, NOTHING_NEEDS_IT),
    "latency|latest": server("server latency events", false, NOTHING_NEEDS_IT),
    "memory|stats": server("server memory", false, NOTHING_NEEDS_IT),
    "memory|doctor": server("server memory", false, NOTHING_NEEDS_IT),
    "slowlog|get": server(
        "every client's slow commands, arguments and values included",
        false,
        "other tenants' values",
    ),
    "pubsub|channels": server("every active channel's name", false, "ACLs do not filter it: other tenants' channels"),
    "pubsub|numsub": server("subscriber counts of any channel", false, "ACLs do not check the channels it names"),
    "pubsub|numpat": server("the pattern count", false, NOTHING_NEEDS_IT),
    randomkey: server(
        "a name of any key of the selected database (NOPERM keys included)",
        false,
        `another tenant's key names in database 0; ${NOTHING_NEEDS_IT}`,
    ),
    keys: server("every key name of the selected database", false, "another tenant's key names; blocks the server"),
    monitor: server("every client's commands", false, "every tenant's values"),
    flushall: server("every database", false, "deletes every tenant's data"),
    swapdb: server("two databases", false, "swaps another tenant's data"),
    "config|get": server(
        "the configuration, masterauth included",
        false,
        "the replication password reads every tenant's data",
    ),
};

/** The audit as a table for the test output. */
export function auditTable(audit: Readonly<Record<string, Audit>>): string {
    const rows = Object.entries(audit)
        .sort(([a, x], [b, y]) => x.reaches.localeCompare(y.reaches) || a.localeCompare(b))
        .map(([name, a]) => [name, a.reaches, a.what, a.allowed ? "allowed" : "DENIED", a.why]);
    const widths = [0, 1].map((i) => Math.max(...rows.map((r) => r[i].length)));
    return rows
        .map((r) => `${r[0].padEnd(widths[0])}  ${r[1].padEnd(widths[1])}  ${r[3].padEnd(7)}  ${r[2]}: ${r[4]}`)
        .join("\n");
}
