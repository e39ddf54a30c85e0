/**
 * Names of a service's instances (a named PostgreSQL server or Redis group): a leaf, so that what names per-instance
 * objects (namespaces' annotations, each service's names) imports no module interface.
 */

/**
 * The instance of a service a stack has today, and the one an application uses unless it names another. Its
 * resources keep the service's own name (`postgres`, `redis`), so the single-instance stacks' URNs do not move.
 */
export const DEFAULT_INSTANCE = "default";

/**
 * The first word of an instance's names (its component, Kubernetes objects, credentials): the service's own for the
 * default instance (the names and URNs of every stack before named instances), `<service>-<instance>` for a named one.
 */
export function instancePrefix(service: string, instance: string): string {
    return instance === DEFAULT_INSTANCE ? service : `${service}-${instance}`;
}
