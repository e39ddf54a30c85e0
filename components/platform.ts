/**
 * Wires the data platform for one stack: providers, cluster access, and each application's data layer.
 * `index.ts` exports `buildPlatform(loadConfig())` (a promise of the stack outputs); everything here is driven by the
 * validated config.
 */
import * as pulumi from "@pulumi/pulumi";
import { Provider as AzureProvider } from "@pulumi/azure-native/provider";
import { AppData } from "./appData";
import { AppExport } from "./postgres/export";
import { postgresServerOf, postgresServerSettings } from "./postgres/servers";
import { contractShape } from "./envContract";
import { nextTurn } from "./eventLoop";
import { DataNamespace, appNamespaceArgs } from "./namespace";
import { ClusterAccess } from "./cluster";
import { Imports } from "./imports";
import { SecretSync } from "./secretSync";
import {
    Credentials,
    ExternalSecretsIdentity,
    KeyVault,
    appSecretNames,
    appSecretsIdentityName,
    externalSecretsIdentityName,
    platformCredentialIds,
    platformCredentialRotations,
    platformKeepPrevious,
} from "./vault";
import type { CredentialSource, VaultWriter } from "./interfaces";
import { APP_STORE_SERVICE_ACCOUNT, platformStoreAccount } from "./secretSync/spec";
import {
    SERVICES,
    type ServiceArgs,
    type ServiceInstance,
    instanceOf,
    instanceResourceName,
    instancesOf,
} from "./services";
import type { LoadedConfig, PlatformConfig } from "./config";
import { TENANCY_OUTPUT, type Tenancy } from "./config/tenant";
import type { AppConfig } from "./config/platform";
import { appIdentityResourceGroup } from "./limits";

export interface PlatformOutputs {
    readonly oidcIssuerUrl: pulumi.Output<string>;
    readonly appNamespaces: Record<string, pulumi.Output<string>>;
    readonly secretStore: pulumi.Output<string>;
    readonly keyVault: { readonly name: pulumi.Output<string>; readonly uri: pulumi.Output<string> };
    /** Client id of the managed identity External Secrets reads the platform's secrets as. */
    readonly externalSecretsClientId: pulumi.Output<string>;
    /** Key Vault secret name per credential id (names only, never values). */
    readonly credentialSecretNames: Record<string, string>;
    /** Per application: the Secret with its contract, and its namespace (what its Deployment names). */
    readonly appSecrets: Record<string, { namespace: pulumi.Output<string>; secretName: pulumi.Output<string> }>;
    /** Each service instance's own outputs (`ServiceInstance.outputs`, e.g. `postgresHost`). */
    readonly [serviceOutput: string]: unknown;
}

/** Where the stack's Azure resources go: its resource group, region and tags. */
export function azurePlacement(config: PlatformConfig): AppsContext["azure"] {
    return {
        resourceGroupName: config.azure.resourceGroupName,
        location: config.azure.location,
        tags: config.azure.tags,
    };
}

/** The vault's arguments both stack roles give alike: placement, subscription, and the secrets their applications import. */
export function vaultPlacement(config: PlatformConfig) {
    return {
        ...azurePlacement(config),
        importSecrets: config.apps
            .filter((app) => config.appImports[app.name]?.includes("secrets"))
            .flatMap((app) => appSecretNames(config, app)),
        subscriptionId: config.subscriptionId,
    };
}

