/**
 * The application contract: the key lists, their assembly, the URL encoding, and what an application
 * really receives once External Secrets has expanded its bundle (simulated from the recorded run).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse as parsePgUrl } from "pg-connection-string";
import { PlatformConfig } from "../components/config";
import type { AppConfig } from "../components/config/platform";
import { SAFE_SPECIAL_CHARACTERS } from "../components/config/keyVault";
import { assembleEnv, contractKeys, renderContractTable, SECRET_CONTRACT_KEYS } from "../components/envContract";
import { bundleSecretName, credentialSecretName } from "../components/vault";
import { pgAppCredentialId } from "../components/postgres/credentials";
import { redisAppCredentialId } from "../components/redis/credentials";
import { databaseUrl } from "../components/postgres/env";
import { SOURCE_VERSIONS_ANNOTATION, sourceVersionsDigest } from "../components/secretSync/spec";
import type { RunResult } from "../engine/mockEngine";
import { parseStack } from "./support/config";
import { EXTERNAL_SECRET, KEY_VAULT_SECRET, expandExternalSecret, vaultContents } from "./support/esoOperator";
import { STACKS, byType, runStack } from "./support/program";

/** Characters with a meaning in URLs; every generated password must survive them. */
const URL_SPECIALS = ["@", ":", "/", "?", "#", "%", "+", "&"];

const APP: AppConfig = {
    name: "orders",
    namespace: "orders",
    createNamespace: true,
    database: "orders",
    redisDb: 1,
    redisKeyPatterns: [],
    poolSize: 10,
    replicas: 2,
    secretName: "orders-data",
    serviceAccounts: ["orders"],
};

/** The parts of a connection URI, decoded, as Node's WHATWG URL parser sees them. */
function viaWhatwgUrl(uri: string) {
    const url = new URL(uri);
    return {
        protocol: url.protocol,
        user: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password),
        host: url.hostname,
        port: url.port,
        database: decodeURIComponent(url.pathname.slice(1)),
        sslmode: url.searchParams.get("sslmode"),
    };
}

/** The same through node-postgres' own parser. */
function viaPg(uri: string) {
    const parsed = parsePgUrl(uri);
    return {
        user: parsed.user,
        password: parsed.password,
        host: parsed.host,
        port: parsed.port,
        database: parsed.database,
        sslmode: (parsed as { sslmode?: string }).sslmode,
    };
}

describe("contract key lists", () => {
    it("are the documented sets per Redis mode", () => {
        const postgres = [
            "DATABASE_URL",
            "DB_HOST",
            "DB_PORT",
            "DB_NAME",
            "DB_USER",
            "DB_PASSWORD",
            "DB_SSL_MODE",
            "DB_POOL_MAX",
        ];
        assert.deepEqual(
            new Set(contractKeys("sentinel")),
            new Set([
                ...postgres,
                "REDIS_SENTINEL_HOSTS",
                "REDIS_SENTINEL_MASTER",
                "REDIS_USERNAME",
                "REDIS_PASSWORD",
                "REDIS_DB",
                "REDIS_SENTINEL_PASSWORD",
                "REDIS_TLS",
            ]),
        );
        assert.deepEqual(new Set(contractKeys("standalone")), new Set([...postgres, "REDIS_URL", "REDIS_TLS"]));
        assert.deepEqual([...SECRET_CONTRACT_KEYS].sort(), [
            "DATABASE_URL",
            "DB_PASSWORD",
            "REDIS_PASSWORD",
            "REDIS_SENTINEL_PASSWORD",
            "REDIS_URL",
        ]);
    });

    it("appear in the README exactly as rendered", () => {
        const doc = fs.readFileSync(path.resolve(__dirname, "..", "README.md"), "utf8");
        assert.ok(doc.includes(renderContractTable()), "README.md holds renderContractTable()'s table; regenerate it");
    });
});

