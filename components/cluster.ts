/** Access to the Kubernetes cluster: the one explicit provider and the cluster's OIDC issuer. */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as containerservice from "@pulumi/azure-native/containerservice";
import type { AksLookup } from "./config/platform";
import { AksLogin, kubeconfigServer, withKubeloginLogin } from "./kubeconfig";

/** The type token of `ClusterAccess` (tests find it by this). */
export const CLUSTER_ACCESS_COMPONENT_TYPE = "data-platform:cluster:ClusterAccess";

/** ClusterAccessArgs describe how to reach the cluster: `aks`, `kubeconfig` with `oidcIssuerUrl`, or both. */
export interface ClusterAccessArgs {
    /** An existing AKS cluster to look up; yields the OIDC issuer and, without `kubeconfig`, the kubeconfig. */
    readonly aks?: AksLookup;
    /**
     * A kubeconfig (secret). With `aks` it replaces the credential AKS hands out (e.g. a preview's read-only account
     * on a local-account cluster, where every AKS credential is admin-equivalent) and must point at that cluster.
     */
    readonly kubeconfig?: pulumi.Input<string>;
    /** The OIDC issuer URL; required with `kubeconfig`, ignored with `aks`. */
    readonly oidcIssuerUrl?: string;
    /**
     * With `aks` and no `kubeconfig`: how to sign in. Unset: the user kubeconfig as AKS returns it (local-account clusters). `admin`:
     * the cluster-admin kubeconfig. A kubelogin mode: the exec kubeconfig of an Entra-ID cluster, switched to
     * that non-interactive login (kubelogin on PATH).
     */
    readonly login?: AksLogin;
}

export class ClusterAccess extends pulumi.ComponentResource {
    /** The provider every Kubernetes resource of the program uses. */
    public readonly provider: k8s.Provider;
    /** The cluster's service-account token issuer, for workload identity federation. */
    public readonly oidcIssuerUrl: pulumi.Output<string>;

    constructor(name: string, args: ClusterAccessArgs, opts?: pulumi.ComponentResourceOptions) {
        // The login mode is recorded (when set) so the plan shows which credential shape a stack uses.
        super(
            CLUSTER_ACCESS_COMPONENT_TYPE,
            name,
            { aks: args.aks, ...(args.login ? { login: args.login } : {}) },
            opts,
        );

        let kubeconfig: pulumi.Output<string>;
        if (args.aks) {
            const lookup = { resourceGroupName: args.aks.resourceGroupName, resourceName: args.aks.name };
            // No credential is listed for a sign-in the cluster cannot give (or CI cannot use).
            const given = args.kubeconfig;
            const cluster = containerservice.getManagedClusterOutput(lookup, { parent: this }).apply((c) => {
                if (given !== undefined) {
                    return c;
                }
                const problem = signInProblem(
                    {
                        name: lookup.resourceName,
                        entraId: c.aadProfile !== undefined,
                        localAccounts: c.disableLocalAccounts !== true,
                    },
                    args.login,
                );
                if (problem) {
                    throw new pulumi.RunError(problem);
                }
                return c;
            });
            this.oidcIssuerUrl = cluster.apply((c) => {
                const issuer = c.oidcIssuerProfile?.issuerURL;
                if (!c.oidcIssuerProfile?.enabled || !issuer) {
                    throw new pulumi.RunError(
                        `AKS cluster ${args.aks?.name} has no OIDC issuer: enable it (az aks update --enable-oidc-issuer --enable-workload-identity)`,
                    );
                }
                return issuer;
            });
            kubeconfig = pulumi.secret(
                given === undefined
                    ? cluster.apply(() => clusterKubeconfig(lookup, args.login, this))
                    : pulumi.all([cluster, given]).apply(([c, text]) => {
                          const problem = otherClusterProblem(c, text);
                          if (problem) {
                              throw new pulumi.RunError(problem);
                          }
                          return text;
                      }),
            );
        } else {
            if (!args.kubeconfig || !args.oidcIssuerUrl) {
                throw new pulumi.RunError("ClusterAccess needs either aks, or kubeconfig with oidcIssuerUrl");
            }
            kubeconfig = pulumi.secret(args.kubeconfig);
            this.oidcIssuerUrl = pulumi.output(args.oidcIssuerUrl);
        }

        this.provider = new k8s.Provider(
            `${name}-k8s`,
            {
                kubeconfig,
                // Server-side apply lets the operators (ESO, StackGres) own the fields they manage.
                enableServerSideApply: true,
            },
            { parent: this },
        );

        this.registerOutputs({ oidcIssuerUrl: this.oidcIssuerUrl });
    }
}

