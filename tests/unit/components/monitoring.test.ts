/**
 * The monitoring objects on the recorded graphs: every ServiceMonitor and PrometheusRule valid against the Prometheus
 * Operator CRDs (unknown fields are errors), StackGres' own exporter bound to Prometheus when PostgreSQL monitoring
 * is on. Whether the rules read real metrics and fire: tests/servers/monitoring/*.test.ts.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { ConfigMap } from "kubernetes-models/v1";
import type { RunResult } from "../../../offline/mockEngine";
import { byType, runStack } from "../../support/program";
import { sectionOverride } from "../../support/config";
import { validateAgainstCrd } from "../../support/crdSchemas";
import { metricNames } from "../../support/prometheus";
import { describe as describeViolations, packConfig, runPolicies } from "../../support/policyHarness";
import { allPolicies } from "../../../policy/policies";

const MONITORING_TYPES = [
    "kubernetes:monitoring.coreos.com/v1:ServiceMonitor",
    "kubernetes:monitoring.coreos.com/v1:PrometheusRule",
];
const SELECTED = { release: "kube-prometheus-stack" };
/** prod with StackGres (production profile: monitoring on) and the labels a kube-prometheus-stack selects. */
const PROD_STACKGRES = {
    ...sectionOverride("prod", "postgres", {
        mode: "stackgres",
        stackgres: {
            instances: 3,
            backups: {
                storageAccount: "dpbackupsprod",
                container: "pgbackups/prod",
                accessKeySecretName: "pg-backup-key",
            },
        },
    }),
    ...sectionOverride("prod", "redis", { monitoringLabels: SELECTED }),
};

function monitoringObjects(run: RunResult) {
    return MONITORING_TYPES.flatMap((type) => byType(run, type)).map((r) => r.inputs);
}

function sgCluster(run: RunResult) {
    const cluster = byType(run, "kubernetes:stackgres.io/v1:SGCluster")[0];
    assert.ok(cluster, "no SGCluster");
    return cluster.inputs;
}

