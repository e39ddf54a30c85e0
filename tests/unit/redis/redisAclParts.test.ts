/**
 * The data nodes' users file in Key Vault: one secret value may hold at most 25 KB ("25k bytes",
 * MicrosoftDocs/azure-security-docs key-vault/secrets/about-secrets.md), and the file grows ~0.5 KB per application,
 * so one secret held it up to ~40 applications. It is kept in parts, planned from the configuration alone.
 */
import { strict as assert } from "assert";
import type { AppConfig } from "../../../components/config/platform";
import {
    ACL_MARKER_PREFIX,
    RedisPasswords,
    appRedisUserNames,
    dataAclParts,
    renderDataAcl,
} from "../../../components/redis/acl";
import { aclSecretData } from "../../../components/redis/spec";
import { parseStack, problemLines, sectionOverride } from "../../support/config";

const KEY_VAULT_VALUE_LIMIT = 25_000;

/** `count` applications as a large tenant writes them: long names, several key patterns, an extra database each. */
function apps(count: number): AppConfig[] {
    return Array.from({ length: count }, (_, i) => {
        const name = `application-number-${String(i).padStart(4, "0")}`.slice(0, 30);
        return {
            name,
            namespace: name,
            createNamespace: true,
            podSecurity: "restricted",
            database: name.replace(/-/g, "_"),
            redisDb: 1 + (i % 15),
            redisKeyPatterns: [`${name}:*`, `sessions-${i}:*`, `cache-${i}:*`],
            redisExtraDatabases: [{ name: "cache", db: 1 + ((i + 1) % 15), keyPatterns: [] }],
            poolSize: 10,
            replicas: 3,
            secretName: `${name}-data`,
            env: {},
            serviceAccounts: [name],
        } satisfies AppConfig;
    });
}

/** Distinct current and previous passwords for every user: every line at its longest (two hashes). */
function rotatedPasswords(list: readonly AppConfig[]): RedisPasswords {
    const users = list.flatMap(appRedisUserNames);
    const roles = { admin: "a", monitor: "m", replication: "r", sentinel: "s", sentinelClient: "c" };
    return {
        ...roles,
        apps: Object.fromEntries(users.map((u) => [u, `${u}-now`])),
        previous: {
            ...Object.fromEntries(Object.entries(roles).map(([k, v]) => [k, `${v}-before`])),
            apps: Object.fromEntries(users.map((u) => [u, `${u}-before`])),
        },
    };
}

const MARKER = `${ACL_MARKER_PREFIX}${"f".repeat(32)}`;

describe("the Redis users file in Key Vault, in parts", () => {
    for (const count of [3, 100, 1000]) {
        it(`${count} applications: every part under Key Vault's 25 KB, the parts joined are the file, the marker last`, () => {
            const list = apps(count);
            const passwords = rotatedPasswords(list);
            const parts = dataAclParts("sentinel", list, passwords, MARKER);
            const file = renderDataAcl("sentinel", list, passwords, MARKER);
            assert.equal(parts.join(""), file);
            const largest = Math.max(...parts.map((p) => Buffer.byteLength(p)));
            assert.ok(largest < KEY_VAULT_VALUE_LIMIT, `largest part ${largest} bytes`);
            assert.ok(parts.at(-1)!.trimEnd().endsWith(`user ${MARKER} on nopass resetchannels -@all`));
            // One synced key per part, in the order the pods join them, and the parts are known before any password.
            assert.deepEqual(
                aclSecretData({ mode: "sentinel" }, list)
                    .map((d) => d.secretKey)
                    .filter((k) => k.startsWith("users.acl")),
                parts.map((_, i) => (i === 0 ? "users.acl" : `users.acl.${String(i).padStart(3, "0")}`)),
            );
            console.log(
                `      ${count} apps: users file ${Buffer.byteLength(file)} B in ${parts.length} part(s), largest ${largest} B (limit 25,000)`,
            );
        });
    }

    it("a password not yet rotated (one hash) never makes a part longer than planned", () => {
        const list = apps(200);
        const rotated = rotatedPasswords(list);
        const fresh = { ...rotated, previous: undefined };
        const planned = dataAclParts("sentinel", list, rotated, MARKER).map((p) => p.split("\n").length);
        assert.deepEqual(
            dataAclParts("sentinel", list, fresh, MARKER).map((p) => p.split("\n").length),
            planned,
        );
    });
});

describe("the Redis users file against Kubernetes' Secret limit", () => {
    it("refuses a stack whose users file could outgrow the redis-acl Secret (1 MiB), naming the limit and its source", () => {
        // Each application with its own database and many long key patterns: the file grows past the Secret's limit.
        const many = (count: number) =>
            Array.from({ length: count }, (_, i) => {
                const name = `tenant-application-${String(i).padStart(3, "0")}`;
                return {
                    name,
                    namespace: name,
                    redisDb: 1 + i,
                    redisKeyPatterns: Array.from({ length: 30 }, (_, k) => `${name}:kind-of-data-${k}:*`),
                    poolSize: 1,
                    replicas: 1,
                };
            });
        const sections = {
            "data-platform:redis": { mode: "standalone", databases: 1023 },
            ...sectionOverride("dev", "postgres", { maxConnections: 1000 }),
        };
        // (The login Job's ConfigMap is over its own limit at this size too: tests/properties/limits.test.ts.)
        const lines = problemLines("dev", {
            "data-platform:apps": many(500),
            ...sections,
        }).filter((l) => l.includes("Redis users file"));
        assert.equal(lines.length, 1, lines.join("\n"));
        assert.match(
            lines[0],
            /^data-platform:apps: given "500 applications \(a Redis users file of up to \d+ bytes\)"; allowed: .*700000 bytes.*Secret redis-acl.*Kubernetes.*1 MiB/,
        );
        parseStack("dev", { "data-platform:apps": many(200), ...sections });
    });
});
