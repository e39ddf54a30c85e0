/**
 * External Secrets as the program deploys it, from the real program under the mock engine: the operator,
 * the ClusterSecretStore, every ExternalSecret and the per-application access rules.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { PlatformConfig } from "../components/config";
import { contractKeys, contractShape } from "../components/envContract";
import { bundleSecretName, serviceAccountSubject } from "../components/vault";
import {
    ESO_API_VERSION,
    ESO_CHART,
    servesEsoV1,
    STORE_NAME,
    WORKLOAD_IDENTITY_CLIENT_ID,
    WORKLOAD_IDENTITY_USE,
} from "../components/secretSync/spec";
import * as k8s from "@pulumi/kubernetes";
import { SecretSync } from "../components/secretSync/secretSync";
import type { RecordedResource, RunResult } from "../engine/mockEngine";
import { runProgram } from "../engine/mockEngine";
import { loadStackConfig } from "../engine/stackConfig";
import { parseStack } from "./support/config";
import { SCHEMAS_DIR, validateAgainstCrd } from "./support/crdSchemas";
import { EXTERNAL_SECRET, vaultContents } from "./support/esoOperator";
import { STACKS, byType, runStack } from "./support/program";

const STORE = "kubernetes:external-secrets.io/v1:ClusterSecretStore";
const RELEASE = "kubernetes:helm.sh/v3:Release";
const ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role";
const ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding";
const UAMI = "azure-native:managedidentity:UserAssignedIdentity";
const FIC = "azure-native:managedidentity:FederatedIdentityCredential";

function only(result: RunResult, type: string): RecordedResource {
    const found = byType(result, type);
    assert.equal(found.length, 1, `exactly one ${type}; have ${found.map((r) => r.name).join(", ")}`);
    return found[0];
}

/** Objects of the external-secrets.io API group (whatever kind or version). */
function esoObjects(result: RunResult): RecordedResource[] {
    return result.resources.filter((r) => r.type.startsWith("kubernetes:external-secrets.io/"));
}

/** The ExternalSecrets of one namespace. */
function externalSecretsIn(result: RunResult, namespace: string): RecordedResource[] {
    return byType(result, EXTERNAL_SECRET).filter((r) => r.inputs.metadata.namespace === namespace);
}

/** The External Secrets Operator's Helm release. */
function esoRelease(result: RunResult): RecordedResource {
    const found = byType(result, RELEASE).filter((r) => r.inputs.chart === ESO_CHART);
    assert.equal(found.length, 1, "one External Secrets release");
    return found[0];
}

/** The ESO release whose CRDs are saved in the shared schemas (from their README). */
const SCHEMAS_ESO_VERSION = (() => {
    const readme = fs.readFileSync(path.join(SCHEMAS_DIR, "README.md"), "utf8");
    const match = /## external-secrets\/[\s\S]*?\| Version \| tag `v(\d+\.\d+\.\d+)`/.exec(readme);
    assert.ok(match, "the schemas README names the ESO version");
    return match[1];
})();

/** Every generated password of the run. */
function passwords(result: RunResult): string[] {
    return byType(result, "random:index/randomPassword:RandomPassword").map((r) => String(r.outputs.result));
}