describe("monitoring objects", () => {
    it("validate against the Prometheus Operator CRDs in prod (Redis), prod on StackGres and dev", async () => {
        const counts: Record<string, number> = {};
        for (const [name, run] of [
            ["prod", await runStack("prod")],
            ["prod-stackgres", await runStack("prod", PROD_STACKGRES)],
            ["dev", await runStack("dev")],
        ] as const) {
            const objects = monitoringObjects(run);
            counts[name] = objects.length;
            for (const object of objects) {
                assert.deepEqual(validateAgainstCrd(object), [], `${name}: ${object.kind} ${object.metadata.name}`);
            }
        }
        // prod: Redis' and the Azure exporter's ServiceMonitors and rules; on StackGres Redis' and PostgreSQL's rules
        // (the operator makes its PodMonitor); dev monitors nothing.
        assert.deepEqual(counts, { prod: 4, "prod-stackgres": 3, dev: 0 });
    });

    it("the validator refuses a rule the operator would refuse (a `for` that is no duration)", async () => {
        const [rule] = byType(await runStack("prod", PROD_STACKGRES), MONITORING_TYPES[1]).map((r) => r.inputs);
        const group = rule.spec.groups[0];
        const broken = { ...rule, spec: { groups: [{ ...group, rules: [{ ...group.rules[0], for: "5 minutes" }] }] } };
        assert.notDeepEqual(validateAgainstCrd(broken), []);
    });

    it("reads Go's inline (?i) in CRD patterns as the API server does (partial_response_strategy)", async () => {
        const [rule] = byType(await runStack("prod"), MONITORING_TYPES[1]).map((r) => r.inputs);
        const withStrategy = (strategy: string) => ({
            ...rule,
            spec: { groups: [{ ...rule.spec.groups[0], partial_response_strategy: strategy }] },
        });
        assert.deepEqual(validateAgainstCrd(withStrategy("ABORT")), []);
        assert.deepEqual(validateAgainstCrd(withStrategy("warn")), []);
        assert.notDeepEqual(validateAgainstCrd(withStrategy("sometimes")), []);
    });

    it("binds StackGres' exporter sidecar to Prometheus and labels PostgreSQL's rules like Redis' (monitoring on)", async () => {
        const run = await runStack("prod", PROD_STACKGRES);
        assert.deepEqual(sgCluster(run).spec.configurations.observability, { prometheusAutobind: true });
        const rules = byType(run, MONITORING_TYPES[1]).find((r) => r.inputs.metadata.name === "postgres-alerts");
        assert.ok(rules, "no postgres-alerts");
        assert.equal(rules.inputs.metadata.labels.release, SELECTED.release);
        assert.equal(rules.inputs.metadata.namespace, "data-platform");
    });

    it("leaves the SGCluster without a PodMonitor and renders no PostgreSQL rules when monitoring is off (dev)", async () => {
        const run = await runStack("dev");
        assert.equal(sgCluster(run).spec.configurations.observability, undefined);
        assert.equal(byType(run, MONITORING_TYPES[1]).length, 0);
    });

    it("passes the policy pack with PostgreSQL monitoring on (prod on StackGres): no mandatory violation", async () => {
        const run = await runPolicies(allPolicies, await runStack("prod", PROD_STACKGRES), {
            config: packConfig("prod"),
        });
        const mandatory = run.violations.filter((v) => v.enforcementLevel === "mandatory");
        assert.deepEqual(mandatory, [], describeViolations(mandatory));
    });

    it("runs postgres_exporter on Azure (prod) as the monitoring login, verify-full, no token, only Prometheus admitted", async () => {
        const run = await runStack("prod");
        const [deployment] = byType(run, "kubernetes:apps/v1:Deployment").map((r) => r.inputs);
        assert.equal(deployment.metadata.name, "postgres-exporter");
        const pod = deployment.spec.template.spec;
        assert.equal(pod.automountServiceAccountToken, false);
        const [container] = pod.containers;
        assert.match(container.image, /^quay\.io\/prometheuscommunity\/postgres-exporter:v0\.17\.1$/);
        const env = Object.fromEntries(container.env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
        assert.equal(env.DATA_SOURCE_USER, "data_platform_monitor");
        assert.match(
            env.DATA_SOURCE_URI,
            /^dp-prod-pg-[0-9a-f]+\.postgres\.database\.azure\.com:5432\/postgres\?sslmode=verify-full&sslrootcert=\/etc\/postgres-exporter\/ca\//,
        );
        assert.deepEqual(env.DATA_SOURCE_PASS, { secretKeyRef: { name: "postgres-monitor", key: "password" } });
        const [policy] = byType(run, "kubernetes:networking.k8s.io/v1:NetworkPolicy")
            .map((r) => r.inputs)
            .filter((p) => p.metadata.name === "postgres-exporter");
        assert.deepEqual(policy.spec.ingress, [
            {
                from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } }],
                ports: [{ protocol: "TCP", port: 9187 }],
            },
        ]);
        // Not in dev (StackGres runs its own exporter) nor with monitoring off.
        assert.equal(byType(await runStack("dev"), "kubernetes:apps/v1:Deployment").length, 0);
    });

    it("alerts on the Flexible Server's storage_percent through Azure Monitor (prod), on the server itself", async () => {
        const run = await runStack("prod");
        const [alert] = byType(run, "azure-native:monitor:MetricAlert").map((r) => r.inputs);
        assert.ok(alert, "no MetricAlert");
        assert.match(
            alert.scopes[0],
            /\/providers\/Microsoft\.DBforPostgreSQL\/flexibleServers\/dp-prod-pg-[0-9a-f]+$/,
        );
        assert.deepEqual(
            alert.criteria.allOf.map((c: any) => [
                c.metricNamespace,
                c.metricName,
                c.operator,
                c.threshold,
                c.timeAggregation,
            ]),
            [["Microsoft.DBforPostgreSQL/flexibleServers", "storage_percent", "GreaterThan", 90, "Maximum"]],
        );
        assert.equal(byType(await runStack("dev"), "azure-native:monitor:MetricAlert").length, 0);
    });

    it("links every alert to its runbook: a README section that exists", async () => {
        const readme = fs.readFileSync(path.join(__dirname, "..", "..", "..", "README.md"), "utf8");
        // GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens.
        const anchors = new Set(
            [...readme.matchAll(/^#+ (.+)$/gm)].map((m) =>
                m[1]
                    .toLowerCase()
                    .replace(/[^a-z0-9 _-]/g, "")
                    .replace(/ /g, "-"),
            ),
        );
        assert.ok(anchors.has("alerts-and-runbooks"));
        const rules = [await runStack("prod"), await runStack("prod", PROD_STACKGRES)].flatMap((run) =>
            byType(run, MONITORING_TYPES[1]).flatMap((r) => r.inputs.spec.groups.flatMap((g: any) => g.rules)),
        );
        const missing = rules
            .map((rule) => String(rule.annotations.runbook_url))
            .filter((url) => !(url.startsWith("README.md#") && anchors.has(url.slice("README.md#".length))));
        assert.deepEqual(missing, []);
        console.log(`      ${new Set(rules.map((r) => r.alert)).size} alerts, each with a README runbook`);
    });

    it("ships a Grafana dashboard per monitored service to Grafana's namespace, labelled for its sidecar", async () => {
        const dashboards = (await runStack("prod", PROD_STACKGRES)).resources.filter(
            (r) => r.type === "kubernetes:core/v1:ConfigMap" && r.inputs.metadata.labels?.grafana_dashboard === "1",
        );
        assert.deepEqual(dashboards.map((r) => r.inputs.metadata.name).sort(), [
            "data-platform-postgres-dashboard",
            "data-platform-redis-dashboard",
        ]);
        for (const { inputs } of dashboards) {
            new ConfigMap(inputs).validate();
            assert.equal(inputs.metadata.namespace, "monitoring");
            const [json] = Object.values(inputs.data as Record<string, string>);
            assert.ok(JSON.parse(json).panels.length >= 6);
        }
        assert.equal(
            (await runStack("dev")).resources.filter((r) => r.inputs?.metadata?.labels?.grafana_dashboard).length,
            0,
        );
    });
});

describe("metric names a PromQL expression reads (the check against real scrapes)", () => {
    for (const [expr, names] of [
        ['sum by (pod) (rate(a_total{x="y"}[5m])) / on (pod) group_left (role) b', ["a_total", "b"]],
        ["c / ignoring (db) group_left sum without (db) (c) > 0.5 and on (pod) d > bool 1e3", ["c", "d"]],
        ['absent(up{job="x"} offset 5m) or max_over_time(m[1h:5m])', ["up", "m"]],
        ['z{msg="a}b, c{d}"} unless 0.9 * (pg_settings_max_connections - 10)', ["z", "pg_settings_max_connections"]],
    ] as const) {
        it(expr, () => assert.deepEqual(metricNames(expr), names));
    }
});
