/**
 * A tenant stack (issue 26 item 7): only its applications' resources, beside its platform stack. It reads the
 * platform's `tenancy` output through a `pulumi.StackReference` (shared settings, the vault; never a credential),
 * validates its applications as part of that platform's configuration, and builds them with the platform's own
 * per-application code (`buildApps`), so an application gets the same objects in either role.
 */
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, parseTenantStack } from "./config";
import type { PlatformConfig } from "./config";
import { TENANCY_OUTPUT, type Tenancy, type TenantStackConfig } from "./config/tenant";
import {
    azurePlacement,
    buildApps,
    checkImports,
    createInstances,
    stackProviders,
    startImports,
    vaultPlacement,
} from "./platform";
import type { PlatformOutputs } from "./platform";
import { SecretSync } from "./secretSync";
import {
    Credentials,
    KeyVault,
    platformCredentialIds,
    platformCredentialRotations,
    platformKeepPrevious,
} from "./vault";
import type { CredentialSource } from "./interfaces";
import { tenantLoginSuffix } from "./postgres/loginJob";
import { pgTenantKeyCredentialId } from "./postgres/credentials";
import { platformStoreName } from "./secretSync/spec";
import { PlatformStoreReader } from "./vault/identity";
import { externalSecretsIdentityName } from "./vault/workloadIdentity";

export interface TenantOutputs {
    /** The platform stack this one is a tenant of. */
    readonly platformStack: string;
    readonly appNamespaces: PlatformOutputs["appNamespaces"];
    readonly appSecrets: PlatformOutputs["appSecrets"];
}

/**
 * The credentials of the applications themselves (their logins and Redis users): every id of the configuration but
 * the platform's own (admins, system roles), which stay in the platform stack.
 */
export function appCredentialIds(config: PlatformConfig): string[] {
    const platformOnly = new Set(platformCredentialIds({ ...config, apps: [], retiredApps: [] }));
    return platformCredentialIds(config).filter((id) => !platformOnly.has(id));
}

/** Reads the platform's `tenancy` output; a platform stack that exports none is refused, naming it. */
export async function readTenancy(tenant: TenantStackConfig): Promise<Tenancy> {
    const platform = new pulumi.StackReference("platform", { name: tenant.tenant.platformStack });
    const details = await platform.getOutputDetails(TENANCY_OUTPUT);
    const tenancy = details.value as Tenancy | undefined;
    if (tenancy === undefined || typeof tenancy.config !== "object" || typeof tenancy.keyVaultId !== "string") {
        throw new ConfigError([
            {
                path: "data-platform:tenant.platformStack",
                given: JSON.stringify(tenant.tenant.platformStack),
                allowed: `a deployed platform stack of this program exporting ${TENANCY_OUTPUT} (it exports none)`,
            },
        ]);
    }
    return tenancy;
}

export async function buildTenant(
    tenant: TenantStackConfig,
    kubeconfig: pulumi.Output<string> | undefined,
): Promise<TenantOutputs> {
    const tenancy = await readTenancy(tenant);
    const config = parseTenantStack(tenant, tenancy);
    const imports = startImports(config);
    const { cluster, providers } = stackProviders(config, kubeconfig);
    const azure = azurePlacement(config);
    // The platform's vault, adopted (read, never changed): this stack writes its applications' secrets into it.
    const keyVault = new KeyVault(
        "keyvault",
        {
            ...vaultPlacement(config),
            config: { ...config.keyVault, existingVaultId: tenancy.keyVaultId, privateEndpoint: undefined },
        },
        { providers },
    );
    const loginKeyId = pgTenantKeyCredentialId(tenantLoginSuffix(tenant.stack));
    const credentials: CredentialSource = await Credentials.create(
        "credentials",
        {
            ids: [...appCredentialIds(config), loginKeyId],
            passwords: config.keyVault.passwords,
            rotations: platformCredentialRotations(config),
            keepPrevious: platformKeepPrevious(config),
            vault: keyVault,
        },
        { providers },
    );
    // Namespace stores only: the operator and the platform's store are the platform stack's.
    const secretSync = new SecretSync(
        "secret-sync",
        {
            externalSecrets: config.cluster.externalSecrets,
            vault: keyVault,
            tenantId: keyVault.tenantId,
            platformNamespace: config.cluster.platformNamespace,
        },
        { providers },
    );
    const instancesFor = createInstances(
        config,
        {
            credentials,
            vault: keyVault,
            secretSync,
            namespace: config.cluster.platformNamespace,
            oidcIssuerUrl: cluster.oidcIssuerUrl,
            tenant: {
                stack: tenant.stack,
                platformStack: tenant.tenant.platformStack,
                loginKeyId,
                platformStore: {
                    kind: "ClusterSecretStore",
                    name: pulumi.output(platformStoreName(config.cluster)),
                    reader: new PlatformStoreReader(
                        "platform-store",
                        {
                            identityName: externalSecretsIdentityName(config.keyVault.name),
                            resourceGroupName: config.azure.resourceGroupName,
                            vaultId: tenancy.keyVaultId,
                            readsFor: `tenant stack ${tenant.stack}`,
                        },
                        { providers },
                    ),
                    keepSecrets: false,
                },
            },
        },
        { providers },
    );
    const { appNamespaces, appSecrets } = await buildApps({
        config,
        providers,
        azure,
        oidcIssuerUrl: cluster.oidcIssuerUrl,
        vaultId: keyVault.vaultId,
        vault: keyVault,
        secretSync,
        instancesFor,
    });
    checkImports(imports);
    return { platformStack: tenant.tenant.platformStack, appNamespaces, appSecrets };
}
