/**
 * Grafana dashboards of the data services (pure), as ConfigMaps that kube-prometheus-stack's Grafana sidecar loads:
 * it watches ConfigMaps labelled `grafana_dashboard: "1"` (the chart's `grafana.sidecar.dashboards.label` default) in
 * Grafana's own namespace, hence `redis.monitoringNamespace`. Per-tenant panels are per database: each application
 * has its own PostgreSQL database and Redis database number. Every query's metrics are checked against real exporter
 * scrapes (tests/servers/monitoring/*.test.ts).
 */
import { PLATFORM_NAME, recommendedLabels } from "./labels";

export interface Panel {
    readonly title: string;
    /** One PromQL query per series set, with its legend. */
    readonly queries: readonly { readonly expr: string; readonly legend: string }[];
    readonly unit: string;
}

const PANEL_WIDTH = 12;
const PANEL_HEIGHT = 8;

export type Dashboard = ReturnType<typeof dashboardModel>;

/** A Grafana dashboard model (schemaVersion 39) of time series panels, two a row, on a chosen Prometheus. */
export function dashboardModel(uid: string, title: string, panels: readonly Panel[]) {
    return {
        uid,
        title,
        tags: [PLATFORM_NAME],
        schemaVersion: 39,
        time: { from: "now-6h", to: "now" },
        refresh: "1m",
        templating: {
            list: [{ name: "datasource", type: "datasource", query: "prometheus", label: "Prometheus" }],
        },
        panels: panels.map((panel, i) => ({
            id: i + 1,
            type: "timeseries",
            title: panel.title,
            datasource: { type: "prometheus", uid: "${datasource}" },
            gridPos: {
                x: (i % 2) * PANEL_WIDTH,
                y: Math.floor(i / 2) * PANEL_HEIGHT,
                w: PANEL_WIDTH,
                h: PANEL_HEIGHT,
            },
            fieldConfig: { defaults: { unit: panel.unit }, overrides: [] },
            targets: panel.queries.map((query, j) => ({
                refId: String.fromCharCode(65 + j),
                expr: query.expr,
                legendFormat: query.legend,
            })),
        })),
    };
}

/** The ConfigMap holding one dashboard, in Grafana's namespace. */
export function dashboardConfigMap(name: string, namespace: string, dashboard: Dashboard) {
    return {
        metadata: {
            name: `${PLATFORM_NAME}-${name}-dashboard`,
            namespace,
            labels: { grafana_dashboard: "1", ...recommendedLabels({ name, partOf: PLATFORM_NAME }) },
        },
        data: { [`${PLATFORM_NAME}-${name}.json`]: JSON.stringify(dashboard, null, 1) },
    };
}
