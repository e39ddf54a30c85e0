/** Prometheus alert rules of the data services (pure): one shape for Redis and PostgreSQL. */

export interface AlertRule {
    readonly alert: string;
    readonly expr: string;
    readonly for: string;
    readonly labels: Record<string, string>;
    readonly annotations: Record<string, string>;
}

/** A PrometheusRule (monitoring.coreos.com/v1) holding one group of alerts. */
export function prometheusRuleObject(
    metadata: { name: string; namespace: string; labels: Record<string, string> },
    group: string,
    rules: readonly AlertRule[],
) {
    return {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata,
        spec: { groups: [{ name: group, rules }] },
    };
}