describe("assembleEnv", () => {
    const postgres = Object.fromEntries(
        contractKeys("standalone")
            .filter((k) => k.startsWith("D"))
            .map((k) => [k, `pg-${k}`]),
    );
    const redis = { REDIS_URL: "redis://u:p@h:6379/0", REDIS_TLS: "false" };

    it("merges both parts into exactly the contract, secret keys made secret", async () => {
        const env = assembleEnv(APP, "standalone", postgres, redis);
        assert.deepEqual(Object.keys(env), contractKeys("standalone"));
        for (const [key, value] of Object.entries(env)) {
            const output = pulumi.output(value);
            assert.equal(await pulumi.isSecret(output), SECRET_CONTRACT_KEYS.includes(key), key);
        }
    });

    it("names missing and unexpected keys of each part", () => {
        const { DB_POOL_MAX: _dropped, ...short } = postgres;
        assert.throws(
            () => assembleEnv(APP, "standalone", short, redis),
            /application orders: postgres env does not match the contract: missing DB_POOL_MAX$/,
        );
        assert.throws(
            () => assembleEnv(APP, "sentinel", postgres, redis),
            /redis env \(sentinel mode\) does not match the contract: missing REDIS_SENTINEL_HOSTS, .*REDIS_SENTINEL_PASSWORD; unexpected REDIS_URL$/,
        );
        assert.throws(
            () => assembleEnv(APP, "standalone", { ...postgres, REDIS_TLS: "x" }, redis),
            /postgres env .*unexpected REDIS_TLS/,
        );
    });
});

describe("DATABASE_URL rendering (components/postgres/contract.ts)", () => {
    const passwords = [
        URL_SPECIALS.join(""),
        `a${SAFE_SPECIAL_CHARACTERS}z`,
        "%41%%2F", // looks encoded already: must not be decoded twice
        "p@ss:w/rd?x#y%z+1&2 with spaces",
        "quote'\"$\\`é€",
    ];
    for (const password of passwords) {
        it(`round-trips the password ${JSON.stringify(password)} through Node's URL and pg-connection-string`, () => {
            const endpoint = { host: "appdb.data-platform.svc.cluster.local", port: 5432, sslMode: "require" as const };
            const login = { database: "orders", user: "orders@tenant", password };
            const uri = databaseUrl(endpoint, login);
            assert.ok(
                !uri.includes(" ") && !uri.slice("postgresql://".length).includes("+"),
                "no spaces or plus signs in the URI",
            );
            const expected = {
                user: login.user,
                password,
                host: endpoint.host,
                port: "5432",
                database: "orders",
                sslmode: "require",
            };
            assert.deepEqual(viaWhatwgUrl(uri), { protocol: "postgresql:", ...expected });
            assert.deepEqual(viaPg(uri), expected);
        });
    }
});

/** What the operator writes into each application's Secret, from the run's recorded vault values. */
function applicationSecrets(result: RunResult, config: PlatformConfig): Map<string, Record<string, string>> {
    const vault = vaultContents(result);
    const secrets = new Map<string, Record<string, string>>();
    for (const app of config.apps) {
        const externalSecret = byType(result, EXTERNAL_SECRET).find(
            (r) => r.inputs.metadata.namespace === app.namespace && r.inputs.spec.target.name === app.secretName,
        );
        assert.ok(externalSecret, `${app.name}: an ExternalSecret targets ${app.namespace}/${app.secretName}`);
        secrets.set(app.name, expandExternalSecret(externalSecret, vault));
    }
    return secrets;
}

