import * as assert from "assert";
import { defaultVaultName } from "../../../components/config";
import { KEY_VAULT_NAME } from "../../../components/config/names";
import {
    KEY_VAULT_ROLES,
    adoptionProblem,
    appSecretsIdentityName,
    externalSecretsIdentityName,
    parseVaultId,
    prefixedSecretName,
    roleAssignmentName,
    secretScope,
} from "../../../components/vault";
import { APP_STORE_SERVICE_ACCOUNT } from "../../../components/secretSync/spec";
import { MOCK_DEPLOYER_OBJECT_ID, MOCK_SUBSCRIPTION_ID, MOCK_TENANT_ID } from "../../../offline/answers";
import type { RecordedResource, RunResult } from "../../../offline/mockEngine";
import { keyVaultOverride, parseStack, problemLines, sectionOverride } from "../../support/config";
import { STACKS, byName, byType, runStack } from "../../support/program";

const VAULT = "azure-native:keyvault:Vault";
const SECRET = "azure-native:keyvault:Secret";
const ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment";
const IDENTITY = "azure-native:managedidentity:UserAssignedIdentity";
const FEDERATION = "azure-native:managedidentity:FederatedIdentityCredential";

function assertRefused(stack: string, changes: Record<string, unknown>, path: string, allowed: RegExp): void {
    const lines = problemLines(stack, keyVaultOverride(stack, changes));
    const line = lines.find((l) => l.startsWith(`${path}: `));
    assert.ok(line, `no problem reported for ${path}; got:\n${lines.join("\n")}`);
    assert.match(line, allowed);
}

