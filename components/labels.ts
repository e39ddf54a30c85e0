/** Labels and annotations the platform sets and its policy pack reads (no dependencies, so the pack can import it). */

/** Marks namespaces allowed to reach the platform's data services (NetworkPolicies select on it). */
export const CONSUMER_LABEL = "data-platform.io/consumer";

/** An application's peak PostgreSQL connections (replicas x pool size), checked against the server's budget. */
export const CONNECTION_DEMAND_ANNOTATION = "data-platform.io/connection-demand";

/**
 * The named PostgreSQL server an application's database is on (its prefix, `postgres-<server>`), on its namespace;
 * the same key tags that server's Azure resource or labels its SGPostgresConfig, so the budget policy adds up each
 * server's applications. Unset on both: the stack's own server.
 */
export const POSTGRES_SERVER_ANNOTATION = "data-platform.io/postgres-server";
/**
 * The named Redis group an application's databases are on (its prefix, `redis-<group>`), on its namespace: what
 * `plan:diff` compares to refuse a group change without `apps[].redis.movedFrom`. Unset: the stack's own group.
 */
export const REDIS_GROUP_ANNOTATION = "data-platform.io/redis-group";
/** `POSTGRES_SERVER_ANNOTATION` as an Azure tag: tag names cannot contain `/` (Microsoft, "Use tags to organize your
 *  Azure resources": limitations). */
export const POSTGRES_SERVER_TAG = "data-platform-postgres-server";

/**
 * Annotation that makes pulumi-kubernetes replace a Job that failed to become ready in an earlier update instead of
 * awaiting the same failed Job again (node_modules/@pulumi/kubernetes/batch/v1/job.d.ts).
 */
export const REPLACE_UNREADY_ANNOTATION = { "pulumi.com/replaceUnready": "true" } as const;

/** `app.kubernetes.io/part-of` of everything the platform itself runs. */
export const PLATFORM_NAME = "data-platform";

/** Kubernetes' recommended labels (kubernetes.io/docs/concepts/overview/working-with-objects/common-labels). */
const RECOMMENDED_LABEL_KEYS = {
    name: "app.kubernetes.io/name",
    instance: "app.kubernetes.io/instance",
    component: "app.kubernetes.io/component",
    partOf: "app.kubernetes.io/part-of",
    managedBy: "app.kubernetes.io/managed-by",
} as const;

export type RecommendedLabels = { readonly [K in keyof typeof RECOMMENDED_LABEL_KEYS]?: string };

/**
 * The `app.kubernetes.io/*` labels, in the order given: manifests keep key order, so the order is part of what
 * `npm run plan` compares.
 */
export function recommendedLabels(labels: RecommendedLabels): Record<string, string> {
    const result: Record<string, string> = {};
    for (const [key, value] of Object.entries(labels) as [keyof RecommendedLabels, string | undefined][]) {
        if (value !== undefined) {
            result[RECOMMENDED_LABEL_KEYS[key]] = value;
        }
    }
    return result;
}