export async function buildPlatform({ config, kubeconfig, shared }: LoadedConfig): Promise<PlatformOutputs> {
    const imports = startImports(config);
    const { cluster, providers } = stackProviders(config, kubeconfig);

    const azure = azurePlacement(config);
    const keyVault = new KeyVault(
        "keyvault",
        {
            ...vaultPlacement(config),
            config: config.keyVault,
            protect: config.protect,
            clusterEgressRanges: config.cluster.egressIpRanges,
        },
        { providers },
    );
    const vault: VaultWriter = keyVault;
    const credentials: CredentialSource = await Credentials.create(
        "credentials",
        {
            ids: platformCredentialIds(config),
            passwords: config.keyVault.passwords,
            // Each service's rotation policy: what a rotation value means, which previous passwords stay readable.
            rotations: platformCredentialRotations(config),
            keepPrevious: platformKeepPrevious(config),
            vault,
        },
        { providers },
    );
    // The platform's own workloads (database login Job or SGCluster, Redis) and their synced Secrets live here (with
    // its own store, also the account that store reads as), under the weakest Pod Security level a service needs
    // (StackGres' Patroni pods need baseline).
    const podSecurity = SERVICES.some((service) => service.podSecurity?.(config) === "baseline")
        ? "baseline"
        : "restricted";
    const platformNamespace = new DataNamespace(
        "platform",
        {
            name: config.cluster.platformNamespace,
            create: true,
            podSecurity,
            protect: config.protect,
        },
        { providers },
    );
    const storeAccount = platformStoreAccount(config.cluster);
    const identity = new ExternalSecretsIdentity(
        "eso-identity",
        {
            ...azure,
            identityName: externalSecretsIdentityName(config.keyVault.name),
            oidcIssuerUrl: cluster.oidcIssuerUrl,
            serviceAccountNamespace: storeAccount.namespace,
            serviceAccountName: storeAccount.name,
            vaultId: keyVault.vaultId,
            readsFor: `the ${config.cluster.platformNamespace} namespace`,
        },
        { providers },
    );

    const secretSync = new SecretSync(
        "secret-sync",
        {
            externalSecrets: config.cluster.externalSecrets,
            vault,
            identity: { clientId: identity.clientId, reader: identity },
            tenantId: identity.tenantId,
            dependsOn: [identity.federation],
            platformNamespace: config.cluster.platformNamespace,
            platformNamespaceReady: platformNamespace.resource,
        },
        { providers },
    );

    // Every Kubernetes object of the data services must wait for their namespace; a transformation on a component
    // reaches all its children, which component-level `dependsOn` does not. Azure resources (the Flexible Server,
    // Key Vault secrets) do not live in it and must not wait for it.
    const inPlatformNamespace: pulumi.ComponentResourceOptions = {
        providers,
        transformations: [
            ({ type, props, opts }) =>
                type.startsWith("kubernetes:")
                    ? { props, opts: pulumi.mergeOptions(opts, { dependsOn: [platformNamespace.resource] }) }
                    : undefined,
        ],
    };

    const instancesFor = createInstances(
        config,
        {
            credentials,
            vault,
            secretSync,
            namespace: config.cluster.platformNamespace,
            oidcIssuerUrl: cluster.oidcIssuerUrl,
        },
        inPlatformNamespace,
    );
    const { appNamespaces, appSecrets } = await buildApps({
        config,
        providers,
        azure,
        oidcIssuerUrl: cluster.oidcIssuerUrl,
        vaultId: keyVault.vaultId,
        vault,
        secretSync,
        instancesFor,
    });
    // Every resource is registered by now: a key that named none is a mistake the stack must not run with.
    checkImports(imports);

    return {
        oidcIssuerUrl: cluster.oidcIssuerUrl,
        appNamespaces,
        appSecrets,
        secretStore: secretSync.storeName,
        keyVault: { name: keyVault.vaultName, uri: keyVault.vaultUri },
        externalSecretsClientId: identity.clientId,
        credentialSecretNames: Object.fromEntries(
            platformCredentialIds(config).map((id) => [id, vault.storedSecret(credentials.secretName(id)).vaultName]),
        ),
        ...Object.assign({}, ...instancesFor.all.map((instance) => instance.outputs)),
        ...(shared ? { [TENANCY_OUTPUT]: tenancyOutput(config, shared, keyVault.vaultId) } : {}),
    };
}

/** The service instances of a stack, and which of them an application uses. */
export interface Instances {
    readonly all: readonly ServiceInstance[];
    /** The instance of each service the application uses, by service name. */
    (app: AppConfig): Record<string, ServiceInstance>;
}

/**
 * Every instance of every service in the catalog, each given the applications it serves. A tenant stack
 * (`args.tenant`) builds only its part of the instances its applications use.
 */
