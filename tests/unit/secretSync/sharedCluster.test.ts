/**
 * Two stacks on one cluster. A ClusterSecretStore's name is cluster-wide, and the platform store read as the
 * operator's service account, whose one `azure.workload.identity/client-id` annotation names one identity: a second
 * stack either failed on the name (pulumi-kubernetes 4.29+: AlreadyExists) or, upserted, took over the first stack's
 * store and the operator's identity. `cluster.externalSecrets.storePerStack` gives a stack its own store and account;
 * existing stacks keep `azure-key-vault` and the operator's account. Which stacks share a cluster only the
 * repository knows: `clusterSharingProblems` checks the stack files (run by `npm run stacks`, so CI's matrix fails).
 */
import { strict as assert } from "assert";
import {
    APP_STORE_SERVICE_ACCOUNT,
    STORE_NAME,
    WORKLOAD_IDENTITY_CLIENT_ID,
    platformStoreName,
} from "../../../components/secretSync/spec";
import { serviceAccountSubject } from "../../../components/vault";
import { clusterSharingProblems, repositorySharingProblems } from "../../../offline/sharedClusters";
import type { RunResult } from "../../../offline/mockEngine";
import { parseStack, sectionOverride } from "../../support/config";
import { packConfig, runPolicies } from "../../support/policyHarness";
import { byName, byType, runStack } from "../../support/program";
import { allPolicies } from "../../../policy/policies";

const STORE = "kubernetes:external-secrets.io/v1:ClusterSecretStore";
const FIC = "azure-native:managedidentity:FederatedIdentityCredential";
const UAMI = "azure-native:managedidentity:UserAssignedIdentity";
const SA = "kubernetes:core/v1:ServiceAccount";
const SA_PATCH = "kubernetes:core/v1:ServiceAccountPatch";

/** dev's cluster block with `changes`, and `externalSecrets` changes merged into its own. */
function cluster(changes: Record<string, unknown>, eso: Record<string, unknown> = {}) {
    const own = sectionOverride("dev", "cluster", {})["data-platform:cluster"] as Record<string, any>;
    return sectionOverride("dev", "cluster", {
        ...changes,
        externalSecrets: { ...(own.externalSecrets ?? {}), ...eso },
    });
}

/** A second stack on dev's cluster: its own platform and application namespaces, its own store. */
const SECOND = {
    ...cluster({ platformNamespace: "data-platform-b" }, { storePerStack: true, install: false }),
    "data-platform:apps": [{ name: "reports", namespace: "reports", redisDb: 1 }],
};

