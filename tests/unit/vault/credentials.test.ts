import * as assert from "assert";
import * as YAML from "yaml";
import * as pulumi from "@pulumi/pulumi";
import { Provider as AzureProvider } from "@pulumi/azure-native/provider";
import { PlatformConfig } from "../../../components/config";
import {
    DEFAULT_PASSWORD_LENGTH,
    SAFE_SPECIAL_CHARACTERS,
    URL_SAFE_SPECIAL_CHARACTERS,
} from "../../../components/config/keyVault";
import { KEY_VAULT_SECRET_NAME } from "../../../components/config/names";
import { percentEncode } from "../../../components/postgres/env";
import {
    bundleSecretName,
    credentialSecretName,
    platformCredentialIds,
    roleAssignmentName,
    serviceAccountSubject,
} from "../../../components/vault";
import {
    Credentials,
    PASSWORD_POLICY_INPUTS,
    passwordEntropyBits,
    checkedBundle,
    renderBundle,
    writeConnectionBundle,
} from "../../../components/vault/credentials";
import { KeyVault } from "../../../components/vault/keyVault";
import type { RecordedResource, RunResult } from "../../../offline/mockEngine";
import { runProgram } from "../../../offline/mockEngine";
import { formatPath, Segment } from "../../../offline/paths";
import { isManifest, manifestOf, stableJson, toPlan } from "../../../offline/plan";
import { loadStackConfig } from "../../../offline/stackConfig";
import { keyVaultOverride, parseStack } from "../../support/config";
import { STACKS, byName, byType, runStack } from "../../support/program";

const PASSWORD = "random:index/randomPassword:RandomPassword";
const SECRET = "azure-native:keyvault:Secret";

/** Generated password values by RandomPassword name. */
function passwords(result: RunResult): Map<string, string> {
    return new Map(byType(result, PASSWORD).map((r) => [r.name, r.outputs.result as string]));
}

/** Every string leaf of `value` with its property path. */
function leaves(value: unknown, at: Segment[] = []): { path: string; text: string }[] {
    if (typeof value === "string") {
        return [{ path: formatPath(at), text: value }];
    }
    if (Array.isArray(value)) {
        return value.flatMap((v, i) => leaves(v, [...at, i]));
    }
    if (value !== null && typeof value === "object") {
        return Object.entries(value).flatMap(([k, v]) => leaves(v, [...at, k]));
    }
    return [];
}

function underSecretPath(path: string, secretPaths: readonly string[]): boolean {
    return secretPaths.some((s) => s === "" || path === s || path.startsWith(`${s}.`) || path.startsWith(`${s}[`));
}

/** The forms a password can take in text: as is, and URL-encoded (connection URLs). */
function forms(password: string): string[] {
    return [...new Set([password, encodeURIComponent(password)])];
}

/** Runs a small program with just a vault and the given credentials, then `use` on them. */
function runWithCredentials(
    config: PlatformConfig,
    ids: string[],
    use: (vault: KeyVault, creds: Credentials) => void,
): Promise<RunResult> {
    return runProgram({
        stack: "dev",
        config: {},
        secretKeys: [],
        program: async () => {
            const providers = [new AzureProvider("azure", { location: config.azure.location })];
            const vault = new KeyVault("kv", { ...config.azure, config: config.keyVault }, { providers });
            use(
                vault,
                await Credentials.create("creds", { ids, passwords: config.keyVault.passwords, vault }, { providers }),
            );
        },
    });
}

