/**
 * The application contract: the key lists, their assembly, the URL encoding, and what an application
 * really receives once External Secrets has expanded its bundle (simulated from the recorded run).
 */
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse as parsePgUrl } from "pg-connection-string";
import { PlatformConfig } from "../../../components/config";
import type { AppConfig } from "../../../components/config/platform";
import { SAFE_SPECIAL_CHARACTERS } from "../../../components/config/keyVault";
import {
    ContractShape,
    assembleEnv,
    contractKeys,
    contractShape,
    renderContractTable,
    SECRET_CONTRACT_KEYS,
} from "../../../components/envContract";
import { bundleSecretName, credentialSecretName } from "../../../components/vault";
import { pgAppCredentialId } from "../../../components/postgres/credentials";
import { redisAppCredentialId } from "../../../components/redis/credentials";
import { databaseUrl } from "../../../components/postgres/env";
import { azureRootCertificates } from "../../../components/postgres/azureSpec";
import { stackGresCertificate, stackGresHost, stackGresManifests } from "../../../components/postgres/stackgresSpec";
import { validateAgainstCrd } from "../../support/crdSchemas";
import { SOURCE_VERSIONS_ANNOTATION, sourceVersionsDigest } from "../../../components/secretSync/spec";
import type { RecordedResource, RunResult } from "../../../offline/mockEngine";
import { renderBundle } from "../../../components/vault/credentials";
import { redisUrl } from "../../../components/redis/env";
import { passwordsWritten } from "../../support/passwordLeaks";
import { keyVaultOverride, parseServer, parseStack, problemLines, sectionOverride } from "../../support/config";
import { EXTERNAL_SECRET, KEY_VAULT_SECRET, expandExternalSecret, vaultContents } from "../../support/esoOperator";
import { STACKS, byType, runStack } from "../../support/program";

/** Characters with a meaning in URLs; every generated password must survive them. */
const URL_SPECIALS = ["@", ":", "/", "?", "#", "%", "+", "&"];