for (const stack of STACKS) {
    describe(`secret sync (${stack})`, () => {
        let result: RunResult;
        let config: PlatformConfig;
        before(async () => {
            result = await runStack(stack);
            config = parseStack(stack);
        });

        it("renders ESO objects that validate against the ESO v2.9 CRDs (unknown fields are errors)", () => {
            const objects = esoObjects(result);
            assert.ok(
                objects.length >= 1 + config.apps.length,
                `store and one ExternalSecret per application; have ${objects.length}`,
            );
            for (const object of objects) {
                assert.equal(object.inputs.apiVersion, ESO_API_VERSION, object.urn);
                assert.deepEqual(validateAgainstCrd(object.inputs), [], object.urn);
            }
        });

        it("installs the pinned operator chart, with workload identity on its service account", () => {
            const release = esoRelease(result);
            const eso = config.cluster.externalSecrets;
            assert.equal(release.inputs.chart, "external-secrets");
            assert.equal(release.inputs.version, eso.chartVersion);
            assert.equal(
                eso.chartVersion,
                SCHEMAS_ESO_VERSION,
                "the chart installs the CRDs the objects are validated against",
            );
            assert.equal(release.inputs.namespace, eso.namespace);
            assert.equal(release.inputs.values.installCRDs, true);
            assert.deepEqual(
                release.inputs.values.crds,
                { annotations: { "helm.sh/resource-policy": "keep" } },
                "CRDs (and so every synced Secret) survive an uninstall",
            );
            const identity = only(result, UAMI);
            assert.deepEqual(release.inputs.values.serviceAccount, {
                create: true,
                name: eso.serviceAccountName,
                annotations: { [WORKLOAD_IDENTITY_CLIENT_ID]: identity.outputs.clientId },
            });
            assert.deepEqual(release.inputs.values.podLabels, { [WORKLOAD_IDENTITY_USE]: "true" });
            // The identity trusts exactly the service account the chart creates and the store names.
            assert.equal(
                only(result, FIC).inputs.subject,
                serviceAccountSubject(eso.namespace, eso.serviceAccountName),
            );
        });

        it("has one ClusterSecretStore: the vault through workload identity, limited to the platform's namespaces", () => {
            const store = only(result, STORE);
            const vault = only(result, "azure-native:keyvault:Vault");
            const eso = config.cluster.externalSecrets;
            assert.equal(store.inputs.metadata.name, STORE_NAME);
            assert.deepEqual(store.inputs.spec.provider, {
                azurekv: {
                    authType: "WorkloadIdentity",
                    vaultUrl: vault.outputs.properties.vaultUri,
                    tenantId: only(result, UAMI).outputs.tenantId,
                    serviceAccountRef: { name: eso.serviceAccountName, namespace: eso.namespace },
                },
            });
            const expected = [config.cluster.platformNamespace, ...config.apps.map((a) => a.namespace)].sort();
            assert.deepEqual(store.inputs.spec.conditions, [{ namespaces: expected }]);
        });

        it("creates custom resources only after the operator, and the store only after its identity can read the vault", () => {
            const release = esoRelease(result);
            const store = only(result, STORE);
            assert.ok(store.dependencies.includes(release.urn), "store waits for the chart (CRDs, webhook)");
            assert.ok(store.dependencies.includes(only(result, FIC).urn), "store waits for the federated credential");
            const vaultAccess = byType(result, "azure-native:authorization:RoleAssignment").find((r) =>
                r.name.includes("vault-secrets-user"),
            );
            assert.ok(
                vaultAccess && store.dependencies.includes(vaultAccess.urn),
                "store waits for the vault role assignment",
            );
            for (const es of byType(result, EXTERNAL_SECRET)) {
                assert.ok(es.dependencies.includes(store.urn), `${es.name} waits for the store`);
            }
        });

        it("keeps every ExternalSecret on the store with Owner/Retain and the configured refresh interval", () => {
            for (const es of byType(result, EXTERNAL_SECRET)) {
                assert.deepEqual(
                    es.inputs.spec.secretStoreRef,
                    { kind: "ClusterSecretStore", name: STORE_NAME },
                    es.name,
                );
                assert.equal(es.inputs.spec.refreshInterval, config.cluster.externalSecrets.refreshInterval, es.name);
                assert.equal(es.inputs.spec.target.creationPolicy, "Owner", es.name);
                assert.equal(es.inputs.spec.target.deletionPolicy, "Retain", es.name);
                assert.equal(es.inputs.spec.target.name, es.inputs.metadata.name, es.name);
            }
        });

        it("puts every ExternalSecret in a namespace the store serves", () => {
            const allowed: string[] = only(result, STORE).inputs.spec.conditions[0].namespaces;
            for (const es of byType(result, EXTERNAL_SECRET)) {
                assert.ok(
                    allowed.includes(es.inputs.metadata.namespace),
                    `${es.name} in ${es.inputs.metadata.namespace}; the store serves ${allowed.join(", ")}`,
                );
            }
        });

        it("reads only Key Vault secrets that the program writes", () => {
            const vault = vaultContents(result);
            for (const es of byType(result, EXTERNAL_SECRET)) {
                for (const entry of es.inputs.spec.data) {
                    assert.ok(
                        vault.has(String(entry.remoteRef.key).toLowerCase()),
                        `${es.name}: ${entry.remoteRef.key} is written by the program`,
                    );
                }
            }
        });

        it("isolates applications: each reads only its own bundle, into its own Secret, for its own service accounts", () => {
            for (const app of config.apps) {
                const inNamespace = externalSecretsIn(result, app.namespace);
                assert.deepEqual(
                    inNamespace.map((es) => es.inputs.metadata.name),
                    [app.secretName],
                    `${app.name}: one ExternalSecret`,
                );
                const data = inNamespace[0].inputs.spec.data as {
                    secretKey: string;
                    remoteRef: { key: string; property?: string };
                }[];
                assert.deepEqual(
                    data.map((d) => d.secretKey),
                    contractKeys(contractShape(config)),
                    `${app.name}: exactly the contract keys`,
                );
                for (const d of data) {
                    assert.deepEqual(
                        d.remoteRef,
                        { key: bundleSecretName(app.name), property: d.secretKey },
                        `${app.name}: only its bundle`,
                    );
                }
                assert.equal(
                    inNamespace[0].inputs.spec.dataFrom,
                    undefined,
                    `${app.name}: nothing beyond the listed keys`,
                );
                const namespace = result.resources.find(
                    (r) =>
                        r.type.startsWith("kubernetes:core/v1:Namespace") && r.inputs.metadata.name === app.namespace,
                );
                assert.ok(
                    namespace && inNamespace[0].dependencies.includes(namespace.urn),
                    `${app.name}: the ExternalSecret waits for its namespace`,
                );

                const roles = byType(result, ROLE).filter((r) => r.inputs.metadata.namespace === app.namespace);
                assert.equal(roles.length, 1, `${app.name}: one Role`);
                assert.deepEqual(roles[0].inputs.rules, [
                    {
                        apiGroups: [""],
                        resources: ["secrets"],
                        resourceNames: [app.secretName],
                        verbs: ["get", "watch"],
                    },
                ]);
                const bindings = byType(result, ROLE_BINDING).filter(
                    (r) => r.inputs.metadata.namespace === app.namespace,
                );
                assert.equal(bindings.length, 1, `${app.name}: one RoleBinding`);
                assert.deepEqual(bindings[0].inputs.roleRef, {
                    apiGroup: "rbac.authorization.k8s.io",
                    kind: "Role",
                    name: roles[0].inputs.metadata.name,
                });
                assert.deepEqual(
                    bindings[0].inputs.subjects,
                    app.serviceAccounts.map((name) => ({ kind: "ServiceAccount", name, namespace: app.namespace })),
                );
            }
            // No application bundle is read from outside its application's namespace.
            for (const es of byType(result, EXTERNAL_SECRET)) {
                for (const app of config.apps) {
                    if (es.inputs.metadata.namespace !== app.namespace) {
                        const keys = (es.inputs.spec.data as { remoteRef: { key: string } }[]).map(
                            (d) => d.remoteRef.key,
                        );
                        assert.ok(
                            !keys.includes(bundleSecretName(app.name)),
                            `${es.name} in ${es.inputs.metadata.namespace} reads ${app.name}'s bundle`,
                        );
                    }
                }
            }
        });

        it("keeps credentials out of the operator, store, ExternalSecrets and RBAC objects", () => {
            const all = passwords(result);
            assert.ok(all.length > 0);
            for (const object of [
                ...esoObjects(result),
                esoRelease(result),
                ...byType(result, ROLE),
                ...byType(result, ROLE_BINDING),
            ]) {
                const text = JSON.stringify(object.inputs);
                assert.ok(
                    all.every((p) => !text.includes(p)),
                    `${object.urn} contains a password`,
                );
                assert.deepEqual(object.secretPaths, [], `${object.urn} carries nothing secret`);
            }
        });

        it("gives every Kubernetes object the cluster's explicit provider", () => {
            const provider = only(result, "pulumi:providers:kubernetes");
            const mine = [
                ...esoObjects(result),
                esoRelease(result),
                ...byType(result, ROLE),
                ...byType(result, ROLE_BINDING),
            ];
            for (const object of mine) {
                assert.ok(object.provider?.startsWith(`${provider.urn}::`), `${object.urn} uses ${object.provider}`);
            }
        });
    });
}

