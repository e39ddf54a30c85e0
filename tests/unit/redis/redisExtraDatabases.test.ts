/**
 * Extra Redis databases per application (`apps[].redisExtraDatabases`): the config refuses what would collide, and the
 * plan holds one ACL user, one credential and the `REDIS_<NAME>_*` contract keys per extra database.
 */
import { strict as assert } from "assert";
import type { PlatformConfig } from "../../../components/config";
import { credentialSecretName } from "../../../components/vault";
import { appRules, extraDatabaseRules, sha256Hex } from "../../../components/redis/acl";
import { redisAppCredentialId } from "../../../components/redis/credentials";
import { appContractKeys, contractKeys, contractShape } from "../../../components/envContract";
import type { RunResult } from "../../../offline/mockEngine";
import { loadStackConfig } from "../../../offline/stackConfig";
import { parseStack, problemLines } from "../../support/config";
import { EXTERNAL_SECRET, expandExternalSecret, vaultContents } from "../../support/esoOperator";
import { byName, byType, runStack } from "../../support/program";

const APPS_KEY = "data-platform:apps";

/** The stack file's applications, with `extras` as the first one's (orders) extra databases. */
function withExtras(stack: string, extras: unknown[], more: unknown[] = []): Record<string, unknown> {
    const apps = JSON.parse(loadStackConfig(stack).config[APPS_KEY]) as Record<string, unknown>[];
    return { [APPS_KEY]: [{ ...apps[0], redisExtraDatabases: extras }, ...apps.slice(1), ...more] };
}

describe("redisExtraDatabases in the config", () => {
    it("is opt-in: the stack files' applications have none", () => {
        for (const stack of ["dev", "prod"]) {
            assert.ok(parseStack(stack).apps.every((a) => a.redisExtraDatabases.length === 0));
        }
    });

    it("accepts named databases of their own, with key patterns defaulting to the application's prefix", () => {
        const config = parseStack("dev", withExtras("dev", [{ name: "cache", db: 5 }]));
        assert.deepEqual(config.apps[0].redisExtraDatabases, [{ name: "cache", db: 5, keyPatterns: [] }]);
    });

    it("refuses bad names and indexes, with their key paths", () => {
        const at = "data-platform:apps[0].redisExtraDatabases";
        assert.deepEqual(
            problemLines(
                "dev",
                withExtras("dev", [
                    { name: "Cache", db: 0 },
                    { name: "sessions-x", db: 5, extra: 1 },
                ]),
            ),
            [
                `${at}[0].name: given "Cache"; allowed: a string of 0 to 12 characters matching ^[a-z][a-z0-9]*$`,
                `${at}[0].db: given 0; allowed: an integer from 1 to 1023`,
                `${at}[1].name: given "sessions-x"; allowed: a string of 0 to 12 characters matching ^[a-z][a-z0-9]*$`,
                `${at}[1].extra: given 1; allowed: no such key; known keys: name, db, keyPatterns`,
            ],
        );
    });

    it("refuses an index another database of any application has, or at or above redis.databases", () => {
        const at = "apps[0].redisExtraDatabases";
        const dev = parseStack("dev");
        const [orders, billing] = dev.apps;
        const taken = "a Redis database index not used by another application of its Redis group";
        assert.deepEqual(
            problemLines(
                "dev",
                withExtras("dev", [
                    { name: "cache", db: billing.redisDb },
                    { name: "sessions", db: orders.redisDb },
                    { name: "tmp", db: 7 },
                    { name: "again", db: 7 },
                ]),
            ),
            [
                `data-platform:${at}[0].db: given ${billing.redisDb}; allowed: ${taken} (apps[1] has it)`,
                `data-platform:${at}[1].db: given ${orders.redisDb}; allowed: ${taken} (apps[0] has it)`,
                `data-platform:${at}[3].db: given 7; allowed: ${taken} (${at}[2] has it)`,
            ],
        );
        const max = dev.redis.databases;
        assert.deepEqual(problemLines("dev", withExtras("dev", [{ name: "cache", db: max }])), [
            `data-platform:${at}[0].db: given ${max}; allowed: an index from 1 to ${max - 1} (data-platform:redis.databases is ${max})`,
        ]);
    });

    it("refuses ACL users another application has, duplicate names, and names whose keys are the contract's own", () => {
        const at = "data-platform:apps[0].redisExtraDatabases";
        const other = { name: "orders-cache", namespace: "orders-cache", redisDb: 9 };
        assert.deepEqual(
            problemLines(
                "dev",
                withExtras(
                    "dev",
                    [
                        { name: "cache", db: 5 },
                        { name: "cache", db: 6 },
                        { name: "sentinel", db: 7 },
                    ],
                    [other],
                ),
            ),
            [
                `${at}[0].name: given "cache"; allowed: a name whose ACL user orders-cache is not taken (apps[2].name is orders-cache)`,
                `${at}[1].name: given "cache"; allowed: a name not used by another extra database of the application`,
                `${at}[2].name: given "sentinel"; allowed: a name whose keys are not the contract's own (REDIS_SENTINEL_PASSWORD)`,
            ],
        );
    });
});

