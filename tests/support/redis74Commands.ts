/**
 * Commands Redis 7.4 has and the test server (Debian's 7.0.15) lacks, which an application's rules could grant by
 * category: the pods run redis:7.4.x-alpine, so the command audit judges these too. Source: redis/redis 7.4.1
 * src/commands/{client-no-touch,client-setinfo,waitaof,hexpire,hpexpire,hexpireat,hpexpireat,hpersist,hexpiretime,
 * hpexpiretime,httl,hpttl}.json (flags re-read on a later snapshot of the same files); categories are
 * `acl_categories` plus those the command flags imply (WRITE: write, READONLY: read, FAST: fast else slow, BLOCKING:
 * blocking; src/server.c setImplicitACLCategories).
 */
import type { CommandInfo } from "./redisCommands";

const hashField = (name: string, access: "write" | "read"): CommandInfo => ({
    name,
    categories: ["hash", access, "fast"],
    keyless: false,
});

export const REDIS_74_ONLY_COMMANDS: readonly CommandInfo[] = [
    { name: "client|no-touch", categories: ["connection", "slow"], keyless: true },
    { name: "client|setinfo", categories: ["connection", "slow"], keyless: true },
    { name: "waitaof", categories: ["connection", "slow", "blocking"], keyless: true },
    ...["hexpire", "hpexpire", "hexpireat", "hpexpireat", "hpersist"].map((n) => hashField(n, "write")),
    ...["hexpiretime", "hpexpiretime", "httl", "hpttl"].map((n) => hashField(n, "read")),
];