for (const stack of STACKS) {
    describe(`what applications receive (${stack}, simulated ESO over the recorded Key Vault values)`, () => {
        let result: RunResult;
        let config: PlatformConfig;
        let secrets: Map<string, Record<string, string>>;
        before(async () => {
            result = await runStack(stack);
            config = parseStack(stack);
            secrets = applicationSecrets(result, config);
        });

        it("gives every application exactly the contract keys of the stack's Redis mode", () => {
            for (const app of config.apps) {
                assert.deepEqual(
                    Object.keys(secrets.get(app.name) ?? {}).sort(),
                    contractKeys(config.redis.mode).sort(),
                    app.name,
                );
                for (const [key, value] of Object.entries(secrets.get(app.name) ?? {})) {
                    assert.ok(value.length > 0, `${app.name}: ${key} is not empty`);
                }
            }
        });

        it("stores each application's bundle as one secret JSON object with exactly the contract keys", () => {
            for (const app of config.apps) {
                const bundle = byType(result, KEY_VAULT_SECRET).find(
                    (r) => r.inputs.secretName === bundleSecretName(app.name),
                );
                assert.ok(bundle, `${app.name}: bundle ${bundleSecretName(app.name)} is written`);
                assert.ok(bundle.secretPaths.includes("properties.value"), `${app.name}: the bundle value is secret`);
                assert.deepEqual(
                    Object.keys(JSON.parse(bundle.inputs.properties.value)).sort(),
                    contractKeys(config.redis.mode).sort(),
                    app.name,
                );
                const externalSecret = byType(result, EXTERNAL_SECRET).find(
                    (r) => r.inputs.metadata.namespace === app.namespace,
                );
                assert.ok(externalSecret, `${app.name}: an ExternalSecret in ${app.namespace}`);
                assert.ok(
                    externalSecret.dependencies.includes(bundle.urn),
                    `${app.name}: the ExternalSecret waits for its bundle`,
                );
                // A new bundle version changes the ExternalSecret, so ESO syncs it at once.
                assert.equal(
                    externalSecret.inputs.metadata.annotations[SOURCE_VERSIONS_ANNOTATION],
                    sourceVersionsDigest([bundle.outputs.properties.secretUriWithVersion]),
                    `${app.name}: bundle version annotation`,
                );
            }
        });

        it("carries the passwords stored as the application's credentials, including every URL-special character", () => {
            const vault = vaultContents(result);
            for (const app of config.apps) {
                const env = secrets.get(app.name) ?? {};
                assert.equal(
                    env.DB_PASSWORD,
                    vault.get(credentialSecretName(pgAppCredentialId(app.name))),
                    `${app.name}: DB_PASSWORD`,
                );
                for (const c of URL_SPECIALS) {
                    assert.ok(env.DB_PASSWORD.includes(c), `${app.name}: the mocked password exercises ${c}`);
                }
                assert.ok(!/\s/.test(env.DB_PASSWORD), `${app.name}: no whitespace in generated passwords`);
            }
        });

        it("renders DATABASE_URL that parses back to the DB_* values", () => {
            for (const app of config.apps) {
                const env = secrets.get(app.name) ?? {};
                const expected = {
                    user: env.DB_USER,
                    password: env.DB_PASSWORD,
                    host: env.DB_HOST,
                    port: env.DB_PORT,
                    database: env.DB_NAME,
                    sslmode: env.DB_SSL_MODE,
                };
                assert.deepEqual(viaWhatwgUrl(env.DATABASE_URL), { protocol: "postgresql:", ...expected }, app.name);
                assert.deepEqual(viaPg(env.DATABASE_URL), expected, app.name);
                assert.equal(env.DB_NAME, app.database);
                assert.equal(env.DB_POOL_MAX, String(app.poolSize));
                assert.match(env.DB_SSL_MODE, /^(require|verify-ca|verify-full)$/);
            }
        });

        it("renders the Redis keys of the stack's mode", () => {
            const vault = vaultContents(result);
            for (const app of config.apps) {
                const env = secrets.get(app.name) ?? {};
                const password = vault.get(credentialSecretName(redisAppCredentialId(app.name)));
                assert.equal(env.REDIS_TLS, String(config.redis.tls), app.name);
                if (config.redis.mode === "standalone") {
                    const url = new URL(env.REDIS_URL);
                    assert.equal(url.protocol, config.redis.tls ? "rediss:" : "redis:", app.name);
                    assert.equal(decodeURIComponent(url.password), password, `${app.name}: REDIS_URL password`);
                    assert.equal(url.pathname, `/${app.redisDb}`, `${app.name}: REDIS_URL database`);
                    assert.ok(url.hostname.length > 0 && url.port.length > 0, `${app.name}: REDIS_URL host and port`);
                } else {
                    assert.equal(env.REDIS_PASSWORD, password, `${app.name}: REDIS_PASSWORD`);
                    assert.equal(env.REDIS_DB, String(app.redisDb));
                    assert.equal(env.REDIS_SENTINEL_MASTER, config.redis.masterName);
                    const hosts = env.REDIS_SENTINEL_HOSTS.split(",");
                    assert.equal(hosts.length, config.redis.sentinels, `${app.name}: one entry per Sentinel`);
                    for (const host of hosts) {
                        assert.match(host, /^[a-z0-9.-]+:\d+$/, app.name);
                    }
                    assert.ok(env.REDIS_USERNAME.length > 0 && env.REDIS_SENTINEL_PASSWORD.length > 0, app.name);
                }
            }
        });
    });
}

describe("sourceVersionsDigest", () => {
    it("changes with any version and ignores order", () => {
        const a = "https://v.vault.azure.net/secrets/app-orders-env/0123";
        const b = "https://v.vault.azure.net/secrets/pg-admin/4567";
        assert.equal(sourceVersionsDigest([a, b]), sourceVersionsDigest([b, a]));
        assert.notEqual(sourceVersionsDigest([a]), sourceVersionsDigest([`${a}8`]));
        assert.match(sourceVersionsDigest([a]), /^[0-9a-f]{32}$/);
    });
});
