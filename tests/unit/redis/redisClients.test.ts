/**
 * Redis client profiles (`apps[].redis.clients`, components/redis/clients.ts): the patterns each grants, all under the
 * application's prefix, the groups each may run on, the `default` user of a password-only client's dedicated group,
 * and the prefix in the contract. Their behaviour on real servers: tests/servers/redis/redisClientProfiles.test.ts,
 * their isolation: tests/servers/redis/redisTenantAcl.test.ts.
 */
import { strict as assert } from "assert";
import { appKeyPatterns, appRules, redisTenants, renderDataAcl, sha256Hex } from "../../../components/redis/acl";
import { REDIS_CLIENT_PROFILES, celeryFanoutChannels, redisKeyPrefix } from "../../../components/redis/clients";
import { redisEnv } from "../../../components/redis/env";
import { redisGroupSettings } from "../../../components/redis/groups";
import { REDIS_CLIENTS } from "../../../components/config/platform";
import { parseStack, problemLines } from "../../support/config";

/** The channel patterns (`&...`) of an ACL rule line. */
function channels(rules: string): string[] {
    return rules
        .split(" ")
        .filter((r) => r.startsWith("&"))
        .map((r) => r.slice(1));
}

const APP = { name: "worker", redisDb: 2, redisKeyPatterns: [] as string[] };

describe("Redis client profiles (apps[].redis.clients)", () => {
    it("plain: keys and channels under the prefix only", () => {
        const rules = appRules({ ...APP, redis: { clients: ["plain"] } });
        assert.match(rules, /^resetchannels ~worker:\* &worker:\* -@all /);
        assert.deepEqual(channels(rules), ["worker:*"]);
    });

    it("celery: kombu's fanout patterns as it PSUBSCRIBEs them (remote control, gossip, event receivers), both spellings of the database", () => {
        assert.deepEqual(channels(appRules({ ...APP, redis: { clients: ["celery"] } })), [
            "worker:*",
            "worker:/{db}.celery.pidbox",
            "worker:/{db}.celeryev/worker.*",
            "worker:/{db}.celeryev/*",
            "worker:/2.celery.pidbox",
            "worker:/2.celeryev/worker.*",
            "worker:/2.celeryev/*",
        ]);
    });

    it("unset: plain and celery, what every application had, with event receivers' pattern added", () => {
        const unset = appRules(APP);
        assert.equal(unset, appRules({ ...APP, redis: { clients: ["plain", "celery"] } }));
        assert.deepEqual(channels(unset), ["worker:*", ...celeryFanoutChannels(APP)]);
    });

    it("every pattern a shared-group profile grants starts with the application's prefix, which holds no other application's name", () => {
        for (const client of REDIS_CLIENTS.filter((c) => !REDIS_CLIENT_PROFILES[c].needsDedicatedGroup)) {
            for (const pattern of channels(appRules({ ...APP, redis: { clients: [client] } }))) {
                assert.ok(pattern.startsWith(redisKeyPrefix(APP)), `${client}: ${pattern}`);
            }
        }
        // Names are DNS labels (no ':'): one application's prefix is never the start of another's.
        assert.ok(!"worker-eu:".startsWith(redisKeyPrefix(APP)));
    });

    it("keys: the application's own patterns and its prefix; * alone (redis-server refuses a pattern after ~*)", () => {
        assert.deepEqual(appKeyPatterns({ name: "billing", redisKeyPatterns: ["billing:*", "invoices:*"] }), [
            "billing:*",
            "invoices:*",
        ]);
        assert.deepEqual(appKeyPatterns({ name: "billing", redisKeyPatterns: ["invoices:*"] }), [
            "invoices:*",
            "billing:*",
        ]);
        assert.deepEqual(appKeyPatterns({ name: "billing", redisKeyPatterns: ["billing:*", "*"] }), ["*"]);
    });

    it("refuses a client that names its keys itself on a shared group, saying to use a dedicated one", () => {
        const lines = problemLines("dev", {
            "data-platform:apps": [
                { name: "orders", namespace: "orders", redisDb: 1 },
                { name: "sessions", namespace: "sessions", redisDb: 2, redis: { clients: ["plain", "sessions"] } },
            ],
        });
        assert.deepEqual(lines, [
            'data-platform:apps[1].redis.clients: given ["plain","sessions"]; allowed: plain or celery on a shared Redis group; ' +
                `sessions (${REDIS_CLIENT_PROFILES.sessions.needsDedicatedGroup}) needs a group of its own: ` +
                "redis.groups.<name>.dedicated: true and apps[1].redis.group: <name>",
        ]);
        assert.deepEqual(
            problemLines("dev", {
                "data-platform:apps": [
                    { name: "orders", namespace: "orders", redisDb: 1, redis: { clients: ["redis"] } },
                ],
            }),
            ['data-platform:apps[0].redis.clients[0]: given "redis"; allowed: one of "plain", "celery", "sessions"'],
        );
    });

    it("sessions on a dedicated group: the application is also the default user, with its passwords (both during a rotation) and rules", () => {
        const config = parseStack("dev", {
            "data-platform:redis": { mode: "standalone", groups: { store: { mode: "standalone", dedicated: true } } },
            "data-platform:apps": [
                { name: "orders", namespace: "orders", redisDb: 1 },
                {
                    name: "sessions",
                    namespace: "sessions",
                    redisDb: 1,
                    redis: { group: "store", clients: ["sessions"] },
                },
            ],
        });
        const store = redisGroupSettings(config.redis, "store");
        const tenants = redisTenants(store, [config.apps[1]]);
        const file = renderDataAcl("standalone", tenants, {
            admin: "a",
            monitor: "m",
            apps: { sessions: "now" },
            previous: { apps: { sessions: "before" } },
        });
        const rules = appRules(tenants[0]);
        assert.match(rules, /^resetchannels ~\* &\* /);
        const [first] = file.split("\n");
        assert.equal(first, `user default on #${sha256Hex("now")} #${sha256Hex("before")} ${rules}`);
        assert.ok(file.includes(`\nuser sessions on #${sha256Hex("now")} #${sha256Hex("before")} ${rules}\n`));
        // A dedicated group whose client names a user keeps `default` off, as every shared group does.
        const celery = redisTenants(store, [{ ...config.apps[1], redis: { group: "store", clients: ["celery"] } }]);
        assert.equal(
            renderDataAcl("standalone", celery, { admin: "a", monitor: "m", apps: { sessions: "now" } }).split("\n")[0],
            "user default off resetchannels -@all",
        );
    });

    it("hands out the prefix in every mode: REDIS_KEY_PREFIX", () => {
        const prod = parseStack("prod");
        const dev = parseStack("dev");
        for (const config of [prod, dev]) {
            const env = redisEnv({
                redis: config.redis,
                layout: {
                    dataNodes: [{ host: "h", port: 1 }],
                    sentinels: [{ host: "s", port: 2 }],
                    masterEndpoint: { host: "m", port: 3 },
                },
                app: config.apps[0],
                password: "p",
                sentinelPassword: "s",
            });
            assert.equal(env.REDIS_KEY_PREFIX, "orders:", config.redis.mode);
        }
    });
});
