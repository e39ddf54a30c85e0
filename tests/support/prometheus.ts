/**
 * Alert rules checked by the real tools: the metric names a rule's PromQL reads (to compare with a real exporter's
 * scrape), and `promtool check rules` / `promtool test rules` (Debian's `prometheus` package) on the rendered rules.
 */
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { Dashboard } from "../../components/dashboards";
import type { RunResult } from "../../offline/mockEngine";
import { requireCommands } from "../../testbed/servers/processes";
import { processTempDir } from "./tempDir";

export interface Rule {
    readonly alert: string;
    readonly expr: string;
    readonly for?: string;
    readonly labels?: Record<string, string>;
    readonly annotations?: Record<string, string>;
}

export interface RuleGroup {
    readonly name: string;
    readonly rules: readonly Rule[];
}

/** PromQL words that are not metric names (prometheus/promql/parser/lex.go `key`). */
const KEYWORDS = new Set(["and", "or", "unless", "bool", "offset", "atan2", "inf", "nan"]);

/**
 * The metric names a PromQL expression reads: identifiers left once strings, label matchers, ranges and grouping
 * clauses are dropped, except functions and aggregations (followed by `(`) and keywords.
 */
export function metricNames(expr: string): string[] {
    const bare = expr
        .replace(/"(?:[^"\\]|\\.)*"/g, '""')
        .replace(/\{[^}]*\}/g, " ")
        .replace(/\[[^\]]*\]/g, " ")
        .replace(/\b(?:by|without|on|ignoring)\s*\([^)]*\)/g, " ")
        .replace(/\bgroup_(?:left|right)\b(?:\s*\([^)]*\))?/g, " ");
    const names = new Set<string>();
    for (const match of bare.matchAll(/(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:]|\s*\()/g)) {
        if (!KEYWORDS.has(match[1].toLowerCase())) {
            names.add(match[1]);
        }
    }
    return [...names];
}

/** `alert: metric` for every metric a rule reads that the scrape lacks. */
export function unscrapedMetrics(rules: readonly Rule[], scraped: ReadonlySet<string>): string[] {
    return rules.flatMap((rule) =>
        metricNames(rule.expr)
            .filter((name) => !scraped.has(name))
            .map((name) => `${rule.alert}: ${name}`),
    );
}

/** Every query of a dashboard, named by its panel, in the shape `unscrapedMetrics` reads. */
export function dashboardQueries(dashboard: Dashboard): Rule[] {
    return dashboard.panels.flatMap((panel) =>
        panel.targets.map((target) => ({ alert: `${dashboard.title}: ${panel.title}`, expr: target.expr })),
    );
}

function promtool(args: string[]): { code: number; output: string } {
    requireCommands(["promtool"], "apt-get install prometheus");
    try {
        return { code: 0, output: execFileSync("promtool", args, { encoding: "utf8", stdio: "pipe" }) };
    } catch (e) {
        const err = e as { status?: number; stdout?: string; stderr?: string };
        return { code: err.status ?? 1, output: `${err.stdout ?? ""}${err.stderr ?? ""}` };
    }
}

/** A rule file (JSON is YAML) in a new directory. */
function writeRuleFile(groups: readonly (RuleGroup | QueryGroup)[]): string {
    const file = path.join(processTempDir("rules-"), "rules.yml");
    fs.writeFileSync(file, JSON.stringify({ groups }, null, 1));
    return file;
}

export function checkRules(groups: readonly (RuleGroup | QueryGroup)[]): { code: number; output: string } {
    return promtool(["check", "rules", writeRuleFile(groups)]);
}

interface QueryGroup {
    readonly name: string;
    readonly rules: readonly { record: string; expr: string }[];
}

/** `promtool check rules` on queries (a dashboard's) as recording rules: PromQL promtool cannot parse fails. */
export function checkQueries(queries: readonly Rule[]): { code: number; output: string } {
    return checkRules([
        { name: "queries", rules: queries.map((query, i) => ({ record: `query_${i}`, expr: query.expr })) },
    ]);
}

