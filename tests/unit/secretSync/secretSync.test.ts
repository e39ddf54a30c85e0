/**
 * External Secrets as the program deploys it, from the real program under the mock engine: the operator,
 * the ClusterSecretStore, every ExternalSecret and the per-application access rules.
 */
import { strict as assert } from "assert";
import { PlatformConfig } from "../../../components/config";
import { contractKeys, contractShape } from "../../../components/envContract";
import { bundleSecretName, serviceAccountSubject } from "../../../components/vault";
import {
    APP_STORE_SERVICE_ACCOUNT,
    ESO_API_VERSION,
    ESO_CHART,
    SOURCE_VERSIONS_ANNOTATION,
    servesEsoV1,
    sourceVersionsDigest,
    STORE_NAME,
    WORKLOAD_IDENTITY_CLIENT_ID,
    WORKLOAD_IDENTITY_USE,
} from "../../../components/secretSync/spec";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { SecretSync } from "../../../components/secretSync/secretSync";
import type { RecordedResource, RunResult } from "../../../offline/mockEngine";
import { runProgram } from "../../../offline/mockEngine";
import { loadStackConfig } from "../../../offline/stackConfig";
import { parseStack } from "../../support/config";
import { validateAgainstCrd } from "../../support/crdSchemas";
import { UPSTREAM_RELEASES } from "../../../testbed/crdSchemas";
import { EXTERNAL_SECRET, vaultContents } from "../../support/esoOperator";
import { STACKS, byName, byType, runStack } from "../../support/program";
import { WHOLE_VAULT, namespacesOf, secretReach } from "../../../policy/lib/secretReach";

const STORE = "kubernetes:external-secrets.io/v1:ClusterSecretStore";
const APP_STORE = "kubernetes:external-secrets.io/v1:SecretStore";
const KV_SECRET = "azure-native:keyvault:Secret";
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

