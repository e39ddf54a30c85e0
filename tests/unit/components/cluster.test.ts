/** Cluster access: the kubeconfig shape per login mode (local-account token, admin, kubelogin exec on Entra-ID). */
import * as assert from "assert";
import * as YAML from "yaml";
import { CLUSTER_ACCESS_COMPONENT_TYPE, ClusterAccess } from "../../../components/cluster";
import { AksLogin, withKubeloginLogin } from "../../../components/kubeconfig";
import { MOCK_ENTRA_CLUSTERS, invokeAnswer, mockEntraKubeconfig, mockKubeconfig } from "../../../offline/answers";
import { mergeConfig } from "../../../offline/stackConfig";
import { RunResult, runProgram } from "../../../offline/mockEngine";
import { configError, sectionOverride, stackConfig } from "../../support/config";
import { runStack } from "../../support/program";

/** A local-account cluster (no Entra ID): the mock answers every name it does not list as an Entra-ID one so. */
const AKS = { name: "aks-apps", resourceGroupName: "rg-aks" };
/** Entra-ID clusters of the mock subscription: local accounts disabled (Azure RBAC), and kept (Kubernetes RBAC). */
const ENTRA = { name: "aks-entra", resourceGroupName: "rg-aks" };
const ENTRA_WITH_LOCAL = { name: "aks-entra-local", resourceGroupName: "rg-aks" };
const ENTRA_INPUTS = { resourceGroupName: ENTRA.resourceGroupName, resourceName: ENTRA.name };

async function run(login: AksLogin | undefined, aks = AKS): Promise<RunResult> {
    return runProgram({
        stack: "dev",
        config: {},
        secretKeys: [],
        program: () => new ClusterAccess("cluster", { aks, login }),
    });
}

/** The run's failure message (the test fails if the run succeeds). */
async function refusal(login: AksLogin | undefined, aks: typeof AKS): Promise<string> {
    const outcome = await run(login, aks).then(
        () => undefined,
        (err: unknown) => String(err instanceof Error ? err.message : err),
    );
    return outcome ?? assert.fail(`login ${login} on ${aks.name} was accepted`);
}

function kubeconfigOf(result: RunResult): any {
    const provider =
        result.resources.find((r) => r.type === "pulumi:providers:kubernetes") ?? assert.fail("no provider");
    assert.ok(provider.secretPaths.includes("kubeconfig"), "the kubeconfig stays secret");
    return YAML.parse(provider.inputs.kubeconfig);
}

