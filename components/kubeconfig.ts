/**
 * Kubeconfig shaping (pure): the `exec` section kubelogin needs on Entra-ID AKS clusters, with a non-interactive
 * login mode, in place of what AKS returns (`az aks get-credentials` style, `--login devicecode`, which would wait
 * for a browser). The same rewrite `kubelogin convert-kubeconfig -l <mode>` does (Azure/kubelogin
 * docs/book/src/cli/convert-kubeconfig.md); kubelogin must be on PATH where the program runs.
 */
import * as YAML from "yaml";
import type { AksLookup } from "./config/platform";

/**
 * How the program signs in to the cluster (`cluster.aks.login`): `admin` uses local accounts (listClusterAdminCredential,
 * no kubelogin); `azurecli` the Azure CLI's session (CI after azure/login, a laptop after az login); `workloadidentity`
 * a federated token (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE); `msi` a managed identity.
 */
export type AksLogin = NonNullable<AksLookup["login"]>;

/** Arguments of the original `kubelogin get-token` that identify the cluster and tenant; the rest is replaced. */
const KEPT_FLAGS = ["--server-id", "--environment", "--tenant-id"];

function keptArgs(args: readonly string[]): string[] {
    const kept: string[] = [];
    for (let i = 0; i < args.length; i++) {
        if (KEPT_FLAGS.includes(args[i]) && i + 1 < args.length) {
            kept.push(args[i], args[i + 1]);
            i++;
        }
    }
    return kept;
}

/**
 * The kubeconfig with every kubelogin `exec` user switched to `mode`, never interactive. Users without a kubelogin
 * exec section (tokens, client certificates of local accounts) are left as they are.
 */
export function withKubeloginLogin(kubeconfig: string, mode: Exclude<AksLogin, "admin">): string {
    const doc = YAML.parse(kubeconfig) ?? {};
    for (const entry of doc.users ?? []) {
        const exec = entry?.user?.exec;
        if (!exec || String(exec.command).split("/").pop() !== "kubelogin") {
            continue;
        }
        entry.user.exec = {
            apiVersion: exec.apiVersion ?? "client.authentication.k8s.io/v1beta1",
            command: "kubelogin",
            args: ["get-token", "--login", mode, ...keptArgs(exec.args ?? [])],
            env: null,
            interactiveMode: "Never",
            provideClusterInfo: false,
        };
    }
    return YAML.stringify(doc, { lineWidth: 0 });
}

/** The parts of a kubeconfig that say where its current context points. */
interface KubeconfigTarget {
    readonly "current-context"?: string;
    readonly contexts?: readonly { readonly name?: string; readonly context?: { readonly cluster?: string } }[];
    readonly clusters?: readonly { readonly name?: string; readonly cluster?: { readonly server?: string } }[];
}

/** The server of the kubeconfig's current context (its cluster's `server`), or undefined. */
export function kubeconfigServer(kubeconfig: string): string | undefined {
    const doc: KubeconfigTarget = YAML.parse(kubeconfig) ?? {};
    const context = doc.contexts?.find((c) => c?.name === doc["current-context"])?.context;
    return doc.clusters?.find((c) => c?.name === context?.cluster)?.cluster?.server;
}
