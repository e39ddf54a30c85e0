/**
 * Tenant isolation of the rendered application ACL users on a real redis-server, against every command the server
 * documents (`COMMAND DOCS`), not a hand-picked list. For each application (the attacker) and each other one (the
 * victim), every invocation whose key, database or channel arguments name the victim's must be refused, and every
 * invocation of the attacker's own may neither name the victim's keys or channels in its reply nor change the victim's
 * database or reach its subscribers.
 */
import { strict as assert } from "assert";
import Redis from "ioredis";
import type { PlatformConfig } from "../../../components/config";
import type { AppConfig, RedisClient } from "../../../components/config/platform";
import { appRules } from "../../../components/redis/acl";
import { restartLock } from "../../../components/redis/files";
import { waitFor } from "../../../testbed/servers/processes";
import { LOOPBACK, LocalRedisGroup, redisPorts } from "../../../testbed/servers/redis";
import { parseStack, stackConfig } from "../../support/config";
import { testPasswords } from "../../support/redis";
import { APP_COMMAND_AUDIT, auditTable } from "../../support/redisAppAudit";
import { REDIS_74_ONLY_COMMANDS } from "../../support/redis74Commands";
import {
    CommandDoc,
    Targets,
    aclAllows,
    commandDocs,
    commandInfo,
    invocations,
    rawCommands,
} from "../../support/redisCommands";

const dev = parseStack("dev");

/**
 * The dev stack with every application's clients set to `clients` (`apps[].redis.clients`; unset: the default), so
 * each shared-group profile's grants are probed. `sessions` is refused on a shared group (its own test).
 */
function devWithClients(clients: readonly RedisClient[] | undefined): PlatformConfig {
    const apps = JSON.parse(stackConfig("dev").config["data-platform:apps"]) as Record<string, unknown>[];
    return parseStack("dev", {
        "data-platform:apps": apps.map((app) => (clients ? { ...app, redis: { clients } } : app)),
    });
}

/** The channel patterns (`&...`) of an ACL rule line. */
function channelPatterns(rules: string): string[] {
    return rules
        .split(" ")
        .filter((r) => r.startsWith("&"))
        .map((r) => r.slice(1));
}

interface Leak {
    /** The ACL name of the command (`client|tracking`). */
    readonly command: string;
    readonly how: "key" | "channel" | "db" | "reply" | "effect" | "script";
    readonly argv: readonly string[];
    readonly reply: string;
}

function targets(app: AppConfig): Targets {
    return { keyPrefix: `${app.name}:`, channelPrefix: `${app.name}:`, db: app.redisDb };
}