describe("cluster access", () => {
    it("unset: the user kubeconfig as AKS returns it (a local-account token), login not recorded", async () => {
        const result = await run(undefined);
        assert.ok(kubeconfigOf(result).users[0].user.token);
        const component = result.resources.find((r) => r.type === CLUSTER_ACCESS_COMPONENT_TYPE);
        assert.deepStrictEqual(Object.keys(component?.inputs ?? {}), ["aks"]);
    });

    it("admin: the cluster-admin kubeconfig (client certificate), no kubelogin", async () => {
        const result = await run("admin");
        const user = kubeconfigOf(result).users[0].user;
        assert.ok(user["client-certificate-data"] && !user.exec);
        assert.ok(result.invokes.some((i) => i.token.endsWith(":listManagedClusterAdminCredentials")));
    });

    for (const mode of ["azurecli", "workloadidentity", "msi"] as const) {
        it(`${mode}: asks for the exec format and makes the kubelogin login non-interactive; the plan records the mode`, async () => {
            const result = await run(mode, ENTRA);
            const invoke = result.invokes.find((i) => i.token.endsWith(":listManagedClusterUserCredentials"));
            assert.strictEqual(invoke?.inputs.format, "exec");
            const exec = kubeconfigOf(result).users[0].user.exec;
            assert.deepStrictEqual(
                [exec.command, exec.interactiveMode, exec.args.slice(0, 3)],
                ["kubelogin", "Never", ["get-token", "--login", mode]],
            );
            assert.ok(exec.args.includes("6dae42f8-4368-4678-94ff-3960e28e3630"), "keeps the AKS server id");
            assert.ok(!exec.args.includes("devicecode") && !exec.args.includes("--client-id"));
            const component = result.resources.find((r) => r.type === CLUSTER_ACCESS_COMPONENT_TYPE);
            assert.strictEqual(component?.inputs.login, mode);
        });
    }

    it("takes the mode from the stack's cluster.aks.login, and refuses an unknown one naming the key", async () => {
        const aks = { ...(sectionOverride("dev", "cluster", {})["data-platform:cluster"] as any).aks, ...ENTRA };
        const withLogin = (login: string) => sectionOverride("dev", "cluster", { aks: { ...aks, login } });
        const result = await runStack("dev", withLogin("workloadidentity"));
        const component = result.resources.find((r) => r.type === CLUSTER_ACCESS_COMPONENT_TYPE);
        assert.deepStrictEqual(component?.inputs, { aks, login: "workloadidentity" });
        assert.strictEqual(kubeconfigOf(result).users[0].user.exec.args[2], "workloadidentity");
        const err = configError("dev", withLogin("devicecode"));
        assert.match(err.message, /data-platform:cluster\.aks\.login: given "devicecode"/);
    });

    // What the cluster lookup says decides which sign-in CI can use (getManagedCluster: aadProfile,
    // disableLocalAccounts); a config that cannot work is refused before any credential is listed.
    it("Entra-ID cluster, login unset: refused (AKS hands out a device-code kubeconfig), the fix in the message", async () => {
        const message = await refusal(undefined, ENTRA);
        assert.match(message, /AKS cluster aks-entra signs in with Entra ID/);
        assert.match(message, /kubelogin get-token --login devicecode.*waits for someone to open a browser/);
        assert.match(message, /set data-platform:cluster\.aks\.login to azurecli .*, workloadidentity .* or msi/);
        assert.doesNotMatch(message, /or admin/, "no admin: this cluster disables local accounts");
        assert.match(await refusal(undefined, ENTRA_WITH_LOCAL), /or msi .*; or admin \(its local cluster-admin/);
    });

    it("local accounts disabled, login admin: refused, and the admin credential is never asked for", async () => {
        const invokes: string[] = [];
        const outcome = await runProgram({
            stack: "dev",
            config: {},
            secretKeys: [],
            program: () => new ClusterAccess("cluster", { aks: ENTRA, login: "admin" }),
            onInvoke: (invoke) => invokes.push(invoke.token),
        }).then(
            () => "accepted",
            (err: Error) => err.message,
        );
        assert.match(outcome, /AKS cluster aks-entra disables local accounts \(disableLocalAccounts\)/);
        assert.match(outcome, /set data-platform:cluster\.aks\.login to azurecli/);
        assert.ok(invokes.some((t) => t.endsWith(":getManagedCluster")));
        assert.ok(!invokes.some((t) => t.endsWith(":listManagedClusterAdminCredentials")), invokes.join(", "));
    });

    it("the mock answers the lookup as each cluster is, and refuses the admin credential where AKS does", async () => {
        assert.deepStrictEqual(MOCK_ENTRA_CLUSTERS["aks-entra"], { localAccounts: false, azureRbac: true });
        const entra = await run("azurecli", ENTRA);
        const lookup = entra.invokes.find((i) => i.token.endsWith(":getManagedCluster"));
        assert.deepStrictEqual(lookup?.inputs, ENTRA_INPUTS);
        // A local-account cluster answers a token whatever format is asked for; Entra-ID ones the exec config.
        assert.ok(kubeconfigOf(await run("azurecli", AKS)).users[0].user.token);
        assert.strictEqual(kubeconfigOf(await run("admin", ENTRA_WITH_LOCAL)).users[0].user.exec, undefined);
        const admin = "azure-native:containerservice:listManagedClusterAdminCredentials";
        assert.throws(() => invokeAnswer(admin, ENTRA_INPUTS), /Getting static credential is not allowed/);
    });

    it("Entra-ID cluster with local accounts kept: admin and every kubelogin mode are accepted", async () => {
        for (const login of ["admin", "azurecli", "workloadidentity", "msi"] as const) {
            await run(login, ENTRA_WITH_LOCAL);
        }
    });

    // A preview identity on a local-account cluster must not list AKS's credentials (admin-equivalent there): its
    // read-only kubeconfig comes in data-platform:kubeconfig, and the lookup still gives the OIDC issuer.
    it("with cluster.aks, a kubeconfig in data-platform:kubeconfig replaces AKS's credential, if it is that cluster's", async () => {
        const readOnly = mockKubeconfig("aks-apps-dev").replace(/token: \S+/, "token: preview-reader-token");
        const invokes: string[] = [];
        const { config, secretKeys } = mergeConfig(stackConfig("dev"), {
            "data-platform:kubeconfig": { secure: "v1:stand-in" },
        });
        const result = await runProgram({
            stack: "dev",
            config: { ...config, "data-platform:kubeconfig": readOnly },
            secretKeys,
            onInvoke: (i) => invokes.push(i.token),
        });
        assert.equal(kubeconfigOf(result).users[0].user.token, "preview-reader-token");
        assert.ok(!invokes.some((t) => /listManagedCluster(User|Admin)Credentials/.test(t)), invokes.join(", "));
        assert.ok(
            invokes.some((t) => t.endsWith(":getManagedCluster")),
            "the OIDC issuer still comes from the lookup",
        );
        const elsewhere = await runProgram({
            stack: "dev",
            config: { ...config, "data-platform:kubeconfig": mockKubeconfig("some-other-cluster") },
            secretKeys,
        }).then(
            () => "accepted",
            (err: Error) => err.message,
        );
        assert.match(
            elsewhere,
            /data-platform:kubeconfig points at https:\/\/some-other-cluster-dns\.hcp\.westeurope\.azmk8s\.io:443, not at AKS cluster aks-apps-dev \(https:\/\/aks-apps-dev-dns\.hcp\.westeurope\.azmk8s\.io:443\)/,
        );
    });

    it("leaves users without a kubelogin exec section alone", () => {
        const token = "users:\n- name: u\n  user:\n    token: abc\n";
        assert.deepStrictEqual(YAML.parse(withKubeloginLogin(token, "azurecli")), YAML.parse(token));
        const converted = YAML.parse(withKubeloginLogin(mockEntraKubeconfig("c"), "azurecli"));
        assert.strictEqual(converted.clusters[0].name, "c", "clusters and contexts are kept");
    });
});

describe("the Azure provider's subscription", () => {
    const provider = (run: RunResult) => run.resources.find((r) => r.type === "pulumi:providers:azure-native")!;

    it("is the stack's azure-native:subscriptionId when the stack file sets it (not whatever the shell is logged in to)", async () => {
        const subscription = "00000000-1111-2222-3333-444444444444";
        const run = await runStack("dev", { "azure-native:subscriptionId": subscription });
        assert.equal(provider(run).inputs.subscriptionId, subscription);
    });

    it("is left to the provider's environment (ARM_SUBSCRIPTION_ID, the Azure CLI) when the stack sets none", async () => {
        const run = await runStack("dev");
        assert.equal(provider(run).inputs.subscriptionId, undefined);
    });
});
