/**
 * The Secrets each seed's code reads, as External Secrets would write them: the real program's ExternalSecret under
 * the mock engine, the Key Vault values it wrote, its `target.template` rendered by ESO's template engine v2 (Go
 * text/template as ESO runs it, tests/support/esoTemplate.ts) and ESO's creation and merge policies
 * (tests/support/esoOperator.ts). Seed 000 writes into its existing `cc-registry-secrets`; seed 001 reads
 * `SENTINEL_PASSWORD`, `APP_PASSWORD` and `CACHE_*`.
 */
import { strict as assert } from "assert";
import type { RecordedResource, RunResult } from "../../../offline/mockEngine";
import { EXTERNAL_SECRET, expandExternalSecret, vaultContents } from "../../support/esoOperator";
import { esoTemplateEngine } from "../../support/esoTemplate";
import { stackConfig } from "../../support/config";
import { byType, runStack } from "../../support/program";

const APPS = "data-platform:apps";
/** Prod's own Redis section, as its stack file writes it. */
const prodRedis = JSON.parse(stackConfig("prod").config["data-platform:redis"]) as Record<string, unknown>;

function externalSecretOf(run: RunResult, namespace: string): RecordedResource {
    const found = byType(run, EXTERNAL_SECRET).filter((r) => r.inputs.metadata.namespace === namespace);
    assert.equal(found.length, 1, namespace);
    return found[0];
}

describe("each seed's Secret as External Secrets' template engine renders it", function () {
    this.timeout(120_000);

    describe("seed 000 (dev): its existing cc-registry-secrets adopted, Celery's and an async driver's URLs", () => {
        let run: RunResult;
        before(async () => {
            run = await runStack("dev", {
                [APPS]: [
                    { name: "orders", namespace: "orders", redisDb: 1 },
                    {
                        name: "cc-registry",
                        namespace: "codecollection-registry",
                        createNamespace: false,
                        redisDb: 2,
                        secretName: "cc-registry-secrets",
                        adoptSecret: true,
                        redis: { clients: ["celery"] },
                        env: {
                            CELERY_BROKER_URL: "{{REDIS_URL}}",
                            DATABASE_URL_ASYNC:
                                "postgresql+asyncpg://{{DB_USER}}:{{DB_PASSWORD}}@{{DB_HOST}}:{{DB_PORT}}/{{DB_NAME}}",
                        },
                    },
                ],
            });
        });

        it("keeps the Secret's own keys, replaces those the contract holds, adds the contract and the templated keys", () => {
            const es = externalSecretOf(run, "codecollection-registry");
            const existing = { GITHUB_TOKEN: "kept-as-is", DB_HOST: "myserver.postgres.database.azure.com" };
            const secret = expandExternalSecret(es, vaultContents(run), { existing, templates: esoTemplateEngine });
            assert.equal(secret.GITHUB_TOKEN, "kept-as-is");
            assert.notEqual(secret.DB_HOST, existing.DB_HOST);
            assert.equal(secret.CELERY_BROKER_URL, secret.REDIS_URL);
            assert.equal(
                secret.DATABASE_URL_ASYNC,
                `postgresql+asyncpg://${secret.DB_USER}:${secret.DB_PASSWORD}@${secret.DB_HOST}:${secret.DB_PORT}/${secret.DB_NAME}`,
            );
            assert.equal(secret.REDIS_KEY_PREFIX, "cc-registry:");
            assert.match(secret.DB_PASSWORD, /^[A-Za-z0-9._~-]{42}$/, "URL-safe: the URL needs no escape");
        });

        it("writes nothing until the Secret exists (creationPolicy Merge never creates it)", () => {
            const es = externalSecretOf(run, "codecollection-registry");
            assert.throws(
                () => expandExternalSecret(es, vaultContents(run), { templates: esoTemplateEngine }),
                /creationPolicy Merge and no Secret to merge into \(SecretMissing\)/,
            );
        });
    });

    describe("seed 001 (prod): its session store alone on a dedicated Sentinel group, with a cache database", () => {
        let run: RunResult;
        before(async () => {
            run = await runStack("prod", {
                // Its own group of prod's settings, TLS with prod's CA.
                "data-platform:redis": {
                    ...prodRedis,
                    groups: { store: { dedicated: true, tlsCaCert: prodRedis.tlsCaCert } },
                },
                [APPS]: [
                    { name: "orders", namespace: "orders", redisDb: 1 },
                    {
                        name: "session-database",
                        namespace: "session-database",
                        redisDb: 1,
                        redis: { group: "store", clients: ["sessions"] },
                        redisExtraDatabases: [{ name: "cache", db: 2 }],
                        env: {
                            SENTINEL_PASSWORD: "{{REDIS_SENTINEL_PASSWORD}}",
                            APP_PASSWORD: "{{REDIS_PASSWORD}}",
                            CACHE_DB: "{{REDIS_CACHE_DB}}",
                            CACHE_USERNAME: "{{REDIS_CACHE_USERNAME}}",
                            CACHE_PASSWORD: "{{REDIS_CACHE_PASSWORD}}",
                        },
                    },
                ],
            });
        });

        it("holds SENTINEL_PASSWORD, APP_PASSWORD and CACHE_* with the contract's values, beside the contract", () => {
            const es = externalSecretOf(run, "session-database");
            const secret = expandExternalSecret(es, vaultContents(run), { templates: esoTemplateEngine });
            assert.equal(es.inputs.spec.target.creationPolicy, "Owner");
            assert.deepEqual(
                {
                    SENTINEL_PASSWORD: secret.SENTINEL_PASSWORD,
                    APP_PASSWORD: secret.APP_PASSWORD,
                    CACHE_DB: secret.CACHE_DB,
                    CACHE_USERNAME: secret.CACHE_USERNAME,
                    CACHE_PASSWORD: secret.CACHE_PASSWORD,
                },
                {
                    SENTINEL_PASSWORD: secret.REDIS_SENTINEL_PASSWORD,
                    APP_PASSWORD: secret.REDIS_PASSWORD,
                    CACHE_DB: "2",
                    CACHE_USERNAME: "session-database-cache",
                    CACHE_PASSWORD: secret.REDIS_CACHE_PASSWORD,
                },
            );
            assert.ok(secret.REDIS_SENTINEL_PASSWORD.length >= 32 && secret.APP_PASSWORD !== secret.CACHE_PASSWORD);
            assert.equal(secret.REDIS_SENTINEL_HOSTS.split(",").length, 3);
        });
    });

    describe("the engine is ESO's", () => {
        it("fails a sync on a key the data lacks instead of writing it empty (missingkey=error)", () => {
            assert.throws(
                () => esoTemplateEngine({ A: "x" }, { K: "{{ .A }}{{ .B }}" }),
                /unable to execute template at key K: .*map has no entry for key "B"/,
            );
        });

        it("reads a key with a dash through index, and refuses what it would need ESO's function map for", () => {
            assert.deepEqual(esoTemplateEngine({ "db-password": "p" }, { K: 'x{{ index . "db-password" }}' }), {
                K: "xp",
            });
            assert.throws(
                () => esoTemplateEngine({ A: "x" }, { K: "{{ .A | b64enc }}" }),
                /function "b64enc" not defined/,
            );
        });
    });
});