describe("secret sync with an operator installed elsewhere", () => {
    it("annotates the existing service account instead of installing the chart", async () => {
        const stackCluster = JSON.parse(loadStackConfig("prod").config["data-platform:cluster"]);
        const overrides = { "data-platform:cluster": { ...stackCluster, externalSecrets: { install: false } } };
        const eso = parseStack("prod", overrides).cluster.externalSecrets;
        const result = await runStack("prod", overrides);
        assert.equal(byType(result, RELEASE).filter((r) => r.inputs.chart === ESO_CHART).length, 0);
        assert.equal(
            byType(result, "kubernetes:core/v1:Namespace").filter((n) => n.inputs.metadata.name === eso.namespace)
                .length,
            0,
        );
        const patch = only(result, "kubernetes:core/v1:ServiceAccountPatch");
        assert.deepEqual(patch.inputs.metadata, {
            name: eso.serviceAccountName,
            namespace: eso.namespace,
            annotations: { [WORKLOAD_IDENTITY_CLIENT_ID]: only(result, UAMI).outputs.clientId },
        });
        assert.ok(only(result, STORE).dependencies.includes(patch.urn), "store waits for the annotation");
        for (const object of esoObjects(result)) {
            assert.deepEqual(validateAgainstCrd(object.inputs), [], object.urn);
        }
    });
});

