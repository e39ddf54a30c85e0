/**
 * Wires the data platform for one stack: providers, cluster access, and each application's data layer.
 * `index.ts` calls `buildPlatform(loadConfig())`; everything here is driven by the validated config.
 */
import * as pulumi from "@pulumi/pulumi";
import { Provider as AzureProvider } from "@pulumi/azure-native/provider";
import { AppNamespace } from "./appNamespace";
import { ClusterAccess } from "./cluster";
import type { LoadedConfig } from "./config";

export interface PlatformOutputs {
    readonly oidcIssuerUrl: pulumi.Output<string>;
    readonly appNamespaces: Record<string, pulumi.Output<string>>;
}

export function buildPlatform({ config, kubeconfig }: LoadedConfig): PlatformOutputs {
    const azureProvider = new AzureProvider("azure", { location: config.azure.location });
    const cluster = new ClusterAccess("cluster", {
        aks: config.cluster.aks,
        kubeconfig,
        oidcIssuerUrl: config.cluster.oidcIssuerUrl,
    }, { providers: [azureProvider] });
    const providers = [azureProvider, cluster.provider];

    const appNamespaces: Record<string, pulumi.Output<string>> = {};
    for (const app of config.apps) {
        const ns = new AppNamespace(`app-${app.name}`, { app, protect: config.protect }, { providers });
        appNamespaces[app.name] = ns.namespace;
    }

    return { oidcIssuerUrl: cluster.oidcIssuerUrl, appNamespaces };
}
