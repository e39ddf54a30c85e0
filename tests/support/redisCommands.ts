/**
 * The command table of a real Redis server (`COMMAND DOCS`), turned into invocations whose key, database and channel
 * arguments aim at chosen targets. Used to probe an ACL user with every command the server knows, not a hand-picked list.
 */
import * as net from "net";
import type Redis from "ioredis";

/** One argument as `COMMAND DOCS` describes it (redis/src/commands/*.json). */
export interface CommandArg {
    readonly name: string;
    readonly type: string;
    readonly token?: string;
    readonly flags: readonly string[];
    readonly keySpec: boolean;
    readonly arguments: readonly CommandArg[];
}

export interface CommandDoc {
    /** `["CLIENT", "TRACKING"]` for a subcommand. */
    readonly words: readonly string[];
    /** The ACL name: `client|tracking`. */
    readonly name: string;
    readonly group: string;
    readonly arguments: readonly CommandArg[];
}

/** What the arguments of an invocation name. */
export interface Targets {
    /** Key names start with it (`<app>:`). */
    readonly keyPrefix: string;
    readonly channelPrefix: string;
    readonly db: number;
}

/** A RESP2 map (flat key/value array) as an object. */
function pairs(reply: unknown): Record<string, unknown> {
    const list = reply as unknown[];
    const out: Record<string, unknown> = {};
    for (let i = 0; i + 1 < list.length; i += 2) {
        out[String(list[i])] = list[i + 1];
    }
    return out;
}

function parseArg(reply: unknown): CommandArg {
    const a = pairs(reply);
    return {
        name: String(a.name),
        type: String(a.type),
        token: a.token === undefined ? undefined : String(a.token),
        flags: ((a.flags as unknown[] | undefined) ?? []).map(String),
        keySpec: a.key_spec_index !== undefined,
        arguments: ((a.arguments as unknown[] | undefined) ?? []).map(parseArg),
    };
}

function parseDocs(reply: unknown, parent: string[]): CommandDoc[] {
    const out: CommandDoc[] = [];
    for (const [name, body] of Object.entries(pairs(reply))) {
        const doc = pairs(body);
        const words = [...parent, name.split("|").pop()!.toUpperCase()];
        if (doc.subcommands !== undefined) {
            out.push(...parseDocs(doc.subcommands, words));
            continue;
        }
        out.push({
            words,
            name: name.toLowerCase(),
            group: String(doc.group),
            arguments: ((doc.arguments as unknown[] | undefined) ?? []).map(parseArg),
        });
    }
    return out;
}

/** Every command and subcommand the server documents (container commands only through their subcommands). */
export async function commandDocs(admin: Redis): Promise<CommandDoc[]> {
    return parseDocs(await admin.call("COMMAND", "DOCS"), []);
}

/** Is this argument a database index, a channel, or a key (or key pattern)? */
export function argumentKind(doc: CommandDoc, arg: CommandArg): "db" | "channel" | "key" | undefined {
    // `db` (MOVE), `destination-db` (COPY, MIGRATE); `index*` of SELECT and SWAPDB (LSET's index is a list's).
    const dbIndex =
        ["db", "destination-db"].includes(arg.name) || (/^index\d?$/.test(arg.name) && doc.group !== "list");
    if (arg.type === "integer" && dbIndex) {
        return "db";
    }
    if (/channel/.test(arg.name) || (doc.group === "pubsub" && arg.type === "pattern")) {
        return "channel";
    }
    // CLIENT TRACKING ... PREFIX <p>: a key prefix.
    if (arg.type === "key" || arg.keySpec || arg.name === "prefix") {
        return "key";
    }
    return undefined;
}

