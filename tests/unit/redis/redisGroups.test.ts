/**
 * Named Redis groups (`redis.groups`, `apps[].redis.group`): each group its own objects, credentials and Key Vault
 * secrets under its prefix; the default group keeps every name and URN it had; the config refuses names that would
 * collide, applications of a group that does not exist, and a second application on a dedicated group.
 */
import { strict as assert } from "assert";
import { INSTANCE_NAME } from "../../../components/config/names";
import { RESERVED_GROUP_NAMES } from "../../../components/redis/configRules";
import { appRules } from "../../../components/redis/acl";
import { isManifest } from "../../../offline/plan";
import { parseStack, problemLines, sectionOverride } from "../../support/config";
import { runStack } from "../../support/program";
import { assertKeepsCustomResources, duplicateNames, mandatoryViolations } from "../../support/programChecks";

/** prod's issuer signs every group's certificate: each TLS group hands out its CA (redis.tls needs redis.tlsCaCert). */
const PROD_CA = parseStack("prod").redis.tlsCaCert;
const PROD_GROUPS = {
    celery: { dedicated: true, tlsCaCert: PROD_CA },
    caches: { maxmemoryPolicy: "allkeys-lru", mode: "standalone", tlsCaCert: PROD_CA },
};

/** prod with two named groups and an application on each (the default group keeps prod's three). */
const withGroups = {
    "data-platform:redis": { ...parseStackSection("prod"), groups: PROD_GROUPS },
    "data-platform:apps": [
        ...parseStack("prod").apps.map(({ name, namespace, redisDb }) => ({ name, namespace, redisDb })),
        { name: "worker", namespace: "worker", redisDb: 1, redis: { group: "celery" } },
        { name: "cache", namespace: "cache", redisDb: 1, redis: { group: "caches" } },
    ],
};

function parseStackSection(stack: string): Record<string, unknown> {
    const { groups: _none, ...own } = parseStack(stack).redis;
    return own;
}

