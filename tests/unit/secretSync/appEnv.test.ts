/**
 * An application's own key names (`apps[].env`) and an adopted Secret (`apps[].adoptSecret`) in the config and in the
 * ExternalSecret the real program renders under the mock engine. What ESO's template engine makes of it:
 * tests/servers/secretSync/appEnvTemplates.test.ts.
 */
import { strict as assert } from "assert";
import { appContractKeys, contractShape } from "../../../components/envContract";
import { bundleSecretName } from "../../../components/vault";
import type { RecordedResource, RunResult } from "../../../offline/mockEngine";
import { parseStack, problemLines, sectionOverride } from "../../support/config";
import { validateAgainstCrd } from "../../support/crdSchemas";
import { EXTERNAL_SECRET } from "../../support/esoOperator";
import { byType, runStack } from "../../support/program";

const APPS = "data-platform:apps";
const ORDERS = { name: "orders", namespace: "orders", redisDb: 1 };

/** The dev stack with seed 000 as `cc-registry` in its own, adopted namespace, writing into its existing Secret. */
const SEED_000 = {
    name: "cc-registry",
    namespace: "codecollection-registry",
    createNamespace: false,
    redisDb: 2,
    secretName: "cc-registry-secrets",
    adoptSecret: true,
    env: {
        CELERY_BROKER_URL: "{{REDIS_URL}}",
        DATABASE_URL_ASYNC: "postgresql+asyncpg://{{DB_USER}}:{{ DB_PASSWORD }}@{{DB_HOST}}:{{DB_PORT}}/{{DB_NAME}}",
    },
};

function externalSecretOf(run: RunResult, namespace: string): RecordedResource {
    const found = byType(run, EXTERNAL_SECRET).filter((r) => r.inputs.metadata.namespace === namespace);
    assert.equal(found.length, 1, namespace);
    return found[0];
}

describe("apps[].env and apps[].adoptSecret in the config", () => {
    it("accepts templates over the application's own contract keys, extra databases' included", () => {
        const config = parseStack("dev", {
            [APPS]: [
                {
                    ...ORDERS,
                    redisExtraDatabases: [{ name: "cache", db: 3 }],
                    env: { CACHE_URL: "{{REDIS_CACHE_URL}}" },
                },
            ],
        });
        assert.deepEqual(config.apps[0].env, { CACHE_URL: "{{REDIS_CACHE_URL}}" });
    });

    it("refuses an unknown source key naming the key, the value and the allowed keys; a value of its own; braces in text; a contract key", () => {
        const config = parseStack("prod");
        const keys = appContractKeys(contractShape(config, config.apps[0]), config.apps[0]).join(", ");
        const lines = problemLines("prod", {
            [APPS]: [
                {
                    ...ORDERS,
                    env: {
                        BROKER: "redis://{{REDIS_SERVER}}/{{REDIS_HOSTS}}",
                        PASSWORD: "hunter2",
                        ODD: "{{{REDIS_DB}}}",
                        REDIS_PASSWORD: "{{REDIS_SENTINEL_PASSWORD}}",
                    },
                },
            ],
        });
        const allowed = `a template of {{KEY}} placeholders over the application's contract keys (${keys})`;
        assert.deepEqual(lines, [
            `data-platform:apps[0].env.BROKER: given "redis://{{REDIS_SERVER}}/{{REDIS_HOSTS}}"; allowed: ${allowed}; unknown: "REDIS_SERVER", "REDIS_HOSTS"`,
            `data-platform:apps[0].env.ODD: given "{{{REDIS_DB}}}"; allowed: ${allowed}; no { or } outside {{KEY}} placeholders`,
            `data-platform:apps[0].env.PASSWORD: given "hunter2"; allowed: ${allowed}; at least one {{KEY}} of the contract: a value of its own would be written in the stack file, in clear`,
            'data-platform:apps[0].env.REDIS_PASSWORD: given "{{REDIS_SENTINEL_PASSWORD}}"; allowed: a key the contract does not hold already (REDIS_PASSWORD is one of its own)',
        ]);
        assert.deepEqual(problemLines("prod", { [APPS]: [{ ...ORDERS, env: { "bad key": "{{REDIS_DB}}" } }] }), [
            'data-platform:apps[0].env.bad key (key): given "bad key"; allowed: a Secret key (letters, digits, -, _ and .)',
        ]);
    });

    it("adopts a Secret only where one can exist, and asks an adopted namespace's own Secret name to say which", () => {
        const lines = problemLines("dev", {
            [APPS]: [
                { ...ORDERS, adoptSecret: true },
                {
                    name: "billing",
                    namespace: "billing",
                    createNamespace: false,
                    redisDb: 2,
                    secretName: "billing-env",
                },
            ],
        });
        assert.deepEqual(lines, [
            "data-platform:apps[0].adoptSecret: given true; allowed: false or unset: namespace orders is created by the platform, so it holds no Secret to adopt (External Secrets' creationPolicy Merge never creates one)",
            "data-platform:apps[1].adoptSecret: given (missing); allowed: true or false: namespace billing exists already and may hold a Secret billing-env; true writes the contract into it and keeps its other keys (creationPolicy Merge: it must exist), false makes it the platform's own (an existing one would be taken over and lose its other keys)",
        ]);
        // A namespace imported (apps[].import) exists already, as an adopted one does.
        assert.deepEqual(
            problemLines("dev", {
                [APPS]: [{ ...ORDERS, import: ["namespace"], secretName: "orders-env" }],
            }).map((line) => line.split(";")[0]),
            ["data-platform:apps[0].adoptSecret: given (missing)"],
        );
        assert.equal(
            parseStack("dev", { [APPS]: [{ ...ORDERS, import: ["namespace"], adoptSecret: true }] }).apps.length,
            1,
        );
        // Its default name (<name>-data) is the platform's own: no question there.
        const config = parseStack("dev", {
            // Three applications of 10 x 2 cost 41 connections each through PgBouncer: room beyond dev's 100.
            ...sectionOverride("dev", "postgres", { maxConnections: 150 }),
            [APPS]: [
                { ...ORDERS },
                { name: "billing", namespace: "billing", createNamespace: false, redisDb: 2 },
                {
                    name: "search",
                    namespace: "search",
                    createNamespace: false,
                    redisDb: 3,
                    secretName: "s",
                    adoptSecret: false,
                },
            ],
        });
        assert.equal(config.apps.length, 3);
    });
});