export function createInstances(
    config: PlatformConfig,
    args: Omit<ServiceArgs, "config">,
    opts: pulumi.ComponentResourceOptions,
): Instances {
    const instances = new Map<string, ServiceInstance>();
    const instanceKey = (service: string, instance: string) => `${service}/${instance}`;
    for (const service of SERVICES) {
        for (const instance of instancesOf(service, config)) {
            const serves = (app: AppConfig) => instanceOf(service, app) === instance;
            // An application moved off this instance: its old copy stays here until it is retired (`retireOld`).
            const movedOut = (retireOld: boolean) => (app: AppConfig) => {
                const move = service.moveOf?.(app);
                return move?.from === instance && (move.retireOld ?? false) === retireOld;
            };
            const apps = config.apps.filter(serves);
            const retiredApps = [...config.retiredApps.filter(serves), ...config.apps.filter(movedOut(true))];
            const movedOutApps = config.apps.filter(movedOut(false));
            if (args.tenant !== undefined && apps.length + retiredApps.length + movedOutApps.length === 0) {
                continue;
            }
            instances.set(
                instanceKey(service.name, instance),
                service.create(
                    instanceResourceName(service, instance),
                    instance,
                    { ...args, config: { ...config, apps, retiredApps, movedOutApps } },
                    opts,
                ),
            );
        }
    }
    const instancesFor = (app: AppConfig) =>
        Object.fromEntries(
            SERVICES.map((service) => {
                const instance = instances.get(instanceKey(service.name, instanceOf(service, app)));
                if (instance === undefined) {
                    throw new pulumi.RunError(
                        `application ${app.name}: no ${service.name} instance ${instanceOf(service, app)}`,
                    );
                }
                return [service.name, instance];
            }),
        );
    return Object.assign(instancesFor, { all: [...instances.values()] });
}

/** What each application's resources are built with, in a platform stack or a tenant stack alike. */
export interface AppsContext {
    readonly config: PlatformConfig;
    readonly providers: pulumi.ProviderResource[];
    readonly azure: Pick<PlatformConfig["azure"], "resourceGroupName" | "location" | "tags">;
    readonly oidcIssuerUrl: pulumi.Output<string>;
    /** The vault every application's identity reads from. */
    readonly vaultId: pulumi.Input<string>;
    readonly vault: VaultWriter;
    readonly secretSync: SecretSync;
    readonly instancesFor: Instances;
}

/**
 * Each application's namespace, store and identity, its data (bundle, Secret, access) and export; retired ones keep
 * their namespace. The same code in both roles, so an application gets the same objects in either.
 */
