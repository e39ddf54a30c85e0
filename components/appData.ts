/**
 * One application's data layer as it sees it: its whole contract (every data service's keys) written to Key
 * Vault as one bundle, expanded by External Secrets into one Secret in its namespace, readable through the
 * API only by its service accounts.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { AppConfig } from "./config/platform";
import { ContractShape, appContractKeys, assembleEnv, envTemplateParts } from "./envContract";
import type { SecretStoreRef, SecretSyncer, VaultWriter } from "./interfaces";
import type { ServiceInstance } from "./serviceModule";
import { bundleSecretName } from "./vault/secretNames";
import { writeConnectionBundle } from "./vault/credentials";
import { appSecretAccess, esoTemplateText } from "./secretSync/spec";

export interface AppDataArgs {
    readonly app: AppConfig;
    /** Decides the key set of the contract (`contractShape(config, app)`). */
    readonly contract: ContractShape;
    /** The application's namespace (an output of its `AppNamespace`, so everything here waits for it). */
    readonly namespace: pulumi.Input<string>;
    /**
     * The instance of each data service the application uses, by service name: each renders its keys, and the
     * bundle and the Secret are written after all their `ready` resources, so applications never get a password the
     * server does not know yet.
     */
    readonly services: Readonly<Record<string, ServiceInstance>>;
    /** Where the bundle is stored. */
    readonly vault: VaultWriter;
    readonly secretSync: SecretSyncer;
    /** The namespace's own store, whose identity may read this application's bundle and nothing else. */
    readonly store: SecretStoreRef;
}

export class AppData extends pulumi.ComponentResource {
    /** Name of the Secret holding the contract (`apps[].secretName`), known once its ExternalSecret exists. */
    public readonly secretName: pulumi.Output<string>;

    constructor(name: string, args: AppDataArgs, opts?: pulumi.ComponentResourceOptions) {
        const { app } = args;
        super(
            "data-platform:apps:AppData",
            name,
            { app: app.name, namespace: app.namespace, secretName: app.secretName },
            opts,
        );

        // Throws (before anything is registered for the app) unless each service gives exactly its contract keys.
        const services = Object.entries(args.services);
        const env = assembleEnv(
            app,
            args.contract,
            Object.fromEntries(services.map(([service, instance]) => [service, instance.env(app)])),
        );
        // Written only once the servers accept its credentials: External Secrets may read the bundle at any refresh, so
        // a bundle written earlier could hand pods a password the server does not know yet.
        const ready = services.flatMap(([, instance]) => instance.readyFor?.(app) ?? instance.ready);
        // Keys a tenant stack's part of a platform instance cannot know: read from the platform's secret instead.
        const platformKeys: Record<string, string> = Object.assign(
            {},
            ...services.map(([, instance]) => instance.platformKeys?.(app) ?? {}),
        );
        const own = Object.fromEntries(Object.entries(env).filter(([key]) => !(key in platformKeys)));
        writeConnectionBundle(args.vault, app, own, { parent: this, dependsOn: ready });

        // One entry per contract key, each a property of the one bundle: the Secret holds exactly these keys (and the
        // application's own names for them, `apps[].env`), and a key missing from the bundle fails the sync instead of
        // silently disappearing from pods.
        const externalSecret = args.secretSync.syncSecret(
            `${name}-secret`,
            {
                namespace: args.namespace,
                secretName: app.secretName,
                data: appContractKeys(args.contract, app).map((key) =>
                    key in platformKeys
                        ? { secretKey: key, remoteKey: platformKeys[key] }
                        : { secretKey: key, remoteKey: bundleSecretName(app.name), property: key },
                ),
                // The sync also waits for the bundle and carries its version: a rotation reaches the Secret in seconds.
                dependsOn: ready,
                store: args.store,
                // Rendered by ESO from the keys above, so Key Vault holds no copy of them.
                template: Object.fromEntries(
                    Object.entries(app.env).map(([key, value]) => [key, esoTemplateText(envTemplateParts(value))]),
                ),
                adopt: app.adoptSecret === true,
            },
            { parent: this },
        );

        const access = appSecretAccess(app);
        const role = new k8s.rbac.v1.Role(
            `${name}-reader`,
            {
                metadata: { name: access.name, namespace: args.namespace, labels: access.labels },
                rules: access.rules,
            },
            { parent: this },
        );
        new k8s.rbac.v1.RoleBinding(
            `${name}-reader`,
            {
                metadata: { name: access.name, namespace: args.namespace, labels: access.labels },
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
                subjects: access.subjects,
            },
            { parent: this },
        );

        // The ExternalSecret is named like its Secret.
        this.secretName = externalSecret.metadata.name;
        this.registerOutputs({ secretName: this.secretName });
    }
}