describe("credentials", () => {
    for (const stack of STACKS) {
        describe(`${stack} stack`, () => {
            it("generates one password per declared credential, with length and characters from config", async () => {
                const result = await runStack(stack);
                const config = parseStack(stack);
                const ids = platformCredentialIds(config);
                assert.deepStrictEqual(
                    byType(result, PASSWORD)
                        .map((r) => r.name)
                        .sort(),
                    ids.map((id) => `credentials-${id}`).sort(),
                );
                for (const id of ids) {
                    const pw = byName(result, PASSWORD, `credentials-${id}`);
                    assert.strictEqual(pw.inputs.length, config.keyVault.passwords.length);
                    assert.strictEqual(pw.inputs.length, 42, "default length");
                    assert.strictEqual(pw.inputs.overrideSpecial, URL_SAFE_SPECIAL_CHARACTERS);
                    assert.strictEqual(pw.inputs.special, true);
                    assert.deepStrictEqual(pw.inputs.keepers, { rotation: "" });
                    // A new length or alphabet waits for each password's next generation.
                    assert.deepStrictEqual(pw.options.ignoreChanges, ["length", "overrideSpecial"]);
                    const value: string = pw.outputs.result;
                    assert.strictEqual(value.length, 42);
                }
            });

            it("generates URL-safe passwords by default: only RFC 3986 unreserved characters, so a URL built by hand parses", async () => {
                const result = await runStack(stack);
                const values = [...passwords(result).values()];
                assert.ok(values.length >= 9);
                for (const value of values) {
                    assert.match(value, /^[A-Za-z0-9._~-]+$/);
                    assert.strictEqual(percentEncode(value), value, "nothing to encode");
                    // Seed 000's and 003's hand-built URL: `postgresql://${DB_USER}:${DB_PASSWORD}@${DB_HOST}...`.
                    const url = new URL(`postgresql://orders:${value}@db.example:5432/orders`);
                    assert.strictEqual(decodeURIComponent(url.password), value);
                }
            });

            it("stores every credential in Key Vault under a valid name, with contentType and the value marked secret", async () => {
                const result = await runStack(stack);
                const config = parseStack(stack);
                const values = passwords(result);
                const byId = new Map(byType(result, SECRET).map((s) => [s.inputs.secretName as string, s]));
                for (const id of platformCredentialIds(config)) {
                    const secret = byId.get(credentialSecretName(id));
                    assert.ok(secret, `no Key Vault secret for ${id}`);
                    assert.match(secret.inputs.secretName, KEY_VAULT_SECRET_NAME);
                    assert.strictEqual(secret.inputs.properties.contentType, "text/plain");
                    assert.strictEqual(
                        secret.inputs.properties.value,
                        values.get(`credentials-${id}`),
                        `${id} holds its generated password`,
                    );
                    assert.ok(
                        underSecretPath("properties.value", secret.secretPaths),
                        `${id}: properties.value not secret (${secret.secretPaths})`,
                    );
                    assert.strictEqual(secret.inputs.vaultName, result.outputs.keyVault.name);
                }
            });

            it("keeps every password, and every input containing one, secret: nothing in plan.json or manifests", async () => {
                const result = await runStack(stack);
                const values = [...passwords(result).values()];
                assert.ok(values.length >= 9 && values.every((v) => v.length >= 32), "real passwords to look for");
                const leaks: string[] = [];
                for (const r of result.resources) {
                    for (const leaf of leaves(r.inputs)) {
                        if (
                            values.some((v) => forms(v).some((f) => leaf.text.includes(f))) &&
                            !underSecretPath(leaf.path, r.secretPaths)
                        ) {
                            leaks.push(`${r.type} ${r.name} ${leaf.path}`);
                        }
                    }
                }
                assert.deepStrictEqual(leaks, [], "inputs holding a password without being secret");

                const planText = stableJson(toPlan(result));
                const manifests = result.resources.filter(isManifest).map((r) => YAML.stringify(manifestOf(r)));
                assert.ok(manifests.length > 0, "manifests were rendered");
                for (const value of values) {
                    for (const form of forms(value)) {
                        assert.ok(!planText.includes(form), `a password appears in plan.json of ${stack}`);
                        manifests.forEach((m, i) =>
                            assert.ok(!m.includes(form), `a password appears in manifest ${i} of ${stack}`),
                        );
                    }
                }
                assert.ok(planText.includes('"[secret]"'), "the plan masks secret inputs");
            });
        });
    }

    it("the URL-safe default keeps the entropy of the previous one: 42 of 66 characters, 244.4 bits >= 40 of 78, 243.0 bits", () => {
        const now = parseStack("dev").keyVault.passwords;
        assert.deepStrictEqual(now, { length: DEFAULT_PASSWORD_LENGTH, special: URL_SAFE_SPECIAL_CHARACTERS });
        const previous = { length: 40, special: SAFE_SPECIAL_CHARACTERS };
        const bits = [now, previous].map((p) => Math.round(passwordEntropyBits(p) * 10) / 10);
        assert.deepStrictEqual(bits, [244.4, 243.0]);
        assert.ok(passwordEntropyBits(now) >= passwordEntropyBits(previous));
        // One character shorter would not keep it: 42 is the shortest.
        assert.ok(passwordEntropyBits({ ...now, length: now.length - 1 }) < passwordEntropyBits(previous));
    });

    it("every generated password ignores changes of its length and alphabet (PASSWORD_POLICY_INPUTS), and nothing else", async () => {
        const result = await runStack("prod");
        const passwordsOf = byType(result, PASSWORD);
        assert.ok(passwordsOf.length > 9);
        for (const pw of passwordsOf) {
            assert.deepStrictEqual(pw.options.ignoreChanges, PASSWORD_POLICY_INPUTS, pw.name);
            // Pulumi takes the property names as the program spells them: both are inputs of every password.
            for (const input of PASSWORD_POLICY_INPUTS) {
                assert.ok(input in pw.inputs, `${pw.name} has no input ${input}`);
            }
        }
    });

    it("takes length and special characters from keyVault.passwords", async () => {
        const result = await runStack("dev", keyVaultOverride("dev", { passwords: { length: 48, special: "-_." } }));
        for (const pw of byType(result, PASSWORD)) {
            assert.strictEqual(pw.inputs.length, 48);
            assert.strictEqual(pw.inputs.overrideSpecial, "-_.");
            assert.match(pw.outputs.result, /^[A-Za-z0-9._-]{48}$/);
        }
    });

    it("rotates exactly the credential whose rotation value changes, without renaming anything", async () => {
        const base = await runStack("dev");
        const rotated = await runStack("dev", keyVaultOverride("dev", { rotations: { "pg-admin": 1 } }));
        assert.deepStrictEqual(
            rotated.resources.map((r) => r.urn),
            base.resources.map((r) => r.urn),
        );
        const before = passwords(base);
        const after = passwords(rotated);
        for (const [name, value] of before) {
            if (name === "credentials-pg-admin") {
                assert.notStrictEqual(after.get(name), value, "the rotated password changed");
                assert.deepStrictEqual(byName(rotated, PASSWORD, name).inputs.keepers, { rotation: "1" });
            } else {
                assert.strictEqual(after.get(name), value, `${name} changed`);
            }
        }
        const secret = (r: RunResult) =>
            byType(r, SECRET).find((s) => s.inputs.secretName === "pg-admin") as RecordedResource;
        assert.strictEqual(
            secret(rotated).inputs.properties.value,
            after.get("credentials-pg-admin"),
            "the new value reaches Key Vault",
        );
        assert.strictEqual(secret(rotated).urn, secret(base).urn);
    });

    it("a rotation written as a number (YAML, `pulumi config set --path`) rotates like its decimal string did", async () => {
        const keepersOf = (r: RunResult) => byType(r, PASSWORD).map((p) => [p.name, p.inputs.keepers]);
        const ids = ["pg-admin", "pg-app-orders", "redis-admin", "redis-app-orders"];
        const asNumbers = await runStack(
            "prod",
            keyVaultOverride("prod", { rotations: Object.fromEntries(ids.map((id) => [id, 1])) }),
        );
        const asStrings = await runStack(
            "prod",
            keyVaultOverride("prod", { rotations: Object.fromEntries(ids.map((id) => [id, "1"])) }),
        );
        assert.deepStrictEqual(keepersOf(asNumbers), keepersOf(asStrings));
        assert.deepStrictEqual(byName(asNumbers, PASSWORD, "credentials-redis-admin-b").inputs.keepers, {
            rotation: "1",
        });
    });

    it("a stack leaving a free-form rotation value keeps the password in use and renews only the other one", async () => {
        // What the previous release accepted, and the keepers it gave: the value itself on the only slot (Redis) or
        // on the owning role's login (PostgreSQL); the password in use is the one generated for that keeper.
        const legacy = "2026-01-01";
        const migrated = await runStack(
            "prod",
            keyVaultOverride("prod", {
                rotations: {
                    "redis-admin": { generation: 1, legacyValue: legacy },
                    "pg-app-orders": { generation: 1, legacyValue: legacy },
                    "pg-admin": { generation: 0, legacyValue: legacy },
                },
            }),
        );
        const keeper = (name: string) => byName(migrated, PASSWORD, `credentials-${name}`).inputs.keepers;
        assert.deepStrictEqual(keeper("redis-admin"), { rotation: legacy }, "the Redis password in use is kept");
        assert.deepStrictEqual(keeper("redis-admin-b"), { rotation: "1" }, "the new one fills the other slot");
        assert.deepStrictEqual(keeper("pg-app-orders"), { rotation: legacy }, "the login in use keeps its password");
        assert.deepStrictEqual(keeper("pg-alt-orders"), { rotation: "1" }, "the alternate login gets the new one");
        assert.deepStrictEqual(keeper("pg-admin"), { rotation: legacy }, "a single password is kept at generation 0");
        const vaultValue = (id: string) =>
            (byType(migrated, SECRET).find((s) => s.inputs.secretName === id) as RecordedResource).inputs.properties
                .value;
        assert.strictEqual(vaultValue("redis-admin"), passwords(migrated).get("credentials-redis-admin-b"));
    });

    it("keeps passwords when unrelated configuration changes (sizes, a new application)", async () => {
        const dev = loadStackConfig("dev");
        const apps = JSON.parse(dev.config["data-platform:apps"]);
        const postgres = JSON.parse(dev.config["data-platform:postgres"]);
        const base = passwords(await runStack("dev"));
        const changed = passwords(
            await runStack("dev", {
                "data-platform:postgres": { ...postgres, maxConnections: 200 },
                "data-platform:apps": [
                    ...apps,
                    { name: "reports", namespace: "reports", redisDb: 5, poolSize: 2, replicas: 1 },
                ],
                "data-platform:keyVault": {
                    ...JSON.parse(dev.config["data-platform:keyVault"]),
                    softDeleteRetentionDays: 30,
                },
            }),
        );
        for (const [name, value] of base) {
            assert.strictEqual(changed.get(name), value, `${name} changed`);
        }
        assert.ok(
            changed.has("credentials-pg-app-reports") && changed.has("credentials-redis-app-reports"),
            "the new application got its credentials",
        );
    });

    it("serves declared credentials only", async () => {
        const config = parseStack("dev");
        let source: Credentials | undefined;
        await runWithCredentials(config, ["pg-admin"], (_vault, creds) => {
            source = creds;
        });
        assert.ok(source);
        assert.strictEqual(source.secretName("pg-admin"), "pg-admin");
        assert.ok(pulumi.Output.isInstance(source.password("pg-admin")));
        assert.strictEqual(await pulumi.isSecret(source.password("pg-admin")), true);
        assert.throws(() => source?.password("pg-app-nope"), /pg-app-nope was not declared/);
        assert.throws(() => source?.secretName("redis-admin"), /redis-admin was not declared/);
    });

    it("refuses an id declared twice before generating any password", async () => {
        const config = parseStack("dev");
        let used = false;
        await assert.rejects(
            runWithCredentials(config, ["pg-admin", "redis-admin", "pg-admin"], () => (used = true)),
            /credential pg-admin is declared twice/,
        );
        assert.strictEqual(used, false);
    });

    describe("connection bundle", () => {
        const config = parseStack("dev");
        const app = config.apps[0];

        async function runBundle(
            env: (creds: Credentials) => Record<string, pulumi.Input<string>>,
        ): Promise<RunResult> {
            return runWithCredentials(config, ["pg-app-orders"], (vault, creds) => {
                writeConnectionBundle(vault, app, env(creds), {});
            });
        }

        it("writes the application's whole environment as one secret JSON value", async () => {
            const result = await runBundle((creds) => ({
                PGUSER: "orders",
                PGPASSWORD: creds.password("pg-app-orders"),
                DATABASE_URL: pulumi.interpolate`postgresql://orders:${creds.password("pg-app-orders").apply(encodeURIComponent)}@pg:5432/orders`,
                REDIS_HOST: pulumi.output("redis.data-platform.svc"),
            }));
            const bundle = byName(result, SECRET, `bundle-${app.name}`);
            const password = byName(result, PASSWORD, "creds-pg-app-orders").outputs.result as string;
            assert.strictEqual(bundle.inputs.secretName, bundleSecretName(app.name));
            assert.strictEqual(bundle.inputs.secretName, "app-orders-env");
            assert.strictEqual(bundle.inputs.properties.contentType, "application/json");
            assert.ok(underSecretPath("properties.value", bundle.secretPaths), "bundle value is secret");
            const parsed = JSON.parse(bundle.inputs.properties.value);
            assert.deepStrictEqual(Object.keys(parsed), ["DATABASE_URL", "PGPASSWORD", "PGUSER", "REDIS_HOST"]);
            assert.strictEqual(parsed.PGPASSWORD, password);
            assert.strictEqual(
                parsed.DATABASE_URL,
                `postgresql://orders:${encodeURIComponent(password)}@pg:5432/orders`,
            );
            assert.ok(!stableJson(toPlan(result)).includes(password));
            assert.deepStrictEqual(
                result.resources.filter((r) => r.type === "azure-native:authorization:RoleAssignment"),
                [],
                "writing goes through ARM: no data-plane role for the deployer",
            );
            assert.match(
                bundle.provider ?? "",
                /\$pulumi:providers:azure-native::azure::/,
                "parentless writes still use the explicit provider",
            );
        });

        it("is written for every application of both stacks, secret as a whole", async () => {
            for (const stack of STACKS) {
                const result = await runStack(stack);
                for (const a of parseStack(stack).apps) {
                    const bundle = byName(result, SECRET, `bundle-${a.name}`);
                    assert.strictEqual(bundle.inputs.secretName, bundleSecretName(a.name));
                    assert.strictEqual(bundle.inputs.properties.contentType, "application/json");
                    assert.ok(underSecretPath("properties.value", bundle.secretPaths), `${stack}/${a.name}`);
                    const env = JSON.parse(bundle.inputs.properties.value);
                    assert.ok(
                        Object.keys(env).length > 0 && Object.values(env).every((v) => typeof v === "string"),
                        `${stack}/${a.name}`,
                    );
                }
            }
        });

        it("refuses environment keys a container cannot take", () => {
            assert.throws(
                () => writeConnectionBundle({} as never, app, { "PG-USER": "x" }, {}),
                /invalid environment variable names PG-USER/,
            );
        });

        it('accepts a bundle of 25,000 bytes and refuses 25,001, naming Key Vault\'s "25k bytes" (the old check allowed 25,600)', () => {
            // {"K":"<value>"}: 8 bytes around the value.
            const of = (bytes: number) => ({ K: "x".repeat(bytes - 8) });
            assert.strictEqual(Buffer.byteLength(checkedBundle("app-a-env", of(25_000))), 25_000);
            assert.throws(
                () => checkedBundle("app-a-env", of(25_001)),
                /^Error: connection bundle app-a-env: 25001 bytes, over 25000: Key Vault secret value, "25k bytes" \(MicrosoftDocs\/azure-security-docs key-vault\/secrets\/about-secrets.md\)$/,
            );
        });

        it("renders the same JSON whatever the key order", () => {
            assert.strictEqual(renderBundle({ B: "2", A: "1" }), renderBundle({ A: "1", B: "2" }));
            assert.strictEqual(renderBundle({ B: "2", A: "1" }), '{"A":"1","B":"2"}');
        });
    });

    describe("naming", () => {
        it("declares unique credential ids that are valid Key Vault secret names", () => {
            for (const stack of STACKS) {
                const config = parseStack(stack);
                const ids = platformCredentialIds(config);
                assert.strictEqual(new Set(ids).size, ids.length);
                ids.forEach((id) => assert.match(credentialSecretName(id), KEY_VAULT_SECRET_NAME));
                for (const a of config.apps) {
                    assert.ok(ids.includes(`pg-app-${a.name}`) && ids.includes(`redis-app-${a.name}`), a.name);
                    assert.ok(!ids.includes(bundleSecretName(a.name)), "bundles never collide with credentials");
                }
            }
            assert.deepStrictEqual(
                platformCredentialIds(parseStack("prod")).filter((id) => id.startsWith("redis-sentinel")),
                ["redis-sentinel", "redis-sentinel-auth"],
            );
            assert.throws(() => credentialSecretName("pg_admin"), /invalid Key Vault secret name/);
        });

        it("names role assignments deterministically per scope, principal and role", () => {
            const a = roleAssignmentName(
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v",
                "p1",
                "r",
            );
            assert.strictEqual(
                a,
                roleAssignmentName(
                    "/subscriptions/s/resourceGroups/RG/providers/Microsoft.KeyVault/vaults/v",
                    "p1",
                    "r",
                ),
                "ARM scopes are case-insensitive",
            );
            assert.notStrictEqual(
                a,
                roleAssignmentName(
                    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v",
                    "p2",
                    "r",
                ),
            );
            assert.notStrictEqual(
                a,
                roleAssignmentName(
                    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v",
                    "p1",
                    "r2",
                ),
            );
            assert.strictEqual(
                serviceAccountSubject("external-secrets", "eso"),
                "system:serviceaccount:external-secrets:eso",
            );
        });
    });
});
