/**
 * Wires the data platform for one stack: providers, cluster access, and each application's data layer.
 * `index.ts` calls `buildPlatform(loadConfig())`; everything here is driven by the validated config.
 */
import * as pulumi from "@pulumi/pulumi";
import { Provider as AzureProvider } from "@pulumi/azure-native/provider";
import { AppNamespace } from "./appNamespace";
import { ClusterAccess } from "./cluster";
import { SecretSync } from "./secretSync";
import type { LoadedConfig } from "./config";

export interface PlatformOutputs {
    readonly oidcIssuerUrl: pulumi.Output<string>;
    readonly appNamespaces: Record<string, pulumi.Output<string>>;
    readonly secretStore: pulumi.Output<string>;
}

export function buildPlatform({ config, kubeconfig }: LoadedConfig): PlatformOutputs {
    const azureProvider = new AzureProvider("azure", { location: config.azure.location });
    const cluster = new ClusterAccess("cluster", {
        aks: config.cluster.aks,
        kubeconfig,
        oidcIssuerUrl: config.cluster.oidcIssuerUrl,
    }, { providers: [azureProvider] });
    const providers = [azureProvider, cluster.provider];

    // Provisional vault URI and identity until the Key Vault and identity components are wired (helper A).
    const secretSync = new SecretSync("secret-sync", {
        externalSecrets: config.cluster.externalSecrets,
        vaultUri: `https://${config.keyVault.name}.vault.azure.net/`,
        identityClientId: "00000000-0000-0000-0000-000000000000",
        tenantId: "00000000-0000-0000-0000-000000000000",
        namespaces: [config.cluster.platformNamespace, ...config.apps.map((a) => a.namespace)],
    }, { providers });

    const appNamespaces: Record<string, pulumi.Output<string>> = {};
    for (const app of config.apps) {
        const ns = new AppNamespace(`app-${app.name}`, { app, protect: config.protect }, { providers });
        appNamespaces[app.name] = ns.namespace;
    }

    return { oidcIssuerUrl: cluster.oidcIssuerUrl, appNamespaces, secretStore: secretSync.storeName };
}