function value(doc: CommandDoc, arg: CommandArg, t: Targets): string[] {
    const kind = argumentKind(doc, arg);
    const pattern = arg.type === "pattern";
    let words: string[];
    if (arg.type === "pure-token") {
        return [arg.token!];
    } else if (arg.type === "oneof") {
        words = value(doc, arg.arguments[0], t);
    } else if (arg.type === "block") {
        words = arg.arguments.filter((a) => !a.flags.includes("optional")).flatMap((a) => value(doc, a, t));
    } else if (kind === "db") {
        words = [String(t.db)];
    } else if (kind === "channel") {
        words = [pattern ? `${t.channelPrefix}*` : `${t.channelPrefix}chan`];
    } else if (kind === "key") {
        words = [pattern || arg.name === "prefix" ? `${t.keyPrefix}*` : `${t.keyPrefix}k`];
    } else if (arg.type === "double") {
        // Blocking commands time out at once.
        words = [/timeout/.test(arg.name) ? "0.01" : "1"];
    } else if (arg.type === "pattern") {
        words = ["*"];
    } else if (arg.type === "integer" || arg.type === "unix-time") {
        words = ["1"];
    } else {
        words = ["x"];
    }
    if (arg.name === "prefix") {
        words = [words[0].replace(/\*$/, "")];
    }
    return arg.token !== undefined ? [arg.token, ...words] : words;
}

/**
 * Invocations of one command: its required arguments, then that plus each optional top-level argument, and each
 * alternative of every top-level `oneof` (so `COPY ... DB <n>` and `CLIENT TRACKING ... PREFIX <p>` appear).
 */
export function invocations(doc: CommandDoc, t: Targets): string[][] {
    const top = doc.arguments;
    const choices: CommandArg[][] = [top.filter((a) => !a.flags.includes("optional"))];
    top.forEach((arg, i) => {
        if (arg.flags.includes("optional")) {
            choices.push(top.filter((a, j) => j === i || !a.flags.includes("optional")));
        }
        if (arg.type === "oneof") {
            for (const alternative of arg.arguments.slice(1)) {
                choices.push(
                    top
                        .filter((a, j) => j === i || !a.flags.includes("optional"))
                        .map((a) => (a === arg ? { ...arg, arguments: [alternative] } : a)),
                );
            }
        }
    });
    const seen = new Set<string>();
    const out: string[][] = [];
    for (const args of choices) {
        const argv = [...doc.words, ...args.flatMap((a) => value(doc, a, t))];
        if (!seen.has(argv.join(" "))) {
            seen.add(argv.join(" "));
            out.push(argv);
        }
    }
    return out;
}

/** One RESP2 reply parsed from `buf` at `pos`: its text (errors as `-ERR ...`) and where it ends; undefined if incomplete. */
function parseReply(buf: Buffer, pos: number): { text: string; end: number } | undefined {
    const eol = buf.indexOf("\r\n", pos);
    if (eol < 0) {
        return undefined;
    }
    const type = String.fromCharCode(buf[pos]);
    const head = buf.toString("utf8", pos + 1, eol);
    if (type === "+" || type === ":") {
        return { text: head, end: eol + 2 };
    }
    if (type === "-") {
        return { text: `-${head}`, end: eol + 2 };
    }
    const length = Number(head);
    if (type === "$") {
        if (length < 0) {
            return { text: "(nil)", end: eol + 2 };
        }
        return buf.length < eol + 2 + length + 2
            ? undefined
            : { text: buf.toString("utf8", eol + 2, eol + 2 + length), end: eol + 2 + length + 2 };
    }
    // An array (`*`): its elements.
    const items: string[] = [];
    let at = eol + 2;
    for (let i = 0; i < length; i++) {
        const item = parseReply(buf, at);
        if (item === undefined) {
            return undefined;
        }
        items.push(item.text);
        at = item.end;
    }
    return { text: `[${items.join(", ")}]`, end: at };
}

function encode(argv: readonly string[]): Buffer {
    const parts = argv.map((a) => Buffer.from(a, "utf8"));
    return Buffer.concat([
        Buffer.from(`*${parts.length}\r\n`),
        ...parts.flatMap((p) => [Buffer.from(`$${p.length}\r\n`), p, Buffer.from("\r\n")]),
    ]);
}