/** What the cluster lookup says about how one can sign in to it (getManagedCluster `aadProfile`, `disableLocalAccounts`). */
export interface ClusterSignIn {
    readonly name: string;
    /** Entra ID (managed AAD) authenticates users: AKS hands out a kubelogin exec kubeconfig. */
    readonly entraId: boolean;
    /** The local cluster-admin certificate can be listed (`disableLocalAccounts` is not true). */
    readonly localAccounts: boolean;
}

/**
 * Why `login` cannot work on the cluster, with the fix; undefined when it can. The user kubeconfig of an Entra-ID
 * cluster runs `kubelogin get-token --login devicecode` (AKS Entra integration docs), which waits for someone to open
 * a browser; a cluster without local accounts refuses the admin credential (ManagedCluster.DisableLocalAccounts:
 * "getting static credentials will be disabled for this cluster").
 */
export function signInProblem(cluster: ClusterSignIn, login: AksLogin | undefined): string | undefined {
    const key = "data-platform:cluster.aks.login";
    const modes =
        `set ${key} to azurecli (CI after azure/login, a laptop after az login), workloadidentity (a federated ` +
        "token: AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE) or msi (a managed identity), with " +
        "kubelogin on PATH";
    if (login === "admin" && !cluster.localAccounts) {
        return (
            `AKS cluster ${cluster.name} disables local accounts (disableLocalAccounts), so its admin credential ` +
            `cannot be listed and ${key} admin cannot sign in: ${modes}`
        );
    }
    if (login === undefined && cluster.entraId) {
        return (
            `AKS cluster ${cluster.name} signs in with Entra ID: its user kubeconfig runs kubelogin get-token --login ` +
            `devicecode, which waits for someone to open a browser (CI cannot, and a deploy would hang): ${modes}` +
            (cluster.localAccounts ? "; or admin (its local cluster-admin certificate)" : "")
        );
    }
    return undefined;
}

/**
 * Why a kubeconfig given with `aks` must not be used: its current cluster is not the AKS cluster (another cluster
 * would replace the provider, and with it every Kubernetes object). Undefined when it is that cluster.
 */
function otherClusterProblem(
    cluster: { name: string; fqdn: string; privateFQDN?: string },
    kubeconfig: string,
): string | undefined {
    const server = kubeconfigServer(kubeconfig);
    const allowed = [cluster.fqdn, cluster.privateFQDN].filter(Boolean).map((host) => `https://${host}:443`);
    if (server !== undefined && allowed.includes(server)) {
        return undefined;
    }
    return (
        `data-platform:kubeconfig points at ${server ?? "no server"}, not at AKS cluster ${cluster.name} ` +
        `(${allowed.join(" or ")}): give the kubeconfig of that cluster, or unset data-platform:kubeconfig`
    );
}

/** The kubeconfig of an AKS cluster for the login mode (see ClusterAccessArgs.login). */
function clusterKubeconfig(
    lookup: { resourceGroupName: string; resourceName: string },
    login: AksLogin | undefined,
    parent: pulumi.Resource,
): pulumi.Output<string> {
    const decode = (kc: { value: string }[]) => Buffer.from(kc[0].value, "base64").toString("utf8");
    if (login === "admin") {
        // Needs the "Azure Kubernetes Service Cluster Admin Role"; fails on clusters with local accounts disabled.
        return containerservice.listManagedClusterAdminCredentialsOutput(lookup, { parent }).kubeconfigs.apply(decode);
    }
    if (login === undefined) {
        return containerservice.listManagedClusterUserCredentialsOutput(lookup, { parent }).kubeconfigs.apply(decode);
    }
    // format "exec": AKS answers Entra-ID clusters with a kubelogin exec kubeconfig (ignored by local-account ones).
    const user = containerservice.listManagedClusterUserCredentialsOutput({ ...lookup, format: "exec" }, { parent });
    return user.kubeconfigs.apply((kc) => withKubeloginLogin(decode(kc), login));
}