/** The ESO release whose CRDs the tests validate against (pinned in testbed/crdSchemas.ts). */
function schemasEsoVersion(): string {
    return UPSTREAM_RELEASES["external-secrets"].tag.replace(/^v/, "");
}

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
                schemasEsoVersion(),
                "the chart installs the CRDs the objects are validated against",
            );
            assert.equal(release.inputs.namespace, eso.namespace);
            assert.equal(release.inputs.values.installCRDs, true);
            assert.deepEqual(
                release.inputs.values.crds,
                { annotations: { "helm.sh/resource-policy": "keep" } },
                "CRDs (and so every synced Secret) survive an uninstall",
            );
            assert.deepEqual(
                release.inputs.values.rbac,
                { aggregateToEdit: false, aggregateToAdmin: false },
                "the built-in edit and admin roles get no ExternalSecret or store rights",
            );
            const identity = byName(result, UAMI, "eso-identity-uami");
            assert.deepEqual(release.inputs.values.serviceAccount, {
                create: true,
                name: eso.serviceAccountName,
                annotations: { [WORKLOAD_IDENTITY_CLIENT_ID]: identity.outputs.clientId },
            });
            assert.deepEqual(release.inputs.values.podLabels, { [WORKLOAD_IDENTITY_USE]: "true" });
            // The identity trusts exactly the service account the chart creates and the store names.
            assert.equal(
                byName(result, FIC, "eso-identity-fic").inputs.subject,
                serviceAccountSubject(eso.namespace, eso.serviceAccountName),
            );
        });

        it("has one ClusterSecretStore for the platform namespace only, through workload identity", () => {
            const store = only(result, STORE);
            const vault = only(result, "azure-native:keyvault:Vault");
            const eso = config.cluster.externalSecrets;
            assert.equal(store.inputs.metadata.name, STORE_NAME);
            assert.deepEqual(store.inputs.spec.provider, {
                azurekv: {
                    authType: "WorkloadIdentity",
                    vaultUrl: vault.outputs.properties.vaultUri,
                    tenantId: byName(result, UAMI, "eso-identity-uami").outputs.tenantId,
                    serviceAccountRef: { name: eso.serviceAccountName, namespace: eso.namespace },
                },
            });
            assert.deepEqual(store.inputs.spec.conditions, [{ namespaces: [config.cluster.platformNamespace] }]);
        });

        it("gives each application namespace its own SecretStore, reading as that namespace's account and identity", () => {
            const stores = byType(result, APP_STORE);
            assert.deepEqual(
                stores.map((s) => s.inputs.metadata.namespace).sort(),
                config.apps.map((a) => a.namespace).sort(),
            );
            const vault = only(result, "azure-native:keyvault:Vault");
            for (const app of config.apps) {
                const store = byName(result, APP_STORE, `app-${app.name}-secrets-store`);
                const identity = byName(result, UAMI, `eso-identity-${app.name}-uami`);
                assert.deepEqual(store.inputs.metadata.namespace, app.namespace);
                assert.deepEqual(store.inputs.spec.provider, {
                    azurekv: {
                        authType: "WorkloadIdentity",
                        vaultUrl: vault.outputs.properties.vaultUri,
                        tenantId: identity.outputs.tenantId,
                        serviceAccountRef: { name: APP_STORE_SERVICE_ACCOUNT },
                    },
                });
                const account = byName(result, "kubernetes:core/v1:ServiceAccount", `app-${app.name}-secrets-sa`);
                assert.deepEqual(account.inputs.metadata.namespace, app.namespace);
                assert.deepEqual(account.inputs.metadata.annotations, {
                    [WORKLOAD_IDENTITY_CLIENT_ID]: identity.outputs.clientId,
                });
                assert.equal(account.inputs.automountServiceAccountToken, false);
                assert.ok(
                    !app.serviceAccounts.includes(APP_STORE_SERVICE_ACCOUNT),
                    "not one of the app's own accounts",
                );
                const fic = byName(result, FIC, `eso-identity-${app.name}-fic`);
                assert.equal(fic.inputs.subject, serviceAccountSubject(app.namespace, APP_STORE_SERVICE_ACCOUNT));
                assert.ok(store.dependencies.includes(fic.urn), `${app.name}: the store waits for its federation`);
                assert.ok(store.dependencies.includes(esoRelease(result).urn), `${app.name}: and for the chart`);
                assert.ok(store.dependencies.includes(account.urn), `${app.name}: and for its account`);
            }
        });

        it("lets every namespace reach exactly its own vault secrets through the stores usable there", () => {
            const graph = result.resources.map((r) => ({ type: r.type, name: r.name, props: r.outputs }));
            const reach = secretReach(graph);
            const readIn = (ns: string) =>
                new Set(
                    externalSecretsIn(result, ns).flatMap((es) =>
                        (es.inputs.spec.data as { remoteRef: { key: string } }[]).map((d) => d.remoteRef.key),
                    ),
                );
            const bundles = new Set(config.apps.map((a) => bundleSecretName(a.name)));
            const own = new Map<string, Set<string>>(namespacesOf(graph).map((ns) => [ns, new Set<string>()]));
            for (const app of config.apps) {
                own.set(app.namespace, new Set([bundleSecretName(app.name)]));
            }
            const platform = readIn(config.cluster.platformNamespace);
            assert.ok(platform.size > 0 && [...platform].every((s) => !bundles.has(s)), "the platform reads no bundle");
            own.set(config.cluster.platformNamespace, platform);
            assert.deepEqual(
                new Map([...reach].map(([ns, secrets]) => [ns, [...secrets].sort()])),
                new Map([...own].map(([ns, secrets]) => [ns, [...secrets].sort()])),
            );
            assert.ok(
                [...reach.values()].every((s) => !s.has(WHOLE_VAULT)),
                "no namespace reaches the whole vault",
            );
            console.log(
                `      ${stack}: ${[...reach].map(([ns, s]) => `${ns} reaches ${s.size}`).join(", ")} vault secrets`,
            );
        });

        it("creates custom resources only after the operator, and each store only after its identity's federation", () => {
            const release = esoRelease(result);
            const store = only(result, STORE);
            assert.ok(store.dependencies.includes(release.urn), "store waits for the chart (CRDs, webhook)");
            assert.ok(
                store.dependencies.includes(byName(result, FIC, "eso-identity-fic").urn),
                "store waits for the federated credential",
            );
            const stores = [store, ...byType(result, APP_STORE)];
            for (const es of byType(result, EXTERNAL_SECRET)) {
                const named = stores.filter(
                    (s) =>
                        s.type.endsWith(`:${es.inputs.spec.secretStoreRef.kind}`) &&
                        (s.type === STORE || s.inputs.metadata.namespace === es.inputs.metadata.namespace),
                );
                assert.equal(named.length, 1, `${es.name} names one store`);
                assert.ok(es.dependencies.includes(named[0].urn), `${es.name} waits for its store`);
            }
        });

        it("makes every ExternalSecret wait for the vault secrets it reads and their grants, and carry their versions", () => {
            const secrets = byType(result, KV_SECRET);
            const grants = byType(result, "azure-native:authorization:RoleAssignment");
            for (const es of byType(result, EXTERNAL_SECRET)) {
                const read = [
                    ...new Set((es.inputs.spec.data as { remoteRef: { key: string } }[]).map((d) => d.remoteRef.key)),
                ];
                const sources = read.map(
                    (key) =>
                        secrets.find((s) => s.inputs.secretName === key) ??
                        assert.fail(`${es.name}: ${key} is not written`),
                );
                for (const source of sources) {
                    assert.ok(es.dependencies.includes(source.urn), `${es.name} waits for ${source.name}`);
                    const grant = grants.find(
                        (g) =>
                            String(g.inputs.scope).endsWith(`/secrets/${source.inputs.secretName}`) &&
                            es.dependencies.includes(g.urn),
                    );
                    assert.ok(grant, `${es.name} waits for the grant on ${source.inputs.secretName}`);
                }
                assert.equal(
                    es.inputs.metadata.annotations?.[SOURCE_VERSIONS_ANNOTATION],
                    sourceVersionsDigest(sources.map((s) => s.outputs.properties.secretUriWithVersion)),
                    `${es.name}: a new version re-syncs at once`,
                );
            }
        });

        it("keeps platform Secrets when their ExternalSecret goes (Orphan), app Secrets go with theirs (Owner)", () => {
            const appNamespaces = config.apps.map((a) => a.namespace);
            for (const es of byType(result, EXTERNAL_SECRET)) {
                const inApp = appNamespaces.includes(es.inputs.metadata.namespace);
                assert.deepEqual(
                    es.inputs.spec.secretStoreRef,
                    { kind: inApp ? "SecretStore" : "ClusterSecretStore", name: STORE_NAME },
                    es.name,
                );
                assert.equal(es.inputs.spec.refreshInterval, config.cluster.externalSecrets.refreshInterval, es.name);
                assert.equal(es.inputs.spec.target.creationPolicy, inApp ? "Owner" : "Orphan", es.name);
                assert.equal(es.inputs.spec.target.deletionPolicy, "Retain", es.name);
                assert.equal(es.inputs.spec.target.name, es.inputs.metadata.name, es.name);
            }
            assert.ok(
                byType(result, EXTERNAL_SECRET).some(
                    (es) => es.inputs.metadata.namespace === config.cluster.platformNamespace,
                ),
            );
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
            annotations: { [WORKLOAD_IDENTITY_CLIENT_ID]: byName(result, UAMI, "eso-identity-uami").outputs.clientId },
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
        storePerStack: false,
    };

    it("renders remoteRefs by vault name (with and without a JSON property), grants them, and adds the given dependencies", async () => {
        const granted: string[] = [];
        const result = await runProgram({
            stack: "unit",
            config: {},
            secretKeys: [],
            program: () => {
                const grant = new k8s.core.v1.Namespace("grant", { metadata: { name: "grant" } });
                const sync = new SecretSync("sync", {
                    externalSecrets: externalSecretsConfig,
                    vault: {
                        vaultUri: pulumi.output("https://dp-unit.vault.azure.net/"),
                        storedSecret: (name) => ({ vaultName: `unit-${name}` }),
                    },
                    identity: {
                        clientId: "client",
                        reader: {
                            grantRead: (secret) => {
                                granted.push(secret.vaultName);
                                return grant;
                            },
                        },
                    },
                    tenantId: "tenant",
                    platformNamespace: "data-platform",
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
                            { secretKey: "DB_PORT", remoteKey: "app-x-env", property: "DB_PORT" },
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
            target: { name: "pg-credentials", creationPolicy: "Orphan", deletionPolicy: "Retain" },
            data: [
                { secretKey: "superuser-password", remoteRef: { key: "unit-pg-admin" } },
                { secretKey: "DB_HOST", remoteRef: { key: "unit-app-x-env", property: "DB_HOST" } },
                { secretKey: "DB_PORT", remoteRef: { key: "unit-app-x-env", property: "DB_PORT" } },
            ],
        });
        assert.deepEqual(granted, ["unit-pg-admin", "unit-app-x-env"], "one grant per secret read");
        assert.equal(es.inputs.metadata.annotations, undefined, "no versions of secrets the program does not write");
        assert.deepEqual(validateAgainstCrd(es.inputs), []);
        for (const name of ["first", "second", "grant", "sync-store"]) {
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