const APP: AppConfig = {
    name: "orders",
    namespace: "orders",
    createNamespace: true,
    podSecurity: "restricted",
    database: "orders",
    redisDb: 1,
    redisKeyPatterns: [],
    redisExtraDatabases: [],
    poolSize: 10,
    replicas: 2,
    secretName: "orders-data",
    env: {},
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

const SENTINEL: ContractShape = { redisMode: "sentinel", postgresCaCert: false, redisCaCert: false };
const STANDALONE: ContractShape = { redisMode: "standalone", postgresCaCert: false, redisCaCert: false };

describe("contract key lists", () => {
    const postgres = [
        "DATABASE_URL",
        "DB_HOST",
        "DB_PORT",
        "DB_NAME",
        "DB_USER",
        "DB_PASSWORD",
        "DB_SSL_MODE",
        "DB_POOL_MAX",
        "DB_POOL_IDLE_TIMEOUT",
        "DB_POOL_CONNECTION_TIMEOUT",
        "DB_DIRECT_PORT",
        "DATABASE_DIRECT_URL",
        "PGHOST",
        "PGPORT",
        "PGDATABASE",
        "PGUSER",
        "PGPASSWORD",
        "PGSSLMODE",
    ];

    it("are the documented sets per Redis mode", () => {
        assert.deepEqual(
            new Set(contractKeys(SENTINEL)),
            new Set([
                ...postgres,
                "REDIS_SENTINEL_HOSTS",
                "REDIS_SENTINEL_MASTER",
                "REDIS_USERNAME",
                "REDIS_PASSWORD",
                "REDIS_DB",
                "REDIS_KEY_PREFIX",
                "REDIS_SENTINEL_PASSWORD",
                "REDIS_TLS",
                "REDIS_URL",
                "REDIS_HOST",
                "REDIS_PORT",
            ]),
        );
        assert.deepEqual(
            new Set(contractKeys(STANDALONE)),
            // REDIS_HOST/REDIS_PORT in both modes: seed 001 configures its client by host and port.
            new Set([...postgres, "REDIS_URL", "REDIS_KEY_PREFIX", "REDIS_TLS", "REDIS_HOST", "REDIS_PORT"]),
        );
        assert.deepEqual([...SECRET_CONTRACT_KEYS].sort(), [
            "DATABASE_DIRECT_URL",
            "DATABASE_URL",
            "DB_PASSWORD",
            "PGPASSWORD",
            "REDIS_PASSWORD",
            "REDIS_SENTINEL_PASSWORD",
            "REDIS_URL",
        ]);
    });

    it("add each CA key only where its CA is known", () => {
        const both = contractKeys({ redisMode: "standalone", postgresCaCert: true, redisCaCert: true });
        assert.deepEqual(
            new Set(both),
            new Set([
                ...postgres,
                "DB_CA_CERT",
                "REDIS_URL",
                "REDIS_KEY_PREFIX",
                "REDIS_TLS",
                "REDIS_HOST",
                "REDIS_PORT",
                "REDIS_CA_CERT",
            ]),
        );
        assert.ok(!SECRET_CONTRACT_KEYS.includes("DB_CA_CERT") && !SECRET_CONTRACT_KEYS.includes("REDIS_CA_CERT"));
    });

    it("follow the stack: DB_CA_CERT on Azure and on StackGres with tls, REDIS_CA_CERT with TLS and its CA", () => {
        const dev = parseStack("dev");
        const prod = parseStack("prod");
        assert.deepEqual(contractShape(dev), { redisMode: "standalone", postgresCaCert: true, redisCaCert: false });
        assert.deepEqual(contractShape(prod), { redisMode: "sentinel", postgresCaCert: true, redisCaCert: true });
        const stackgres = { ...dev.postgres, stackgres: { ...dev.postgres.stackgres, tls: undefined } };
        assert.equal(contractShape({ ...dev, postgres: stackgres }).postgresCaCert, false);
        assert.equal(contractShape({ ...prod, redis: { ...prod.redis, tlsCaCert: undefined } }).redisCaCert, false);
        assert.equal(contractShape({ ...prod, redis: { ...prod.redis, tls: false } }).redisCaCert, false);
    });

    it("appear in the README exactly as rendered", () => {
        const doc = fs.readFileSync(path.resolve(__dirname, "..", "..", "..", "README.md"), "utf8");
        assert.ok(doc.includes(renderContractTable()), "README.md holds renderContractTable()'s table; regenerate it");
    });
});

describe("assembleEnv", () => {
    const postgres = Object.fromEntries(
        contractKeys(STANDALONE)
            .filter((k) => !k.startsWith("REDIS_"))
            .map((k) => [k, `pg-${k}`]),
    );
    const redis = {
        REDIS_URL: "redis://u:p@h:6379/0",
        REDIS_KEY_PREFIX: "orders:",
        REDIS_TLS: "false",
        REDIS_HOST: "h",
        REDIS_PORT: "6379",
    };

    it("merges both parts into exactly the contract, secret keys made secret", async () => {
        const env = assembleEnv(APP, STANDALONE, { postgres, redis });
        assert.deepEqual(Object.keys(env), contractKeys(STANDALONE));
        for (const [key, value] of Object.entries(env)) {
            const output = pulumi.output(value);
            assert.equal(await pulumi.isSecret(output), SECRET_CONTRACT_KEYS.includes(key), key);
        }
    });

    it("names missing and unexpected keys of each part", () => {
        const { DB_POOL_MAX: _dropped, ...short } = postgres;
        assert.throws(
            () => assembleEnv(APP, STANDALONE, { postgres: short, redis }),
            /application orders: postgres env does not match the contract: missing DB_POOL_MAX$/,
        );
        assert.throws(
            () => assembleEnv(APP, SENTINEL, { postgres, redis: { ...redis, REDIS_SENTINEL_HOST: "h:26379" } }),
            /redis env \(sentinel mode\) does not match the contract: missing REDIS_SENTINEL_HOSTS, .*REDIS_SENTINEL_PASSWORD; unexpected REDIS_SENTINEL_HOST$/,
        );
        assert.throws(
            () => assembleEnv(APP, STANDALONE, { postgres: { ...postgres, REDIS_TLS: "x" }, redis }),
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
    // Passwords of the alphabet before the URL-safe default, which existing stacks keep until a rotation: every
    // character a URL gives a meaning to is exercised.
    const previousAlphabet = () =>
        keyVaultOverride(stack, { passwords: { length: 40, special: SAFE_SPECIAL_CHARACTERS } });
    describe(`what applications receive (${stack} with passwords of the previous alphabet, simulated ESO over the recorded Key Vault values)`, () => {
        let result: RunResult;
        let config: PlatformConfig;
        let secrets: Map<string, Record<string, string>>;
        before(async () => {
            result = await runStack(stack, previousAlphabet());
            config = parseStack(stack, previousAlphabet());
            secrets = applicationSecrets(result, config);
        });

        it("gives every application exactly the contract keys of the stack's shape", () => {
            for (const app of config.apps) {
                assert.deepEqual(
                    Object.keys(secrets.get(app.name) ?? {}).sort(),
                    contractKeys(contractShape(config)).sort(),
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
                    contractKeys(contractShape(config)).sort(),
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

describe("the leak check: no generated password written in clear in the plan or the manifests", () => {
    // `!*'()` are what encodeURIComponent keeps and DATABASE_URL's stricter encoder does not (`!` and `*` are in
    // SAFE_SPECIAL_CHARACTERS); `"` and `\\` change under JSON escaping.
    const password = `Ab1!*'()"\\~z`;
    const endpoint = { host: "db.internal", port: 5432, sslMode: "require" as const };
    const recorded = (type: string, name: string, inputs: Record<string, any>, outputs = {}): RecordedResource => ({
        urn: `urn:pulumi:dev::data-platform::${type}::${name}`,
        type,
        name,
        custom: true,
        dependencies: [],
        propertyDependencies: {},
        dependsOn: [],
        options: { ignoreChanges: [], replaceOnChanges: [], additionalSecretOutputs: [], aliases: [] },
        inputs,
        secretPaths: [],
        unknownPaths: [],
        outputs,
    });
    const runLeaking = (value: string): RunResult => ({
        stack: "dev",
        resources: [
            recorded("random:index/randomPassword:RandomPassword", "pw", { length: 12 }, { result: password }),
            recorded("kubernetes:core/v1:ConfigMap", "leaky", {
                apiVersion: "v1",
                kind: "ConfigMap",
                metadata: { name: "leaky", namespace: "orders" },
                data: { value },
            }),
        ],
        invokes: [],
        outputs: {},
        outputSecretPaths: [],
    });
    const forms: Record<string, string> = {
        raw: password,
        encodeURIComponent: encodeURIComponent(password),
        DATABASE_URL: databaseUrl(endpoint, { database: "orders", user: "orders", password }),
        REDIS_URL: redisUrl(true, "orders", password, "redis.internal", 6379, 1),
        "the bundle's JSON": renderBundle({ DB_PASSWORD: password }),
        "a Secret's base64 data": Buffer.from(password).toString("base64"),
    };
    for (const [how, value] of Object.entries(forms)) {
        it(`catches a password with !*'() leaked through ${how}`, () => {
            assert.deepEqual(passwordsWritten(runLeaking(value)), ["pw's password is written"]);
        });
    }

    it("passes a run that marks the leaking input secret (the plan masks it)", () => {
        const run = runLeaking(forms.DATABASE_URL);
        const leaky = { ...run.resources[1], secretPaths: ["data.value"] };
        assert.deepEqual(passwordsWritten({ ...run, resources: [run.resources[0], leaky] }), []);
    });

    it("passes a run that writes only a digest of the password", () => {
        const digest = crypto.createHash("sha256").update(password).digest("hex");
        assert.deepEqual(passwordsWritten(runLeaking(digest)), []);
    });
});

describe("sourceVersionsDigest", () => {
    it("changes with any version and ignores order", () => {
        const a = "https://v.vault.azure.net/secrets/app-orders-env/0123";
        const b = "https://v.vault.azure.net/secrets/pg-admin/4567";
        assert.equal(sourceVersionsDigest([a, b]), sourceVersionsDigest([b, a]));
        assert.notEqual(sourceVersionsDigest([a]), sourceVersionsDigest([`${a}8`]));
        assert.match(sourceVersionsDigest([a]), /^[0-9a-f]{32}$/);
    });
});

describe("the CAs handed to applications", () => {
    /** SHA-256 fingerprints of the roots Microsoft names for Flexible Server (and of no other certificate). */
    const AZURE_ROOTS: Record<string, string> = {
        "DigiCert Global Root G2":
            "CB:3C:CB:B7:60:31:E5:E0:13:8F:8D:D3:9A:23:F9:DE:47:FF:C3:5E:43:C1:14:4C:EA:27:D4:6A:5A:B1:CB:5F",
        "Microsoft RSA Root Certificate Authority 2017":
            "C7:41:F7:0F:4B:2A:8D:88:BF:2E:71:C1:41:22:EF:53:EF:10:EB:A0:CF:A5:E6:4C:FA:20:F4:18:85:30:73:E0",
    };

    it("Azure: DB_CA_CERT is exactly the two self-signed roots Microsoft names, no intermediate", () => {
        const pems = azureRootCertificates().match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
        assert.ok(pems);
        const seen = Object.fromEntries(
            pems.map((pem) => {
                const cert = new crypto.X509Certificate(pem);
                assert.ok(cert.ca && cert.checkIssued(cert), `${cert.subject}: a self-signed CA`);
                return [/CN=(.+)/.exec(cert.subject)?.[1], cert.fingerprint256];
            }),
        );
        assert.deepEqual(seen, AZURE_ROOTS);
    });

    it("StackGres with tls: a cert-manager Certificate from the issuer for the Services, and the SGCluster uses its Secret", () => {
        const config = parseServer("dev");
        const tls = config.postgres.stackgres.tls;
        assert.ok(tls, "the dev stack sets postgres.stackgres.tls");
        const cert = stackGresCertificate(config);
        assert.deepEqual(validateAgainstCrd(cert), []);
        assert.deepEqual(cert.spec.issuerRef, { name: tls.issuerName, kind: tls.issuerKind, group: "cert-manager.io" });
        const host = stackGresHost(config.postgres.stackgres.clusterName, config.cluster.platformNamespace);
        assert.ok(cert.spec.dnsNames.includes(host), `${host} is in the certificate`);
        const cluster = stackGresManifests(config).find((m) => m.kind === "SGCluster");
        assert.ok(cluster);
        assert.deepEqual(validateAgainstCrd(cluster), []);
        assert.deepEqual((cluster.spec.postgres as { ssl: unknown }).ssl, {
            enabled: true,
            certificateSecretKeySelector: { name: cert.spec.secretName, key: "tls.crt" },
            privateKeySecretKeySelector: { name: cert.spec.secretName, key: "tls.key" },
        });
        const without = {
            ...config,
            postgres: { ...config.postgres, stackgres: { ...config.postgres.stackgres, tls: undefined } },
        };
        const plain = stackGresManifests(without).find((m) => m.kind === "SGCluster");
        assert.deepEqual((plain?.spec.postgres as { ssl: unknown }).ssl, { enabled: true });
    });

    for (const [stack, key, expected] of [
        ["dev", "DB_CA_CERT", (c: PlatformConfig) => c.postgres.stackgres.tls?.caCert],
        ["prod", "DB_CA_CERT", () => azureRootCertificates()],
        ["prod", "REDIS_CA_CERT", (c: PlatformConfig) => c.redis.tlsCaCert],
    ] as const) {
        it(`${stack}: ${key} in every application's Secret is the CA the stack declares`, async () => {
            const config = parseStack(stack);
            const secrets = applicationSecrets(await runStack(stack), config);
            for (const app of config.apps) {
                assert.equal(secrets.get(app.name)?.[key], expected(config), app.name);
            }
        });
    }

    it("refuses a CA that is not PEM certificates", () => {
        const lines = problemLines("prod", sectionOverride("prod", "redis", { tlsCaCert: "not a certificate" }));
        assert.deepEqual(lines, [
            'data-platform:redis.tlsCaCert: given "not a certificate"; allowed: PEM certificates (-----BEGIN CERTIFICATE-----...)',
        ]);
    });
});