for (const clients of [undefined, ["plain"], ["celery"]] as const) {
    describe(`application ACL users on a real server, every documented command (rendered dev config, clients ${clients ? JSON.stringify(clients) : "unset"})`, function () {
        this.timeout(120_000);
        const config = devWithClients(clients);
        let g: LocalRedisGroup;
        let admin: Redis;
        let docs: CommandDoc[];
        before(async () => {
            g = new LocalRedisGroup({
                redis: config.redis,
                apps: config.apps,
                passwords: testPasswords(config),
                ports: await redisPorts(config.redis),
            });
            g.startAll();
            await waitFor("the standalone master", 10_000, async () =>
                (await g.masters()).length === 1 ? true : undefined,
            );
            admin = g.admin("data", 0);
            await admin.connect();
            docs = await commandDocs(admin);
        });
        after(async () => {
            admin?.disconnect();
            await g?.stop();
        });

        function client(app: AppConfig, db = app.redisDb): Redis {
            const c = new Redis({
                host: LOOPBACK,
                port: g.port("data", 0),
                username: app.name,
                password: g.options.passwords.apps[app.name],
                db,
                lazyConnect: true,
                enableReadyCheck: false,
                maxRetriesPerRequest: 0,
                retryStrategy: () => null,
            });
            c.on("error", () => undefined);
            return c;
        }

        /** Runs one command as `app` on a fresh connection in its database; the reply or the error, as text. */
        async function run(app: AppConfig, argv: readonly string[]): Promise<string> {
            const replies = await rawCommands(LOOPBACK, g.port("data", 0), [
                ["AUTH", app.name, g.options.passwords.apps[app.name]],
                ["SELECT", String(app.redisDb)],
                argv,
            ]);
            assert.deepEqual(replies.slice(0, 2), ["OK", "OK"], `${app.name} could not log in`);
            return replies[2] ?? "(no reply within 1 s)";
        }

        /** Keys and values of a database, as admin sees them. */
        async function snapshot(db: number): Promise<string> {
            await admin.select(db);
            const keys = ((await admin.call("KEYS", "*")) as string[]).sort();
            const dumps = await Promise.all(keys.map((k) => admin.dumpBuffer(k)));
            await admin.select(0);
            return JSON.stringify(keys.map((k, i) => [k, dumps[i]?.toString("base64")]));
        }

        /** The victim's data: keys of several types in its database, and live subscriptions on its channels. */
        async function seedVictim(victim: AppConfig): Promise<void> {
            const p = targets(victim).keyPrefix;
            await admin.select(victim.redisDb);
            await admin.flushdb();
            await admin.set(`${p}k`, `${victim.name}-secret`);
            await admin.hset(`${p}h`, "f", `${victim.name}-secret`);
            await admin.rpush(`${p}l`, `${victim.name}-secret`);
            await admin.select(0);
        }

        /** A refusal by the ACL (inside a script, the same check answers in other words). */
        function denied(text: string): boolean {
            return /NOPERM|no permissions|The user executing the script can't/.test(text);
        }

        /** They act on the caller's own subscriptions only and echo their arguments: naming a channel there reaches nothing. */
        const OWN_SUBSCRIPTIONS = ["unsubscribe", "punsubscribe", "sunsubscribe"];

        async function probe(attacker: AppConfig, victim: AppConfig): Promise<{ leaks: Leak[]; probed: number }> {
            const own = targets(attacker);
            const theirs = targets(victim);
            const marks = [theirs.keyPrefix, theirs.channelPrefix, `${victim.name}-secret`];
            await seedVictim(victim);
            let messages = 0;
            const subscriber = client(victim);
            subscriber.on("message", () => messages++);
            subscriber.on("pmessage", () => messages++);
            await subscriber.connect();
            await subscriber.subscribe(`${theirs.channelPrefix}chan`);
            // Every pattern the victim's clients subscribe to (its profiles' channels), as they send it.
            const victimPatterns = channelPatterns(appRules(victim));
            await subscriber.psubscribe(...victimPatterns);
            const before = await snapshot(victim.redisDb);
            const leaks: Leak[] = [];
            let probed = 0;

            /** Runs `argv` for real and records what reached the victim; restores the victim's data after a change. */
            async function execute(
                command: string,
                argv: string[],
                how: Leak["how"],
                refuseAll: boolean,
            ): Promise<void> {
                const sent = messages;
                const reply = await run(attacker, argv);
                if (refuseAll && !denied(reply)) {
                    leaks.push({ command, how, argv, reply });
                } else if (marks.some((m) => reply.includes(m))) {
                    leaks.push({ command, how: "reply", argv, reply });
                }
                if ((await snapshot(victim.redisDb)) !== before || messages !== sent) {
                    leaks.push({ command, how: "effect", argv, reply });
                    await seedVictim(victim);
                }
            }

            for (const doc of docs) {
                const mine = invocations(doc, own);
                const seen = new Set(mine.map((argv) => argv.join(" ")));
                const attacks: [Leak["how"], Targets][] = [
                    ["key", { ...own, keyPrefix: theirs.keyPrefix }],
                    ["channel", { ...own, channelPrefix: theirs.channelPrefix }],
                    ["db", { ...own, db: theirs.db }],
                ];
                for (const [how, t] of OWN_SUBSCRIPTIONS.includes(doc.name) ? [] : attacks) {
                    for (const argv of invocations(doc, t).filter((a) => !seen.has(a.join(" ")))) {
                        const verdict = await admin
                            .call("ACL", "DRYRUN", attacker.name, ...argv)
                            .catch((e: Error) => e);
                        probed++;
                        // Allowed by the ACL: the command itself may still refuse (e.g. tracking prefixes); run it.
                        if (verdict === "OK") {
                            await execute(doc.name, argv, how, true);
                        }
                    }
                }
                for (const argv of mine) {
                    const verdict = await admin.call("ACL", "DRYRUN", attacker.name, ...argv).catch((e: Error) => e);
                    probed++;
                    if (verdict === "OK") {
                        await execute(doc.name, argv, "reply", false);
                    }
                }
            }
            // Scripts run their commands under the caller's ACL, including keys they did not declare.
            const scripts = [
                `return redis.call('GET', '${theirs.keyPrefix}k')`,
                `redis.call('SELECT', ${theirs.db}) return redis.call('GET', '${theirs.keyPrefix}k')`,
                `redis.call('SET', '${own.keyPrefix}k', 'x') return redis.call('COPY', '${own.keyPrefix}k', '${theirs.keyPrefix}k', 'DB', ${theirs.db})`,
                `redis.call('SET', '${own.keyPrefix}k', 'x') return redis.call('MOVE', '${own.keyPrefix}k', ${theirs.db})`,
                `return redis.call('PUBLISH', '${theirs.channelPrefix}chan', 'x')`,
                `return redis.call('PUBSUB', 'CHANNELS')`,
            ];
            for (const body of scripts) {
                await execute("eval", ["EVAL", body, "0"], "script", true);
            }
            // The victim's channels by the names its clients use (Celery's remote control and events with its profile):
            // subscribing to its patterns, or to or publishing on a channel they match, must be refused.
            for (const pattern of victimPatterns) {
                const channel = pattern.replace(/\*/g, "x");
                for (const argv of [
                    ["PSUBSCRIBE", pattern],
                    ["SUBSCRIBE", channel],
                    ["PUBLISH", channel, "x"],
                    ["SPUBLISH", channel, "x"],
                ]) {
                    await execute(argv[0].toLowerCase(), argv, "channel", true);
                }
            }
            // Broadcast tracking pushes (RESP3) an invalidation naming every changed key under the prefix, in any
            // database: redis 7.0 checks no key permission on the prefix. The table's one-option-at-a-time invocations
            // never combine BCAST with PREFIX.
            await execute(
                "client|tracking",
                ["CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", theirs.keyPrefix],
                "key",
                true,
            );
            subscriber.disconnect();
            return { leaks, probed };
        }

        const [orders, billing] = ["orders", "billing"].map((name) => config.apps.find((a) => a.name === name)!);
        for (const [attacker, victim] of [
            [orders, billing],
            [billing, orders],
        ]) {
            it(`${attacker.name} reaches none of ${victim.name}'s keys, database or channels`, async () => {
                assert.ok(docs.length > 200, `COMMAND DOCS listed ${docs.length} commands`);
                const { leaks, probed } = await probe(attacker, victim);
                assert.ok(probed > 500, `only ${probed} invocations probed`);
                const commands = [...new Set(leaks.map((l) => l.command))];
                const byWay = [...new Set(leaks.map((l) => l.how))].map(
                    (how) => `${how}: ${new Set(leaks.filter((l) => l.how === how).map((l) => l.command)).size}`,
                );
                assert.deepEqual(
                    leaks.map((l) => `${l.how}: ${l.argv.join(" ")} -> ${l.reply.slice(0, 120)}`),
                    [],
                    `${commands.length} commands leaked (${byWay.join(", ")}; ${probed} invocations probed): ${commands.join(", ")}`,
                );
            });
        }

        it("every command an application may run (this server's table and 7.4's additions) is audited for keyless, server-wide state", async () => {
            const rules = appRules(orders);
            const infos = await commandInfo(admin);
            // The rule evaluator agrees with this server on every command it knows, so it may judge 7.4's additions.
            const disagreements: string[] = [];
            for (const doc of docs) {
                const info = infos.find((i) => i.name === doc.name)!;
                // DRYRUN checks the arity first; a command documented without arguments (DEBUG) gets one.
                const dryRun = (argv: readonly string[]) =>
                    admin.call("ACL", "DRYRUN", orders.name, ...argv).catch((e: Error) => e.message);
                const argv = invocations(doc, targets(orders))[0];
                let verdict = await dryRun(argv);
                if (/wrong number of arguments/.test(String(verdict))) {
                    verdict = await dryRun([...argv, "x"]);
                }
                const serverAllows = !/no permissions to run the/.test(String(verdict));
                if (aclAllows(rules, info) !== serverAllows) {
                    disagreements.push(`${doc.name}: server ${String(verdict)}`);
                }
            }
            assert.deepEqual(disagreements, []);
            const known = new Set(infos.map((i) => i.name));
            const runnable = [...infos, ...REDIS_74_ONLY_COMMANDS.filter((c) => !known.has(c.name))].filter((c) =>
                aclAllows(rules, c),
            );
            console.log(`\n${auditTable(APP_COMMAND_AUDIT)}\n`);
            const isRunnable = (name: string) => runnable.some((c) => c.name === name);
            assert.deepEqual(
                {
                    unaudited: runnable
                        .filter((c) => c.keyless && APP_COMMAND_AUDIT[c.name] === undefined)
                        .map((c) => c.name),
                    deniedButRunnable: Object.keys(APP_COMMAND_AUDIT).filter(
                        (n) => !APP_COMMAND_AUDIT[n].allowed && isRunnable(n),
                    ),
                    allowedButRefused: Object.keys(APP_COMMAND_AUDIT).filter(
                        (n) => APP_COMMAND_AUDIT[n].allowed && !isRunnable(n),
                    ),
                },
                { unaudited: [], deniedButRunnable: [], allowedButRefused: [] },
            );
        });

        it("no application loads, replaces, deletes or restores a function library; FCALL runs the admin's", async () => {
            const library = "#!lua name=platformlib\nredis.register_function('hello', function() return 'hi' end)";
            await admin.call("FUNCTION", "LOAD", "REPLACE", library);
            try {
                const replies = await rawCommands(LOOPBACK, g.port("data", 0), [
                    ["AUTH", orders.name, g.options.passwords.apps[orders.name]],
                    ["FUNCTION", "LOAD", "REPLACE", library.replace("'hi'", "'stolen'")],
                    ["FUNCTION", "DELETE", "platformlib"],
                    ["FUNCTION", "FLUSH"],
                    ["FUNCTION", "RESTORE", "x", "FLUSH"],
                    ["FCALL", "hello", "0"],
                ]);
                assert.equal(replies[0], "OK");
                assert.ok(
                    replies.slice(1, 5).every((r) => /^-NOPERM/.test(r)),
                    replies.join("\n"),
                );
                assert.equal(replies[5], "hi");
            } finally {
                await admin.call("FUNCTION", "FLUSH");
            }
        });
    });
}

