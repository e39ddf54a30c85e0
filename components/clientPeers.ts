/** Who may open client connections to a data service's pods: the `from` of its NetworkPolicies' client rule. */
import { CONSUMER_LABEL } from "./labels";

/**
 * Every consumer namespace to a shared instance; to a dedicated one (`redis.groups.<g>.dedicated`,
 * `postgres.servers.<s>.dedicated`) only its application's namespace (`clientNamespaces`: also while it moves away), so
 * no other tenant's pod reaches its ports, which may speak plain text (`redis.groups.<g>.tls`, `apps[].postgres.tls`).
 */
export function clientPeers(dedicated: boolean | undefined, clientNamespaces: readonly string[]) {
    return dedicated
        ? [...new Set(clientNamespaces)]
              .sort()
              .map((name) => ({ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": name } } }))
        : [{ namespaceSelector: { matchLabels: { [CONSUMER_LABEL]: "true" } } }];
}