describe("a stack sharing its cluster (cluster.externalSecrets.storePerStack)", () => {
    let second: RunResult;
    before(async () => {
        second = await runStack("dev", SECOND);
    });

    it("unset: the store keeps its name azure-key-vault and reads as the operator's account (existing stacks)", async () => {
        const dev = await runStack("dev");
        const config = parseStack("dev");
        const store = byType(dev, STORE)[0];
        assert.equal(store.inputs.metadata.name, STORE_NAME);
        assert.equal(platformStoreName(config.cluster), "azure-key-vault");
        const eso = config.cluster.externalSecrets;
        assert.deepEqual(store.inputs.spec.provider.azurekv.serviceAccountRef, {
            name: eso.serviceAccountName,
            namespace: eso.namespace,
        });
    });

    it("names the store after the platform namespace and reads as its own account there", () => {
        const store = byType(second, STORE)[0];
        assert.equal(store.inputs.metadata.name, "azure-key-vault-data-platform-b");
        assert.deepEqual(store.inputs.spec.provider.azurekv.serviceAccountRef, {
            name: APP_STORE_SERVICE_ACCOUNT,
            namespace: "data-platform-b",
        });
        assert.deepEqual(store.inputs.spec.conditions, [{ namespaces: ["data-platform-b"] }]);
        const account = byName(second, SA, "secret-sync-store-sa");
        assert.equal(account.inputs.metadata.namespace, "data-platform-b");
        assert.deepEqual(account.inputs.metadata.annotations, {
            [WORKLOAD_IDENTITY_CLIENT_ID]: byName(second, UAMI, "eso-identity-uami").outputs.clientId,
        });
        assert.equal(account.inputs.automountServiceAccountToken, false);
        // The account waits for the platform namespace it lives in.
        const ns = second.resources.find(
            (r) => r.type === "kubernetes:core/v1:Namespace" && r.inputs.metadata.name === "data-platform-b",
        );
        assert.ok(ns && account.dependencies.includes(ns.urn), "depends on the platform namespace");
    });

    it("federates the platform identity with that account, and leaves the operator's account alone", () => {
        assert.equal(
            byName(second, FIC, "eso-identity-fic").inputs.subject,
            serviceAccountSubject("data-platform-b", APP_STORE_SERVICE_ACCOUNT),
        );
        assert.deepEqual(byType(second, SA_PATCH), [], "no patch of the operator's account (another stack's)");
    });

    it("passes the policy pack (no mandatory violation): the store's reach is its own account's identity", async () => {
        const result = await runPolicies(allPolicies, second, { config: packConfig("dev") });
        assert.deepEqual(
            result.violations.filter((v) => v.enforcementLevel === "mandatory").map((v) => `${v.policy}: ${v.message}`),
            [],
        );
    });

    it("stacks on one cluster: refused when they share a name, a namespace or the operator, accepted otherwise", () => {
        const first = { stack: "dev", config: parseStack("dev") };
        const ok = { stack: "dev-b", config: parseStack("dev", SECOND) };
        assert.deepEqual(clusterSharingProblems([first, ok]), []);
        const same = (overrides: Record<string, unknown>) => ({
            stack: "dev-b",
            config: parseStack("dev", { ...SECOND, ...overrides }),
        });
        assert.deepEqual(clusterSharingProblems([first, same(cluster({}, { install: false }))]), [
            "stacks dev and dev-b on AKS cluster rg-aks-dev/aks-apps-dev: both use platform namespace data-platform; give one another data-platform:cluster.platformNamespace",
            "stacks dev and dev-b on AKS cluster rg-aks-dev/aks-apps-dev: both use ClusterSecretStore azure-key-vault (and the operator's service account, which names one identity); set data-platform:cluster.externalSecrets.storePerStack: true in one of them",
        ]);
        const installs = clusterSharingProblems([
            first,
            same(cluster({ platformNamespace: "data-platform-b" }, { storePerStack: true, install: true })),
        ]);
        assert.deepEqual(installs, [
            "stacks dev and dev-b on AKS cluster rg-aks-dev/aks-apps-dev: both install External Secrets Operator into namespace external-secrets; set data-platform:cluster.externalSecrets.install: false in one of them",
        ]);
        // The operator installed by the stack with its own store, while the other's store reads as its account.
        const patcher = { stack: "dev", config: parseStack("dev", cluster({}, { install: false })) };
        const installer = same(
            cluster({ platformNamespace: "data-platform-b" }, { storePerStack: true, install: true }),
        );
        assert.deepEqual(clusterSharingProblems([patcher, installer]), [
            "stacks dev and dev-b on AKS cluster rg-aks-dev/aks-apps-dev: both annotate the operator's service account (dev-b's chart, dev's patch); let dev install the operator and not dev-b (data-platform:cluster.externalSecrets.install)",
        ]);
        const apps = clusterSharingProblems([
            first,
            same({ "data-platform:apps": [{ name: "reports", namespace: "orders", redisDb: 1 }] }),
        ]);
        assert.deepEqual(apps, [
            "stacks dev and dev-b on AKS cluster rg-aks-dev/aks-apps-dev: both use namespace orders; an application namespace belongs to one stack",
        ]);
        assert.deepEqual(
            clusterSharingProblems([
                first,
                same({ "data-platform:apps": [{ name: "reports", namespace: "data-platform", redisDb: 1 }] }),
            ]),
            [
                "stacks dev and dev-b on AKS cluster rg-aks-dev/aks-apps-dev: both use namespace data-platform; an application namespace belongs to one stack",
            ],
            "another stack's platform namespace",
        );
        const elsewhere = { stack: "prod", config: parseStack("prod") };
        assert.deepEqual(clusterSharingProblems([first, elsewhere]), [], "other clusters share nothing");
    });

    it("the repository's own stacks share no cluster in a way that collides", () => {
        assert.deepEqual(repositorySharingProblems(), []);
    });
});
