/** Labels and annotations the platform sets and its policy pack reads (no dependencies, so the pack can import it). */

/** Marks namespaces allowed to reach the platform's data services (NetworkPolicies select on it). */
export const CONSUMER_LABEL = "data-platform.io/consumer";

/** An application's peak PostgreSQL connections (replicas x pool size), checked against the server's budget. */
export const CONNECTION_DEMAND_ANNOTATION = "data-platform.io/connection-demand";
