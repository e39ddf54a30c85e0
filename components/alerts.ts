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

/**
 * Share of a data volume used at which its alert fires: the cluster's volumes do not grow by themselves, and a full
 * one stops the server (PostgreSQL cannot write WAL, Redis cannot write its AOF); room is left for an AOF rewrite or a
 * vacuum that needs more before it frees any.
 */
export const VOLUME_FULL_RATIO = 0.8;

/**
 * PromQL: the persistent volume claims in `namespace` named like `claims` (a regular expression) over
 * `VOLUME_FULL_RATIO` used. The kubelet's volume statistics (kubernetes pkg/kubelet/metrics/collectors/volume_stats.go:
 * `kubelet_volume_stats_{available,capacity}_bytes` by `namespace` and `persistentvolumeclaim`), which
 * kube-prometheus-stack scrapes from every kubelet; the data services' own exporters cannot see their volumes.
 */
export function volumeFullExpr(namespace: string, claims: string): string {
    const sel = `namespace="${namespace}",persistentvolumeclaim=~"${claims}"`;
    return `1 - kubelet_volume_stats_available_bytes{${sel}} / kubelet_volume_stats_capacity_bytes{${sel}} > ${VOLUME_FULL_RATIO}`;
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