describe("platform state on a real data node is out of a tenant's reach (an application named like the platform, key pattern *)", function () {
    this.timeout(60_000);
    const tenant: AppConfig = {
        ...dev.apps[0],
        name: "data-platform",
        redisKeyPatterns: ["*"],
        redisExtraDatabases: [],
    };
    let g: LocalRedisGroup;
    before(async () => {
        g = new LocalRedisGroup({
            redis: dev.redis,
            apps: [tenant],
            passwords: { ...testPasswords(dev), apps: { [tenant.name]: "tenant-password" } },
            ports: await redisPorts(dev.redis),
        });
        g.startAll();
        await waitFor("the standalone master", 10_000, async () =>
            (await g.masters()).length === 1 ? true : undefined,
        );
    });
    after(() => g?.stop());

    it("cannot take or drop the Sentinels' restart lock (a held lock blocks every certificate reload)", async () => {
        const { db, key } = restartLock(dev.redis);
        const replies = await rawCommands(LOOPBACK, g.port("data", 0), [
            ["AUTH", tenant.name, "tenant-password"],
            ["SET", key, "tenant"],
            ["SELECT", String(db)],
            ["SET", key, "tenant"],
            ["EVAL", `redis.call('SELECT', ${db}) return redis.call('SET', KEYS[1], 'tenant')`, "1", key],
        ]);
        assert.equal(replies[0], "OK");
        const admin = g.admin("data", 0);
        await admin.connect();
        try {
            await admin.select(db);
            assert.equal(await admin.exists(key), 0, `the tenant wrote the lock: ${replies.join(" | ")}`);
        } finally {
            admin.disconnect();
        }
    });
});