/**
 * Sends `commands` on one new connection and returns their replies as text (errors start with `-`). A raw socket,
 * not a client library: any command of the table may be sent (SUBSCRIBE, CLIENT REPLY OFF, ...) without the client
 * tracking state for it. Stops after `timeoutMs` (a blocked or silent command: the replies so far).
 */
export function rawCommands(
    host: string,
    port: number,
    commands: readonly (readonly string[])[],
    timeoutMs = 1000,
): Promise<string[]> {
    return new Promise((resolve, reject) => {
        const replies: string[] = [];
        let buf = Buffer.alloc(0);
        const socket = net.connect(port, host, () => socket.write(Buffer.concat(commands.map(encode))));
        const done = () => {
            clearTimeout(timer);
            socket.destroy();
            resolve(replies);
        };
        const timer = setTimeout(done, timeoutMs);
        socket.on("data", (chunk) => {
            buf = Buffer.concat([buf, chunk]);
            for (let reply = parseReply(buf, 0); reply !== undefined; reply = parseReply(buf, 0)) {
                replies.push(reply.text);
                buf = buf.subarray(reply.end);
                if (replies.length === commands.length) {
                    return done();
                }
            }
        });
        socket.on("close", done);
        socket.on("error", (e) => {
            clearTimeout(timer);
            reject(e);
        });
    });
}

/** A command (or subcommand) as `COMMAND INFO` describes it. */
export interface CommandInfo {
    /** The ACL name: `function|load`. */
    readonly name: string;
    /** ACL categories without `@`: `write`, `scripting`. */
    readonly categories: readonly string[];
    /** It names no key (no key specs): what it reaches is not bounded by key patterns. */
    readonly keyless: boolean;
}

/** Every command and subcommand the server knows (container commands only through their subcommands). */
export async function commandInfo(admin: Redis): Promise<CommandInfo[]> {
    const out: CommandInfo[] = [];
    // COMMAND INFO's reply per command: name, arity, flags, first/last key, step, ACL categories, tips, key specs,
    // subcommands.
    const walk = (entry: unknown[]) => {
        const name = String(entry[0]);
        const categories = (entry[6] as string[]).map(String);
        const keySpecs = entry[8] as unknown[];
        const subcommands = entry[9] as unknown[][];
        if (subcommands.length > 0) {
            subcommands.forEach(walk);
            return;
        }
        out.push({
            name: name.toLowerCase(),
            categories: categories.map((c) => c.replace(/^@/, "")),
            keyless: keySpecs.length === 0,
        });
    };
    ((await admin.call("COMMAND", "INFO")) as unknown[][]).forEach(walk);
    return out;
}

/**
 * Whether the command rules of an ACL user (`+@cat`, `-@cat`, `+cmd`, `-cmd|sub`, `+cmd|first-arg`; key and channel
 * rules ignored) let it run `command` at all: the last rule that names the command, its container or one of its
 * categories decides, as in Redis (src/acl.c ACLSetSelector applies rules in order). A first-arg rule
 * (`+select|1`) counts as allowing. Checked against the server's own `ACL DRYRUN` for every command it knows, so it
 * can judge commands of a newer version the test server lacks.
 */
export function aclAllows(rules: string, command: Pick<CommandInfo, "name" | "categories">): boolean {
    const [container] = command.name.split("|");
    let allowed = false;
    for (const rule of rules.split(/\s+/)) {
        const match = /^([+-])(@?)([a-z0-9_|-]+)$/.exec(rule);
        if (!match) {
            continue;
        }
        const [, sign, category, target] = match;
        const names =
            category !== ""
                ? target === "all" || command.categories.includes(target)
                : target === command.name || target === container || target.startsWith(`${command.name}|`);
        if (names) {
            allowed = sign === "+";
        }
    }
    return allowed;
}