export async function buildApps({
    config,
    providers,
    azure,
    oidcIssuerUrl,
    vaultId,
    vault,
    secretSync,
    instancesFor,
}: AppsContext): Promise<Pick<PlatformOutputs, "appNamespaces" | "appSecrets">> {
    const appNamespaces: Record<string, pulumi.Output<string>> = {};
    const appSecrets: PlatformOutputs["appSecrets"] = {};
    for (const app of config.apps) {
        // Registrations waiting for the engine stay at one application's worth (prod with 100 applications under
        // the mock engine: peak 1,035 -> 711 MiB, 7.8 -> 4.7 s).
        await nextTurn();
        const ns = new DataNamespace(
            `app-${app.name}`,
            appNamespaceArgs(app, config.protect, config.appImports[app.name]),
            { providers },
        );
        appNamespaces[app.name] = ns.namespace;
        // The namespace's own store and identity: it can read this application's bundle and nothing else.
        // Its identities in its own resource group if it names one (Azure's 800 identities per resource group).
        const appAzure = { ...azure, resourceGroupName: appIdentityResourceGroup(azure, app) };
        const appIdentity = new ExternalSecretsIdentity(
            `eso-identity-${app.name}`,
            {
                ...appAzure,
                identityName: appSecretsIdentityName(config.keyVault.name, app.name),
                oidcIssuerUrl,
                serviceAccountNamespace: app.namespace,
                serviceAccountName: APP_STORE_SERVICE_ACCOUNT,
                vaultId,
                readsFor: `application ${app.name}`,
            },
            { providers },
        );
        const store = secretSync.namespaceStore(`app-${app.name}-secrets`, {
            namespace: ns.namespace,
            identity: { clientId: appIdentity.clientId, reader: appIdentity },
            dependsOn: [appIdentity.federation],
        });
        // The app's contract (checked against components/contract.ts), its Key Vault bundle, Secret and access.
        const data = new AppData(
            `app-${app.name}`,
            {
                app,
                contract: contractShape(config, app),
                namespace: ns.namespace,
                services: instancesFor(app),
                vault,
                secretSync,
                store,
            },
            { providers },
        );
        appSecrets[app.name] = { namespace: ns.namespace, secretName: data.secretName };
        // Its scheduled export (`apps[].backup`), with its own login from that Secret; the config rules require
        // `backups` then.
        if (app.backup && config.backups) {
            new AppExport(
                `app-${app.name}-export`,
                {
                    app,
                    backups: config.backups,
                    // Its own server's client image: pg_dump refuses a server of a newer major.
                    clientImage: postgresServerSettings(config.postgres, postgresServerOf(app)).clientImage,
                    namespace: ns.namespace,
                    oidcIssuerUrl,
                    azure: appAzure,
                    vaultName: config.keyVault.name,
                    after: [data],
                },
                { providers },
            );
        }
    }
    // A retired application keeps only its namespace, unprotected (retained on delete), so the change that drops its
    // entry deletes nothing Pulumi refuses (a protected resource's delete fails whatever retainOnDelete says).
    for (const app of config.retiredApps) {
        new DataNamespace(`app-${app.name}`, appNamespaceArgs(app, false, config.appImports[app.name]), { providers });
    }
    return { appNamespaces, appSecrets };
}

/** The platform's `tenancy` output: its shared configuration and vault, what a tenant stack reads. */
function tenancyOutput(
    config: PlatformConfig,
    shared: Readonly<Record<string, unknown>>,
    keyVaultId: pulumi.Output<string>,
): pulumi.Output<Tenancy> {
    return keyVaultId.apply((id) => ({ stack: config.stack, config: { ...shared }, keyVaultId: id }));
}

/** Imports (`data-platform:imports`): before any resource, so every one registered afterwards passes them. */
export function startImports(config: PlatformConfig): Imports {
    const imports = new Imports(config.imports);
    if (Object.keys(config.imports).length > 0) {
        pulumi.runtime.registerStackTransformation(imports.transformation);
    }
    return imports;
}

/** Once every resource is registered: a key that named none is a mistake the stack must not run with. */
export function checkImports(imports: Imports): void {
    const problems = imports.problems();
    if (problems.length > 0) {
        throw new pulumi.RunError(`invalid imports:\n${problems.map((p) => `  ${p}`).join("\n")}`);
    }
}

/** The stack's Azure provider and its cluster access (a platform stack's and its tenants' alike). */
export function stackProviders(
    config: PlatformConfig,
    kubeconfig: pulumi.Output<string> | undefined,
): { cluster: ClusterAccess; providers: pulumi.ProviderResource[] } {
    // An explicit provider reads no `azure-native:*` stack config (Pulumi docs, explicit providers): the stack's own
    // subscription is passed on, else the provider's environment decides (ARM_SUBSCRIPTION_ID, the Azure CLI).
    const azureProvider = new AzureProvider("azure", {
        location: config.azure.location,
        subscriptionId: config.subscriptionId,
    });
    const cluster = new ClusterAccess(
        "cluster",
        {
            aks: config.cluster.aks && {
                name: config.cluster.aks.name,
                resourceGroupName: config.cluster.aks.resourceGroupName,
            },
            login: config.cluster.aks?.login,
            kubeconfig,
            oidcIssuerUrl: config.cluster.oidcIssuerUrl,
        },
        { providers: [azureProvider] },
    );
    return { cluster, providers: [azureProvider, cluster.provider] };
}