/** The stacks with a cache beside orders' own database. */
for (const stack of ["dev", "prod"]) {
    describe(`extra Redis databases in the plan (${stack})`, () => {
        const overrides = withExtras(stack, [{ name: "cache", db: 5 }]);
        let config: PlatformConfig;
        let run: RunResult;
        let base: RunResult;
        before(async () => {
            config = parseStack(stack, overrides);
            [run, base] = await Promise.all([runStack(stack, overrides), runStack(stack)]);
        });

        function password(result: RunResult, id: string): string {
            const found = byType(result, "random:index/randomPassword:RandomPassword").filter((r) =>
                r.name.endsWith(id),
            );
            assert.equal(found.length, 1, id);
            return String(found[0].outputs.result);
        }

        it("adds one credential redis-app-orders-cache and keeps every existing Key Vault secret name", () => {
            const names = (r: RunResult) => [...vaultContents(r).keys()];
            const added = names(run).filter((n) => !names(base).includes(n));
            assert.deepEqual(added, [credentialSecretName(redisAppCredentialId("orders-cache")).toLowerCase()]);
            assert.deepEqual(
                names(base).filter((n) => !names(run).includes(n)),
                [],
            );
        });

        it("renders an ACL user orders-cache with its own password, database and channels", () => {
            const acl: string = byName(run, "azure-native:keyvault:Secret", "redis-acl-data").inputs.properties.value;
            const app = config.apps[0];
            const extra = app.redisExtraDatabases[0];
            const hash = sha256Hex(password(run, "redis-app-orders-cache"));
            assert.ok(acl.includes(`\nuser orders-cache on #${hash} ${extraDatabaseRules(app, extra)}\n`), acl);
            assert.ok(
                acl.includes(`\nuser orders on #${sha256Hex(password(run, "redis-app-orders"))} ${appRules(app)}\n`),
            );
            const rules = extraDatabaseRules(app, extra);
            assert.match(rules, /^resetchannels ~orders:\* &orders-cache:\* -@all /);
            assert.ok(rules.endsWith(" -select +select|5"), rules);
        });

        it("gives orders exactly the contract keys plus those of its cache, and billing none", () => {
            const vault = vaultContents(run);
            const shape = contractShape(config);
            for (const app of config.apps) {
                const es = byType(run, EXTERNAL_SECRET).find(
                    (r) =>
                        r.inputs.metadata.namespace === app.namespace && r.inputs.spec.target.name === app.secretName,
                );
                assert.ok(es, app.name);
                const secret = expandExternalSecret(es, vault);
                assert.deepEqual(Object.keys(secret).sort(), appContractKeys(shape, app).sort(), app.name);
                if (app.name !== "orders") {
                    assert.deepEqual(Object.keys(secret).sort(), contractKeys(shape).sort(), app.name);
                    continue;
                }
                const cachePassword = password(run, "redis-app-orders-cache");
                if (config.redis.mode === "sentinel") {
                    assert.equal(secret.REDIS_CACHE_USERNAME, "orders-cache");
                    assert.equal(secret.REDIS_CACHE_DB, "5");
                    assert.equal(secret.REDIS_CACHE_PASSWORD, cachePassword);
                    assert.equal(secret.REDIS_USERNAME, "orders");
                    assert.equal(secret.REDIS_DB, String(app.redisDb));
                } else {
                    const url = new URL(secret.REDIS_CACHE_URL);
                    assert.equal(decodeURIComponent(url.username), "orders-cache");
                    assert.equal(decodeURIComponent(url.password), cachePassword);
                    assert.equal(url.pathname, "/5");
                    assert.equal(new URL(secret.REDIS_URL).host, url.host);
                }
            }
        });
    });
}
