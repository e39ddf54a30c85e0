/**
 * What moving an application between instances of a service (PostgreSQL servers, Redis groups) shares: which
 * applications move to an instance, and the copy Job's wiring. Each service renders its own files and Job spec
 * (`<service>/moveSpec.ts`); here they are deployed: the admins' passwords of both instances synced by External
 * Secrets into the Job's Secret (`source-admin`, `target-admin`), its files in a ConfigMap, and the Job itself, which
 * completes once the data is on the target. The application's bundle waits for that Job.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { AppConfig } from "./config/platform";
import { PLATFORM_NAME, REPLACE_UNREADY_ANNOTATION, recommendedLabels } from "./labels";
import type { ServiceArgs } from "./serviceModule";

/** An application on its way from instance `from` to the instance it names now. */
export interface AppMove {
    readonly app: AppConfig;
    readonly from: string;
}

/** The applications of `apps` moving to `instance`: `of` names an application's instance, `movedFrom` its old one. */
export function movesTo(
    apps: readonly AppConfig[],
    instance: string,
    of: (app: AppConfig) => string,
    movedFrom: (app: AppConfig) => string | undefined,
): AppMove[] {
    return apps.flatMap((app) => {
        const from = movedFrom(app);
        return from !== undefined && of(app) === instance ? [{ app, from }] : [];
    });
}

/** One copy Job, as its service renders it. */
export interface CopyJobArgs {
    /** The moving application. */
    readonly app: string;
    /** The word of its resources' names, `<name>-<kind>-<app>` (e.g. a step after the copy). Default: `move`. */
    readonly kind?: string;
    /** Name of the Job's ConfigMap, Secret and service account. */
    readonly base: string;
    /** The Job's own name (it changes with what it copies). */
    readonly jobName: string;
    readonly files: Record<string, string>;
    /** Key Vault secret names of the two instances' admin passwords. */
    readonly adminSecrets: { readonly source: string; readonly target: string };
    readonly spec: k8s.types.input.batch.v1.JobSpec;
    /** How long the Job may wait for its Secret, in seconds; it then has an hour to copy. */
    readonly waitSeconds: number;
    /** What runs first on the target (its logins or users). */
    readonly after: pulumi.Input<pulumi.Resource>[];
    /** Further objects the Job needs (e.g. its service account). */
    readonly needs?: pulumi.Resource[];
}

/** The copy Job of `copy`, with its synced Secret and ConfigMap, children of `parent`. */
export function createCopyJob(
    parent: pulumi.Resource,
    name: string,
    args: ServiceArgs,
    copy: CopyJobArgs,
): k8s.batch.v1.Job {
    const { credentials, secretSync, namespace } = args;
    const resource = `${name}-${copy.kind ?? "move"}-${copy.app}`;
    const synced = secretSync.syncSecret(
        `${resource}-secret`,
        {
            namespace,
            secretName: copy.base,
            data: [
                { secretKey: "source-admin", remoteKey: credentials.secretName(copy.adminSecrets.source) },
                { secretKey: "target-admin", remoteKey: credentials.secretName(copy.adminSecrets.target) },
            ],
        },
        { parent },
    );
    const configMap = new k8s.core.v1.ConfigMap(
        resource,
        { metadata: { name: copy.base, namespace }, data: copy.files },
        { parent },
    );
    const timeout = `${Math.ceil((copy.waitSeconds + 3600) / 60)}m`;
    return new k8s.batch.v1.Job(
        resource,
        {
            metadata: {
                name: copy.jobName,
                namespace,
                labels: recommendedLabels({ partOf: PLATFORM_NAME }),
                annotations: REPLACE_UNREADY_ANNOTATION,
            },
            spec: copy.spec,
        },
        {
            parent,
            dependsOn: [...copy.after, synced, configMap, ...(copy.needs ?? [])],
            customTimeouts: { create: timeout, update: timeout },
        },
    );
}