describe("SecretSync.syncSecret", () => {
    const externalSecretsConfig = {
        install: true,
        chartVersion: "2.9.0",
        namespace: "external-secrets",
        serviceAccountName: "external-secrets",
        refreshInterval: "5m",
    };

    it("renders explicit remoteRefs (with and without a JSON property) and adds the given dependencies", async () => {
        const result = await runProgram({
            stack: "unit",
            config: {},
            secretKeys: [],
            program: () => {
                const sync = new SecretSync("sync", {
                    externalSecrets: externalSecretsConfig,
                    vaultUri: "https://dp-unit.vault.azure.net/",
                    identityClientId: "client",
                    tenantId: "tenant",
                    namespaces: ["data-platform"],
                });
                const first = new k8s.core.v1.Namespace("first", { metadata: { name: "first" } });
                const second = new k8s.core.v1.Namespace("second", { metadata: { name: "second" } });
                sync.syncSecret(
                    "creds",
                    {
                        namespace: "data-platform",
                        secretName: "pg-credentials",
                        data: [
                            { secretKey: "superuser-password", remoteKey: "pg-admin" },
                            { secretKey: "DB_HOST", remoteKey: "app-x-env", property: "DB_HOST" },
                        ],
                        dependsOn: [second],
                    },
                    { dependsOn: [first] },
                );
            },
        });
        const es = result.resources.find((r) => r.type === EXTERNAL_SECRET && r.name === "creds");
        assert.ok(es);
        assert.deepEqual(es.inputs.spec, {
            refreshInterval: "5m",
            secretStoreRef: { kind: "ClusterSecretStore", name: STORE_NAME },
            target: { name: "pg-credentials", creationPolicy: "Owner", deletionPolicy: "Retain" },
            data: [
                { secretKey: "superuser-password", remoteRef: { key: "pg-admin" } },
                { secretKey: "DB_HOST", remoteRef: { key: "app-x-env", property: "DB_HOST" } },
            ],
        });
        assert.deepEqual(validateAgainstCrd(es.inputs), []);
        for (const name of ["first", "second", "sync-store"]) {
            const dependency = result.resources.find((r) => r.name === name);
            assert.ok(dependency && es.dependencies.includes(dependency.urn), `waits for ${name}`);
        }
    });
});

describe("ESO chart version check", () => {
    it("accepts only releases that serve external-secrets.io/v1", () => {
        for (const [version, serves] of [
            ["0.9.20", false],
            ["0.15.2", false],
            ["0.16.0", true],
            ["0.17.1", true],
            ["1.0.0", true],
            ["2.9.0", true],
        ] as const) {
            assert.equal(servesEsoV1(version), serves, version);
        }
    });

    it("refuses to install an older chart", async () => {
        const stackCluster = JSON.parse(loadStackConfig("dev").config["data-platform:cluster"]);
        await assert.rejects(
            runStack("dev", {
                "data-platform:cluster": { ...stackCluster, externalSecrets: { chartVersion: "0.15.1" } },
            }),
            /External Secrets chart 0.15.1 does not serve external-secrets.io\/v1/,
        );
    });
});