function roleDefinition(guid: string): string {
    return `/subscriptions/${MOCK_SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;
}

/** The identity a role assignment grants to (by principal id). */
function grantee(result: RunResult, ra: RecordedResource): RecordedResource | undefined {
    return byType(result, IDENTITY).find((i) => i.outputs.principalId === ra.inputs.principalId);
}

const ADOPTED = `/subscriptions/${MOCK_SUBSCRIPTION_ID}/resourceGroups/rg-shared-secrets/providers/Microsoft.KeyVault/vaults/kv-shared-dev`;

describe("Key Vault", () => {
    for (const stack of STACKS) {
        describe(`${stack} stack`, () => {
            it("creates the vault with RBAC, purge protection, retention and a default-deny firewall", async () => {
                const result = await runStack(stack);
                const config = parseStack(stack);
                const vaults = byType(result, VAULT);
                assert.strictEqual(vaults.length, 1);
                const [vault] = vaults;
                const p = vault.inputs.properties;
                assert.strictEqual(vault.inputs.vaultName, defaultVaultName(stack, config.azure.resourceGroupName));
                assert.strictEqual(vault.inputs.resourceGroupName, config.azure.resourceGroupName);
                assert.strictEqual(p.enableRbacAuthorization, true);
                assert.strictEqual(p.enablePurgeProtection, true);
                assert.strictEqual(p.enableSoftDelete, true);
                assert.strictEqual(p.softDeleteRetentionInDays, stack === "prod" ? 90 : 7);
                assert.strictEqual(p.tenantId, MOCK_TENANT_ID);
                assert.deepStrictEqual(p.sku, { family: "A", name: "standard" });
                assert.strictEqual(p.networkAcls.defaultAction, "Deny");
                assert.strictEqual(p.networkAcls.bypass, "None");
                if (stack === "prod") {
                    assert.strictEqual(p.publicNetworkAccess, "Disabled");
                    assert.deepStrictEqual(p.networkAcls.ipRules, []);
                } else {
                    assert.strictEqual(p.publicNetworkAccess, "Enabled");
                    assert.deepStrictEqual(
                        p.networkAcls.ipRules,
                        [...config.cluster.egressIpRanges, ...config.keyVault.allowedIpRanges].map((value) => ({
                            value,
                        })),
                    );
                    assert.ok(config.cluster.egressIpRanges.length > 0, "the dev stack file admits the cluster");
                }
                assert.deepStrictEqual(vault.inputs.tags, config.azure.tags);
                assert.strictEqual(vault.options.protect, config.protect);
                assert.strictEqual(vault.options.retainOnDelete, true);
                assert.match(vault.provider ?? "", /\$pulumi:providers:azure-native::azure::/);
            });

            it("grants only Secrets User, each on one secret, to External Secrets' identities as service principals", async () => {
                const result = await runStack(stack);
                const [vault] = byType(result, VAULT);
                const secrets = new Set(byType(result, SECRET).map((s) => s.inputs.secretName as string));
                const assignments = byType(result, ROLE_ASSIGNMENT);
                assert.ok(assignments.length > 0);
                for (const ra of assignments) {
                    const secretName = String(ra.inputs.scope).slice(`${vault.id}/secrets/`.length);
                    assert.strictEqual(ra.inputs.scope, secretScope(vault.id as string, secretName), ra.name);
                    assert.ok(secrets.has(secretName), `${ra.name}: ${secretName} is a secret the program writes`);
                    const secret = byType(result, SECRET).find((s) => s.inputs.secretName === secretName);
                    assert.ok(secret && ra.dependencies.includes(secret.urn), `${ra.name} waits for its scope`);
                    assert.strictEqual(ra.inputs.principalType, "ServicePrincipal", ra.name);
                    assert.ok(grantee(result, ra), `${ra.name} grants to one of External Secrets' identities`);
                    assert.notStrictEqual(ra.inputs.principalId, MOCK_DEPLOYER_OBJECT_ID, ra.name);
                    assert.strictEqual(ra.inputs.roleDefinitionId, roleDefinition(KEY_VAULT_ROLES.secretsUser));
                    assert.strictEqual(
                        ra.inputs.roleAssignmentName,
                        roleAssignmentName(ra.inputs.scope, ra.inputs.principalId, KEY_VAULT_ROLES.secretsUser),
                    );
                    assert.match(
                        ra.inputs.roleAssignmentName,
                        /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
                    );
                }
                assert.strictEqual(KEY_VAULT_ROLES.secretsUser, "4633458b-17de-408a-b874-0445c86b69e6");
            });

            it("federates the platform identity with the operator's account, each app's with its namespace's store account", async () => {
                const result = await runStack(stack);
                const config = parseStack(stack);
                const eso = config.cluster.externalSecrets;
                const expected = [
                    {
                        name: "eso-identity",
                        identity: externalSecretsIdentityName(config.keyVault.name),
                        subject: `system:serviceaccount:${eso.namespace}:${eso.serviceAccountName}`,
                    },
                    ...config.apps.map((app) => ({
                        name: `eso-identity-${app.name}`,
                        identity: appSecretsIdentityName(config.keyVault.name, app.name),
                        subject: `system:serviceaccount:${app.namespace}:${APP_STORE_SERVICE_ACCOUNT}`,
                    })),
                ];
                assert.strictEqual(byType(result, IDENTITY).length, expected.length);
                for (const e of expected) {
                    const identity = byName(result, IDENTITY, `${e.name}-uami`);
                    const fic = byName(result, FEDERATION, `${e.name}-fic`);
                    assert.strictEqual(identity.inputs.resourceName, e.identity);
                    assert.strictEqual(identity.inputs.resourceGroupName, config.azure.resourceGroupName);
                    assert.strictEqual(fic.inputs.resourceName, identity.inputs.resourceName);
                    assert.strictEqual(fic.inputs.issuer, result.outputs.oidcIssuerUrl);
                    assert.match(fic.inputs.issuer, /^https:\/\//);
                    assert.strictEqual(fic.inputs.subject, e.subject);
                    assert.deepStrictEqual(fic.inputs.audiences, ["api://AzureADTokenExchange"]);
                }
            });

            it("gives the deployer no role: secrets are written through ARM and retained on delete", async () => {
                const result = await runStack(stack);
                for (const ra of byType(result, ROLE_ASSIGNMENT)) {
                    assert.notStrictEqual(ra.inputs.principalId, MOCK_DEPLOYER_OBJECT_ID, ra.name);
                }
                const secrets = byType(result, SECRET);
                assert.ok(secrets.length > 0);
                for (const secret of secrets) {
                    assert.ok(
                        secret.dependencies.every((urn) => !urn.includes("RoleAssignment")),
                        `${secret.name} waits for a role assignment`,
                    );
                    assert.strictEqual(secret.options.retainOnDelete, true, secret.name);
                    assert.match(secret.provider ?? "", /\$pulumi:providers:azure-native::azure::/, secret.name);
                }
            });

            it("exports vault name and URI, the identity's client id and the secret names, no values", async () => {
                const result = await runStack(stack);
                const [vault] = byType(result, VAULT);
                const identity = byName(result, IDENTITY, "eso-identity-uami");
                assert.strictEqual(result.outputs.keyVault.name, vault.inputs.vaultName);
                assert.strictEqual(result.outputs.keyVault.uri, `https://${vault.inputs.vaultName}.vault.azure.net/`);
                assert.strictEqual(result.outputs.externalSecretsClientId, identity.outputs.clientId);
                const credentials = byName(result, "data-platform:credentials:Credentials", "credentials");
                const secretNames = byType(result, SECRET)
                    .filter((s) => s.parent === credentials.urn)
                    .map((s) => s.inputs.secretName)
                    .sort();
                assert.deepStrictEqual(Object.values(result.outputs.credentialSecretNames).sort(), secretNames);
                assert.deepStrictEqual(result.outputSecretPaths, [], "outputs hold no secret");
            });
        });
    }

    it("gives the closed prod vault a private endpoint registered in the vault's private DNS zone", async () => {
        const result = await runStack("prod");
        const config = parseStack("prod");
        const pe = config.keyVault.privateEndpoint;
        assert.ok(pe, "the prod stack file configures one");
        const [vault] = byType(result, VAULT);
        const endpoint = byName(result, "azure-native:network:PrivateEndpoint", "keyvault-pe");
        assert.strictEqual(endpoint.inputs.subnet.id, pe.subnetId);
        assert.deepStrictEqual(endpoint.inputs.privateLinkServiceConnections, [
            { name: "vault", privateLinkServiceId: vault.id, groupIds: ["vault"] },
        ]);
        assert.strictEqual(endpoint.inputs.resourceGroupName, config.azure.resourceGroupName);
        const dns = byName(result, "azure-native:network:PrivateDnsZoneGroup", "keyvault-pe-dns");
        assert.strictEqual(dns.inputs.privateEndpointName, endpoint.inputs.privateEndpointName);
        assert.deepStrictEqual(dns.inputs.privateDnsZoneConfigs, [
            { name: "vault", privateDnsZoneId: pe.privateDnsZoneId },
        ]);
        assert.strictEqual(
            byType(await runStack("dev"), "azure-native:network:PrivateEndpoint").length,
            0,
            "dev is reached over its firewall",
        );
    });

    it("leaves purge protection out when it is off (Azure refuses false)", async () => {
        const result = await runStack("dev", keyVaultOverride("dev", { purgeProtection: false }));
        const [vault] = byType(result, VAULT);
        assert.ok(
            !("enablePurgeProtection" in vault.inputs.properties) ||
                vault.inputs.properties.enablePurgeProtection === undefined,
        );
        assert.strictEqual(vault.inputs.properties.enableRbacAuthorization, true);
    });

    it("adopts an existing vault by id: no vault created, prefixed secrets, role assignments on its secrets", async () => {
        const result = await runStack(
            "dev",
            keyVaultOverride("dev", { existingVaultId: ADOPTED, secretPrefix: "dev" }),
        );
        assert.strictEqual(byType(result, VAULT).length, 0);
        const lookup = result.invokes.find((i) => i.token === "azure-native:keyvault:getVault");
        assert.deepStrictEqual(lookup?.inputs, { resourceGroupName: "rg-shared-secrets", vaultName: "kv-shared-dev" });
        const secrets = byType(result, SECRET);
        assert.ok(secrets.length > 0);
        for (const secret of secrets) {
            assert.strictEqual(secret.inputs.vaultName, "kv-shared-dev");
            assert.strictEqual(secret.inputs.resourceGroupName, "rg-shared-secrets");
            assert.match(secret.inputs.secretName, /^dev-/, secret.name);
        }
        const names = new Set(secrets.map((s) => s.inputs.secretName));
        for (const ra of byType(result, ROLE_ASSIGNMENT)) {
            assert.ok(String(ra.inputs.scope).startsWith(`${ADOPTED}/secrets/dev-`), ra.name);
            assert.ok(names.has(String(ra.inputs.scope).slice(`${ADOPTED}/secrets/`.length)), ra.name);
        }
        for (const es of byType(result, "kubernetes:external-secrets.io/v1:ExternalSecret")) {
            for (const d of es.inputs.spec.data) {
                assert.ok(names.has(d.remoteRef.key), `${es.name} reads ${d.remoteRef.key}, which the stack writes`);
            }
        }
        assert.deepStrictEqual(
            Object.values(result.outputs.credentialSecretNames).every((n) => String(n).startsWith("dev-")),
            true,
        );
        assert.deepStrictEqual(result.outputs.keyVault, {
            name: "kv-shared-dev",
            uri: "https://kv-shared-dev.vault.azure.net/",
        });
    });

    it("keeps the secret names of a stack with its own vault (no prefix), and of an adopting stack that says so", async () => {
        for (const stack of STACKS) {
            const result = await runStack(stack);
            const credentials = byName(result, "data-platform:credentials:Credentials", "credentials");
            for (const secret of byType(result, SECRET).filter((s) => s.parent === credentials.urn)) {
                assert.strictEqual(
                    secret.inputs.secretName,
                    secret.name.slice("credentials-".length).replace(/-kv$/, ""),
                );
            }
            assert.ok(
                byType(result, SECRET).some((s) => s.inputs.secretName === "pg-admin"),
                stack,
            );
        }
        const legacy = await runStack("dev", keyVaultOverride("dev", { existingVaultId: ADOPTED, secretPrefix: "" }));
        const plain = await runStack("dev");
        assert.deepStrictEqual(
            byType(legacy, SECRET).map((s) => s.inputs.secretName),
            byType(plain, SECRET).map((s) => s.inputs.secretName),
        );
        assert.strictEqual(prefixedSecretName("", "pg-admin"), "pg-admin");
        assert.strictEqual(prefixedSecretName("team-a", "pg-admin"), "team-a-pg-admin");
    });

    it("adopts only an RBAC vault of the deploying subscription", () => {
        const ref = parseVaultId(
            "/subscriptions/99999999-9999-9999-9999-999999999999/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-elsewhere",
        );
        assert.deepStrictEqual(ref, {
            subscriptionId: "99999999-9999-9999-9999-999999999999",
            resourceGroupName: "rg",
            vaultName: "kv-elsewhere",
        });
        assert.match(
            adoptionProblem(ref, true, MOCK_SUBSCRIPTION_ID) ?? "",
            /existingVaultId is in subscription 99999999-.*deploys to 00000000-/,
        );
        assert.match(adoptionProblem(ref, false, ref.subscriptionId) ?? "", /kv-elsewhere uses access policies/);
        assert.match(adoptionProblem(ref, undefined, ref.subscriptionId) ?? "", /uses access policies/);
        assert.strictEqual(adoptionProblem(ref, true, ref.subscriptionId.toUpperCase()), undefined);
        assert.throws(
            () => parseVaultId("/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/my_vault"),
            /not a Key Vault resource id/,
        );
    });

    describe("configuration", () => {
        it("refuses vault names Azure refuses", () => {
            for (const name of ["ab", "1vault", "vault-", "my--vault", "my_vault", "a".repeat(25)]) {
                assertRefused("dev", { name }, "data-platform:keyVault.name", /3-24 letters, digits and single dashes/);
            }
            assert.strictEqual(
                parseStack("dev", keyVaultOverride("dev", { name: "kv-Orders-01" })).keyVault.name,
                "kv-Orders-01",
            );
        });

        it("derives a valid vault name for any stack name", () => {
            for (const stack of [
                "dev",
                "prod",
                "a",
                "x".repeat(60),
                "Feature/JIRA-123_try",
                "---",
                "9lives",
                "team.a--b",
            ]) {
                const name = defaultVaultName(stack, "rg-data-platform");
                assert.match(name, KEY_VAULT_NAME, `${stack} -> ${name}`);
            }
        });

        it("refuses an existing vault id that is not a Key Vault or whose name breaks the rule", () => {
            const rg = `/subscriptions/${MOCK_SUBSCRIPTION_ID}/resourceGroups/rg`;
            assertRefused(
                "dev",
                { existingVaultId: `${rg}/providers/Microsoft.Storage/storageAccounts/kv` },
                "data-platform:keyVault.existingVaultId",
                /a Key Vault resource id/,
            );
            assertRefused(
                "dev",
                { existingVaultId: `${rg}/providers/Microsoft.KeyVault/vaults/my_vault` },
                "data-platform:keyVault.existingVaultId",
                /naming rule/,
            );
        });

        it("refuses rotation keys that are not valid secret names or not credentials of the stack", () => {
            assertRefused(
                "dev",
                { rotations: { pg_admin: "1" } },
                "data-platform:keyVault.rotations.pg_admin (key)",
                /credential id/,
            );
            assertRefused(
                "dev",
                { rotations: { "pg-app-unknown": "1" } },
                "data-platform:keyVault.rotations.pg-app-unknown (key)",
                /credential id of this stack: .*pg-admin/,
            );
            // Sentinel credentials exist only in sentinel mode (prod), not in the standalone dev stack.
            assertRefused(
                "dev",
                { rotations: { "redis-sentinel": "1" } },
                "data-platform:keyVault.rotations.redis-sentinel (key)",
                /credential id of this stack/,
            );
            assert.deepStrictEqual(
                parseStack("prod", keyVaultOverride("prod", { rotations: { "redis-sentinel": "2026-11" } })).keyVault
                    .rotations,
                { "redis-sentinel": "2026-11" },
            );
            assertRefused(
                "dev",
                { rotations: { "pg-admin": "" } },
                "data-platform:keyVault.rotations.pg-admin",
                /0 to 64|1 to 64/,
            );
        });

        it("refuses passwords shorter than 32 characters and special characters outside the safe set", () => {
            assertRefused(
                "dev",
                { passwords: { length: 31 } },
                "data-platform:keyVault.passwords.length",
                /from 32 to 128/,
            );
            assertRefused(
                "prod",
                { passwords: { length: 16 } },
                "data-platform:keyVault.passwords.length",
                /from 32 to 128/,
            );
            assertRefused(
                "dev",
                { passwords: { special: "$" } },
                "data-platform:keyVault.passwords.special",
                /outside the safe set/,
            );
            assertRefused(
                "dev",
                { passwords: { special: "" } },
                "data-platform:keyVault.passwords.special",
                /non-empty subset/,
            );
            assert.strictEqual(
                parseStack("dev", keyVaultOverride("dev", { passwords: { length: 32 } })).keyVault.passwords.length,
                32,
            );
        });

        it("refuses a created vault that nothing could reach: no public access and no private endpoint", () => {
            assertRefused(
                "prod",
                { privateEndpoint: undefined },
                "data-platform:keyVault.privateEndpoint",
                /private endpoint .* while publicNetworkAccess is false/,
            );
            assert.doesNotThrow(
                () =>
                    parseStack(
                        "prod",
                        keyVaultOverride("prod", {
                            privateEndpoint: undefined,
                            existingVaultId: ADOPTED,
                            secretPrefix: "prod",
                        }),
                    ),
                "an adopted vault's network is its owner's",
            );
            assertRefused(
                "prod",
                { privateEndpoint: { subnetId: "snet", privateDnsZoneId: "zone" } },
                "data-platform:keyVault.privateEndpoint.privateDnsZoneId",
                /privatelink\.vaultcore\.azure\.net/,
            );
        });

        it("refuses an adopted vault without a secret prefix, and prefixes Key Vault refuses", () => {
            assertRefused(
                "prod",
                { existingVaultId: ADOPTED },
                "data-platform:keyVault.secretPrefix",
                /a prefix unique to this stack among the users of keyVault\.existingVaultId/,
            );
            for (const secretPrefix of ["9a", "a_b", "a--b", "a-", "x".repeat(49)]) {
                assertRefused(
                    "prod",
                    { existingVaultId: ADOPTED, secretPrefix },
                    "data-platform:keyVault.secretPrefix",
                    /letters, digits and single dashes|to 48/,
                );
            }
            assert.strictEqual(
                parseStack("prod", keyVaultOverride("prod", { existingVaultId: ADOPTED, secretPrefix: "prod" }))
                    .keyVault.secretPrefix,
                "prod",
            );
            assert.strictEqual(parseStack("prod").keyVault.secretPrefix, undefined, "own vault: no prefix");
        });

        it("refuses a public vault that does not admit the cluster it serves", () => {
            const noEgress = sectionOverride("dev", "cluster", { egressIpRanges: [] });
            const lines = problemLines("dev", noEgress);
            const line = lines.find((l) => l.startsWith("data-platform:cluster.egressIpRanges: "));
            assert.ok(line, lines.join("\n"));
            assert.match(line, /cluster's outbound addresses while keyVault\.publicNetworkAccess is true/);
            assert.match(line, /keyVault\.privateEndpoint/);
            // A private endpoint is the cluster's way in, whatever the public firewall says.
            assert.doesNotThrow(() =>
                parseStack("dev", {
                    ...noEgress,
                    ...keyVaultOverride("dev", { privateEndpoint: parseStack("prod").keyVault.privateEndpoint }),
                }),
            );
        });

        it("refuses allowed ranges on a vault without public access", () => {
            assertRefused(
                "prod",
                { allowedIpRanges: ["203.0.113.7"] },
                "data-platform:keyVault.allowedIpRanges",
                /no ranges while publicNetworkAccess is false/,
            );
        });
    });
});
