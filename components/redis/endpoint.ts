/**
 * The master endpoint of a Sentinel group (wiring only; the objects are in endpointSpec.ts, the configuration in
 * endpointConfig.ts): HAProxy pods that forward every client connection to the current master, behind the Service
 * `REDIS_URL` and `REDIS_HOST` name, for clients that do not speak Sentinel.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { RedisConfig } from "../config/redis";
import type { RedisLayout } from "./layout";
import {
    endpointConfigData,
    endpointConfigMap,
    endpointDeployment,
    endpointNetworkPolicy,
    endpointPodDisruptionBudget,
    endpointService,
} from "./endpointSpec";

export const MASTER_ENDPOINT_TYPE = "data-platform:redis:MasterEndpoint";

export interface MasterEndpointArgs {
    /** The group's settings (Sentinel mode). */
    readonly redis: RedisConfig;
    /** The group's layout in the cluster (its data nodes). */
    readonly layout: RedisLayout;
    /** The platform namespace: the group's own. */
    readonly namespace: string;
    /** The namespaces of the group's applications (`clientPeers`: a dedicated group admits only these). */
    readonly clientNamespaces: readonly string[];
    /** Key Vault version of the monitor password: a new one restarts the pods (they read it once). */
    readonly monitorPasswordVersion: pulumi.Input<string>;
    /** What the pods need first: the synced `redis-auth` (the monitor password) and, with TLS, the certificate. */
    readonly dependsOn: pulumi.Input<pulumi.Resource>[];
}

export class MasterEndpoint extends pulumi.ComponentResource {
    constructor(name: string, args: MasterEndpointArgs, opts?: pulumi.ComponentResourceOptions) {
        super(MASTER_ENDPOINT_TYPE, name, {}, opts);
        const { redis, namespace } = args;
        const data = endpointConfigData(redis, args.layout);
        const configMap = new k8s.core.v1.ConfigMap(`${name}-config`, endpointConfigMap(redis, data, namespace), {
            parent: this,
        });
        new k8s.apps.v1.Deployment(
            name,
            endpointDeployment({
                redis,
                namespace,
                configMapName: configMap.metadata.name,
                configData: data,
                monitorPasswordVersion: args.monitorPasswordVersion,
            }),
            { parent: this, dependsOn: args.dependsOn },
        );
        new k8s.core.v1.Service(`${name}-svc`, endpointService(redis, namespace), { parent: this });
        new k8s.networking.v1.NetworkPolicy(
            `${name}-netpol`,
            endpointNetworkPolicy(redis, namespace, args.clientNamespaces),
            {
                parent: this,
            },
        );
        new k8s.policy.v1.PodDisruptionBudget(`${name}-pdb`, endpointPodDisruptionBudget(redis, namespace), {
            parent: this,
        });
        this.registerOutputs({});
    }
}