export interface Series {
    readonly series: string;
    /** promtool's expanding notation, one value per minute: `1x10`, `0+1x10`. */
    readonly values: string;
}

/** A series maker whose every series carries `base` labels (the namespace, an instance) besides its own. */
export function seriesWith(
    base: Readonly<Record<string, string>>,
): (name: string, labels: Record<string, string>, values: string) => Series {
    return (name, labels, values) => ({
        series: `${name}{${Object.entries({ ...base, ...labels })
            .map(([k, v]) => `${k}="${v}"`)
            .join(",")}}`,
        values,
    });
}

/** The rule groups of the PrometheusRule a run rendered under `name` (its Pulumi name or its object name). */
export function renderedRuleGroups(run: RunResult, name: string): RuleGroup[] {
    const rule = run.resources.find(
        (r) =>
            r.type === "kubernetes:monitoring.coreos.com/v1:PrometheusRule" &&
            (r.name === name || r.inputs.metadata.name === name),
    );
    assert.ok(rule, `no PrometheusRule ${name} rendered`);
    return rule.inputs.spec.groups;
}

/** The dashboard a run rendered into ConfigMap `name` (its one file). */
export function renderedDashboard(run: RunResult, name: string): Dashboard {
    const configMap = run.resources.find(
        (r) => r.type === "kubernetes:core/v1:ConfigMap" && r.inputs.metadata.name === name,
    );
    assert.ok(configMap, `no dashboard ConfigMap ${name} rendered`);
    return JSON.parse(Object.values(configMap.inputs.data as Record<string, string>)[0]) as Dashboard;
}

/** One alert's cases: the series that make it fire (with the labels it fires with) and series that must not. */
export interface AlertCase {
    readonly alert: string;
    readonly fires: readonly Series[];
    /** Labels of each firing alert besides the rule's own (from the series or the aggregation). */
    readonly firingLabels: readonly Record<string, string>[];
    readonly quiet: readonly Series[];
    /** When both are evaluated (after the rule's `for`). */
    readonly at: string;
}

/** `{{ $labels.x }}` filled as Prometheus' template would (the only template the rules use). */
function fill(template: string, labels: Record<string, string>): string {
    return template.replace(/\{\{\s*\$labels\.(\w+)\s*\}\}/g, (_, name: string) => labels[name] ?? "");
}

/**
 * `promtool test rules` over every case: each alert fires, with its exact labels and annotations, on its firing
 * series, and stays silent on its quiet ones. Every alert of the groups needs a case.
 */
export function testRules(groups: readonly RuleGroup[], cases: readonly AlertCase[]): { code: number; output: string } {
    const rules = groups.flatMap((g) => g.rules);
    assert.deepEqual(
        cases.map((c) => c.alert).sort(),
        rules.map((r) => r.alert).sort(),
        "one case per alert of the rendered rules",
    );
    const tests = cases.flatMap((c) => {
        const rule = rules.find((r) => r.alert === c.alert)!;
        const expected = c.firingLabels.map((labels) => {
            const all = { ...labels, ...rule.labels };
            return {
                exp_labels: all,
                exp_annotations: Object.fromEntries(
                    Object.entries(rule.annotations ?? {}).map(([k, v]) => [k, fill(v, all)]),
                ),
            };
        });
        return [
            {
                name: `${c.alert} fires`,
                interval: "1m",
                input_series: c.fires,
                alert_rule_test: [{ eval_time: c.at, alertname: c.alert, exp_alerts: expected }],
            },
            {
                name: `${c.alert} stays silent`,
                interval: "1m",
                input_series: c.quiet,
                alert_rule_test: [{ eval_time: c.at, alertname: c.alert, exp_alerts: [] }],
            },
        ];
    });
    const rulesFile = writeRuleFile(groups);
    const testFile = path.join(path.dirname(rulesFile), "tests.yml");
    fs.writeFileSync(testFile, JSON.stringify({ rule_files: [rulesFile], evaluation_interval: "1m", tests }, null, 1));
    return promtool(["test", "rules", testFile]);
}
