/** Prometheus alert rules of the data services (pure): one shape for Redis and PostgreSQL. */

export interface AlertRule {
    readonly alert: string;
    readonly expr: string;
    readonly for: string;
    readonly labels: Record<string, string>;
    readonly annotations: Record<string, string>;
}

/**
 * Each alert's runbook: its section of "Alerts and runbooks" in the README, relative to the repository (the project
 * names no repository URL); tests/unit/components/monitoring.test.ts checks every anchor exists.
 */
export function runbookUrl(alert: string): string {
    return `README.md#${alert.toLowerCase()}`;
}

export function alertRule(alert: string, expr: string, duration: string, severity: string, summary: string): AlertRule {
    return {
        alert,
        expr,
        for: duration,
        labels: { severity },
        annotations: { summary, runbook_url: runbookUrl(alert) },
    };
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