describe("named Redis groups", function () {
    this.timeout(60_000);

    it("gives each group its own objects, credentials and Key Vault secrets: no name is taken twice", async () => {
        const run = await runStack("prod", withGroups);
        assert.deepEqual(duplicateNames(run.resources), []);
        const k8sNames = run.resources.filter(isManifest).map((r) => String(r.inputs.metadata?.name));
        for (const name of ["redis-celery", "redis-celery-sentinel", "redis-celery-auth", "redis-caches"]) {
            assert.ok(k8sNames.includes(name), `${name} in ${k8sNames.join(", ")}`);
        }
        const secrets = run.resources
            .filter((r) => r.type === "azure-native:keyvault:Secret")
            .map((r) => String(r.inputs.secretName));
        for (const id of ["redis-celery-admin", "redis-celery-users-acl", "redis-caches-monitor"]) {
            assert.ok(
                secrets.some((s) => s.endsWith(id)),
                `${id} in ${secrets.join(", ")}`,
            );
        }
    });

    it("passes the policy pack (no mandatory violation): each Sentinel group is its own majority (the pack counted every Sentinel of the stack)", async () => {
        const run = await runStack("prod", withGroups);
        assert.deepEqual(await mandatoryViolations("prod", run), []);
    });

    it("keeps every cloud and cluster resource of a stack without groups as it was (URN and inputs) when groups are added", async () => {
        const before = await runStack("prod");
        const after = await runStack("prod", {
            "data-platform:redis": { ...parseStackSection("prod"), groups: PROD_GROUPS },
        });
        assertKeepsCustomResources(before, after);
    });

    it("reserves every word the default group's own names use after redis-", async () => {
        const run = await runStack("prod");
        const names = run.resources.flatMap((r) => [
            r.name,
            ...(isManifest(r) ? [String(r.inputs.metadata?.name)] : []),
            ...(r.type === "azure-native:keyvault:Secret" ? [String(r.inputs.secretName)] : []),
        ]);
        const words = new Set(
            names.flatMap((n) => (/(?:^|-)redis-([a-z0-9]+)/.exec(n) ? [/(?:^|-)redis-([a-z0-9]+)/.exec(n)![1]] : [])),
        );
        assert.ok(words.size > 5);
        // A word no group may be named (`data-redis-0`, a pod's claim: a digit first) collides with none.
        for (const word of [...words].filter((w) => INSTANCE_NAME.test(w))) {
            assert.ok(RESERVED_GROUP_NAMES.includes(word), `redis-${word}... : ${word} is not reserved`);
        }
    });

    it("refuses reserved group names, unknown groups and a second application on a dedicated group", () => {
        const lines = problemLines("dev", {
            // Three applications of 10 x 2 cost 41 connections each through PgBouncer: room beyond dev's 100.
            ...sectionOverride("dev", "postgres", { maxConnections: 150 }),
            "data-platform:redis": { mode: "standalone", groups: { sentinel: {}, celery: { dedicated: true } } },
            "data-platform:apps": [
                { name: "orders", namespace: "orders", redisDb: 1, redis: { group: "nope" } },
                { name: "worker", namespace: "worker", redisDb: 1, redis: { group: "celery" } },
                { name: "beat", namespace: "beat", redisDb: 2, redis: { group: "celery" } },
            ],
        });
        assert.deepEqual(lines, [
            `data-platform:redis.groups: given "sentinel"; allowed: a group name other than ${RESERVED_GROUP_NAMES.join(", ")} (words of the default group's own names)`,
            'data-platform:apps[0].redis.group: given "nope"; allowed: one of default, celery, sentinel (redis.groups)',
            'data-platform:apps[2].redis.group: given "celery"; allowed: a group not dedicated to another application (redis.groups.celery.dedicated: apps[1] has it)',
        ]);
    });

    it("checks database indexes per group: two groups may use the same index", () => {
        const config = parseStack("dev", {
            "data-platform:redis": { mode: "standalone", groups: { cache: { mode: "standalone", databases: 4 } } },
            "data-platform:apps": [
                { name: "orders", namespace: "orders", redisDb: 1 },
                { name: "cache", namespace: "cache", redisDb: 1, redis: { group: "cache" } },
            ],
        });
        assert.equal(config.apps.length, 2);
        const lines = problemLines("dev", {
            "data-platform:redis": { mode: "standalone", groups: { cache: { mode: "standalone", databases: 4 } } },
            "data-platform:apps": [{ name: "cache", namespace: "cache", redisDb: 5, redis: { group: "cache" } }],
        });
        assert.deepEqual(lines, [
            "data-platform:apps[0].redisDb: given 5; allowed: an index from 1 to 3 (data-platform:redis.groups.cache.databases is 4)",
        ]);
    });

    it("refuses a production group without TLS unless it is dedicated: a shared one's passwords would cross the pod network in clear", () => {
        const lines = problemLines("prod", {
            "data-platform:redis": {
                ...parseStackSection("prod"),
                tls: false,
                groups: {
                    ...PROD_GROUPS,
                    caches: { mode: "standalone", tls: false },
                    legacy: { dedicated: true, tls: false },
                },
            },
            "data-platform:apps": [
                ...parseStack("prod").apps.map(({ name, namespace, redisDb }) => ({ name, namespace, redisDb })),
                { name: "cache", namespace: "cache", redisDb: 1, redis: { group: "caches" } },
                { name: "legacy", namespace: "legacy", redisDb: 1, redis: { group: "legacy" } },
            ],
        });
        assert.deepEqual(lines, [
            "data-platform:redis.tls: given false; allowed: true in production: the default group is shared, and a group without TLS carries its users' passwords and data in clear across the pod network (a dedicated group may: redis.groups.<name>.dedicated)",
            "data-platform:redis.groups.caches.tls: given false; allowed: true in production, unless redis.groups.caches.dedicated is true: a group without TLS carries its users' passwords and data in clear across the pod network (on a dedicated group one application's alone, which only its namespace may reach)",
        ]);
        // Development's default: no TLS on any group.
        const dev = parseStack("dev", {
            "data-platform:redis": { mode: "standalone", groups: { caches: { mode: "standalone", tls: false } } },
        });
        assert.equal(dev.redis.groups.caches.tls, false);
    });

    it("lets only its application's namespace reach a dedicated group's ports (data, Sentinels, master endpoint); a shared group every consumer namespace", async () => {
        const run = await runStack("prod", withGroups);
        const ingressFrom = (name: string) => {
            const policy = run.resources.find(
                (r) => r.type === "kubernetes:networking.k8s.io/v1:NetworkPolicy" && r.inputs.metadata?.name === name,
            );
            assert.ok(policy, name);
            return policy.inputs.spec.ingress[0].from.filter((peer: Record<string, unknown>) => peer.namespaceSelector);
        };
        const only = (namespace: string) => [
            { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } } },
        ];
        const consumers = [{ namespaceSelector: { matchLabels: { "data-platform.io/consumer": "true" } } }];
        for (const name of ["redis-celery", "redis-celery-sentinel", "redis-celery-master"]) {
            assert.deepEqual(ingressFrom(name), only("worker"), name);
        }
        for (const name of ["redis", "redis-sentinel", "redis-master", "redis-caches"]) {
            assert.deepEqual(ingressFrom(name), consumers, name);
        }
    });

    it("grants a dedicated group's application every key and channel, in its own database only", () => {
        const app = { name: "worker", redisDb: 3, redisKeyPatterns: [] };
        assert.match(appRules({ ...app, dedicated: true }), /^resetchannels ~\* &\* .* -select \+select\|3$/);
        assert.match(appRules(app), /^resetchannels ~worker:\* &worker:\* /);
    });
});
