/** Cluster access: the kubeconfig shape per login mode (local-account token, admin, kubelogin exec on Entra-ID). */
import * as assert from "assert";
import * as YAML from "yaml";
import { CLUSTER_ACCESS_COMPONENT_TYPE, ClusterAccess } from "../../../components/cluster";
import { AksLogin, withKubeloginLogin } from "../../../components/kubeconfig";
import { mockEntraKubeconfig } from "../../../offline/answers";
import { RunResult, runProgram } from "../../../offline/mockEngine";
import { configError, sectionOverride } from "../../support/config";
import { runStack } from "../../support/program";

const AKS = { name: "aks-apps", resourceGroupName: "rg-aks" };

async function run(login: AksLogin | undefined): Promise<RunResult> {
    return runProgram({
        stack: "dev",
        config: {},
        secretKeys: [],
        program: () => new ClusterAccess("cluster", { aks: AKS, login }),
    });
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
            const result = await run(mode);
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
        const aks = (sectionOverride("dev", "cluster", {})["data-platform:cluster"] as any).aks;
        const withLogin = (login: string) => sectionOverride("dev", "cluster", { aks: { ...aks, login } });
        const result = await runStack("dev", withLogin("workloadidentity"));
        const component = result.resources.find((r) => r.type === CLUSTER_ACCESS_COMPONENT_TYPE);
        assert.deepStrictEqual(component?.inputs, { aks, login: "workloadidentity" });
        assert.strictEqual(kubeconfigOf(result).users[0].user.exec.args[2], "workloadidentity");
        const err = configError("dev", withLogin("devicecode"));
        assert.match(err.message, /data-platform:cluster\.aks\.login: given "devicecode"/);
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