describe("apps[].env and apps[].adoptSecret in the rendered ExternalSecret (dev, seed 000 adopted)", () => {
    let run: RunResult;
    before(async () => {
        run = await runStack("dev", { [APPS]: [ORDERS, SEED_000] });
    });

    it("renders the keys as an ESO v2 template over the synced keys (mergePolicy Merge keeps them), into the existing Secret (creationPolicy Merge), CRD-valid", () => {
        const es = externalSecretOf(run, SEED_000.namespace);
        assert.deepEqual(es.inputs.spec.target, {
            name: "cc-registry-secrets",
            creationPolicy: "Merge",
            deletionPolicy: "Retain",
            template: {
                engineVersion: "v2",
                mergePolicy: "Merge",
                data: {
                    CELERY_BROKER_URL: "{{ .REDIS_URL }}",
                    DATABASE_URL_ASYNC:
                        "postgresql+asyncpg://{{ .DB_USER }}:{{ .DB_PASSWORD }}@{{ .DB_HOST }}:{{ .DB_PORT }}/{{ .DB_NAME }}",
                },
            },
        });
        assert.deepEqual(validateAgainstCrd(es.inputs), [], es.urn);
    });

    it("syncs exactly the contract from Key Vault: the new names are rendered in the cluster, never stored", () => {
        const config = parseStack("dev", { [APPS]: [ORDERS, SEED_000] });
        const app = config.apps[1];
        const es = externalSecretOf(run, SEED_000.namespace);
        assert.deepEqual(
            es.inputs.spec.data.map((d: { secretKey: string }) => d.secretKey),
            appContractKeys(contractShape(config, app), app),
        );
        assert.ok(
            es.inputs.spec.data.every(
                (d: { remoteRef: { key: string } }) => d.remoteRef.key === bundleSecretName(app.name),
            ),
        );
    });

    it("leaves an application without them as before: its own Secret (Owner), no template", () => {
        const es = externalSecretOf(run, "orders");
        assert.equal(es.inputs.spec.target.creationPolicy, "Owner");
        assert.equal(es.inputs.spec.target.template, undefined);
    });
});
