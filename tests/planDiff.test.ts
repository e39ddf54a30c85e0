/**
 * The plan diff: the pure diff on small plans, then the command on plans the real plan writer makes
 * from the dev and prod stacks and from variants with renamed stateful resources or a changed replica count.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Plan, PlanResource } from "../engine/plan";
import { writePlan } from "../engine/plan";
import { loadStackConfig } from "../engine/stackConfig";
import { diffPlans, diffValues, formatDiff } from "../tools/planDiff/diff";
import { Overrides, runStack } from "./support/program";

const ROOT = path.resolve(__dirname, "..");

function resource(
    type: string,
    name: string,
    inputs: Record<string, unknown>,
    options: Partial<PlanResource["options"]> = {},
): PlanResource {
    return {
        urn: `urn:pulumi:dev::data-platform::${type}::${name}`,
        type,
        name,
        custom: true,
        dependencies: [],
        dependsOn: [],
        propertyDependencies: {},
        options: { ignoreChanges: [], replaceOnChanges: [], additionalSecretOutputs: [], aliases: [], ...options },
        inputs,
        secretPaths: [],
    };
}

const plan = (...resources: PlanResource[]): Plan => ({ stack: "dev", resources, outputs: {} });

describe("plan diff (pure)", () => {
    const server = (inputs: Record<string, unknown>) =>
        resource(
            "azure-native:dbforpostgresql:Server",
            "pg",
            {
                serverName: "pg-a",
                resourceGroupName: "rg",
                sku: { name: "Standard_D2ds_v5" },
                backup: { backupRetentionDays: 7 },
                ...inputs,
            },
            { protect: true, retainOnDelete: true },
        );

    it("reports leaf paths, with quoted keys and indices", () => {
        assert.deepStrictEqual(
            diffValues({ a: { "x.y": 1, l: [1, 2] } }, { a: { "x.y": 2, l: [1, 3] } }).map((c) => c.path),
            ["a.l[1]", 'a["x.y"]'],
        );
    });

    it("lists added, removed and changed resources, and in-place changes do not warn", () => {
        const cm = (data: string) =>
            resource("kubernetes:core/v1:ConfigMap", "cm", {
                metadata: { name: "cm", namespace: "ns" },
                data: { k: data },
            });
        const diff = diffPlans(
            plan(server({}), cm("a"), resource("kubernetes:core/v1:Service", "old", {})),
            plan(
                server({ backup: { backupRetentionDays: 35 } }),
                cm("b"),
                resource("kubernetes:core/v1:Service", "new", {}),
            ),
        );
        assert.deepStrictEqual(
            diff.added.map((r) => r.name),
            ["new"],
        );
        assert.deepStrictEqual(
            diff.removed.map((r) => r.name),
            ["old"],
        );
        assert.deepStrictEqual(
            diff.changed.map((c) => [c.after.name, c.changes.map((x) => x.path), c.replaced]),
            [
                ["pg", ["backup.backupRetentionDays"], false],
                ["cm", ["data.k"], false],
            ],
        );
        assert.deepStrictEqual(diff.warnings, []);
    });

    it("warns when a create-only property of a protected server changes", () => {
        const diff = diffPlans(
            plan(server({})),
            plan(server({ backup: { backupRetentionDays: 7, geoRedundantBackup: "Enabled" } })),
        );
        assert.strictEqual(diff.warnings.length, 1);
        const text = formatDiff(diff, "a -> b");
        assert.match(text, /!!! REPLACE azure-native:dbforpostgresql:Server pg/);
        assert.match(text, /backup.geoRedundantBackup: \(unset\) -> "Enabled" cannot be updated in place/);
    });

    it("warns for a StatefulSet whose volume claims change, not for one without volumes", () => {
        const sts = (vct: unknown[], replicas: number) =>
            resource("kubernetes:apps/v1:StatefulSet", "redis", {
                metadata: { name: "redis" },
                spec: { replicas, volumeClaimTemplates: vct },
            });
        const claim = (size: string) => ({
            metadata: { name: "data" },
            spec: { resources: { requests: { storage: size } } },
        });
        assert.strictEqual(diffPlans(plan(sts([claim("1Gi")], 1)), plan(sts([claim("2Gi")], 1))).warnings.length, 1);
        assert.strictEqual(diffPlans(plan(sts([claim("1Gi")], 1)), plan(sts([claim("1Gi")], 3))).warnings.length, 0);
        assert.strictEqual(diffPlans(plan(sts([], 1)), plan(sts([], 1))).changed.length, 0);
    });

    it("warns when a protected resource leaves the plan (a changed logical name)", () => {
        const vault = (name: string) =>
            resource("azure-native:keyvault:Vault", name, { vaultName: "kv" }, { protect: true, retainOnDelete: true });
        const diff = diffPlans(plan(vault("kv")), plan(vault("kv-renamed")));
        assert.deepStrictEqual(
            diff.warnings.map((w) => [w.kind, w.resource.name]),
            [["delete", "kv"]],
        );
        assert.match(formatDiff(diff, "a -> b"), /needs an alias/);
    });

    it("shows masked secrets as they are in the plan", () => {
        const secret = (v: string, contentType: string) =>
            resource("azure-native:keyvault:Secret", "s", { properties: { value: v, contentType } });
        const text = formatDiff(
            diffPlans(plan(secret("[secret]", "text/plain")), plan(secret("[secret]", "application/json"))),
            "a -> b",
        );
        assert.match(text, /properties.contentType: "text\/plain" -> "application\/json"/);
        assert.doesNotMatch(text, /properties.value/);
    });
});

describe("npm run plan:diff on real plans", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-diff-"));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    /** The stack's value of a config key, changed by `change` (objects are replaced whole by overrides). */
    function tweak(stack: string, key: string, change: (v: any) => void): Overrides {
        const value = JSON.parse(loadStackConfig(stack).config[`data-platform:${key}`]);
        change(value);
        return { [`data-platform:${key}`]: value };
    }

    async function planDir(stack: string, label: string, overrides: Overrides = {}): Promise<string> {
        const out = path.join(dir, label);
        return writePlan(await runStack(stack, overrides), out);
    }

    function planDiff(a: string, b: string): { status: number | null; out: string } {
        const run = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "tools/planDiff.ts", a, b], {
            cwd: ROOT,
            encoding: "utf8",
        });
        return { status: run.status, out: run.stdout + run.stderr };
    }

    it("dev: renaming the SGCluster prints the replacement warning and exits non-zero", async () => {
        const base = await planDir("dev", "dev-base");
        const renamed = await planDir(
            "dev",
            "dev-renamed",
            tweak("dev", "postgres", (v) => {
                v.stackgres = { ...v.stackgres, clusterName: "postgres-renamed" };
            }),
        );
        const { status, out } = planDiff(base, renamed);
        assert.strictEqual(status, 1, out);
        assert.match(out, /!!! REPLACE kubernetes:stackgres.io\/v1:SGCluster /, out);
        assert.match(out, /metadata.name: "postgres" -> "postgres-renamed" cannot be updated in place/, out);
    });

    it("dev: a changed instance count exits 0", async () => {
        const base = await planDir("dev", "dev-base-2");
        const scaled = await planDir(
            "dev",
            "dev-scaled",
            tweak("dev", "postgres", (v) => {
                v.stackgres = { ...v.stackgres, instances: 2 };
            }),
        );
        const { status, out } = planDiff(base, scaled);
        assert.strictEqual(status, 0, out);
        assert.match(out, /spec.instances: 1 -> 2/, out);
        assert.doesNotMatch(out, /WARNING/);
    });

    it("prod: renaming the Flexible Server prints the replacement warning and exits non-zero", async () => {
        const base = await planDir("prod", "prod-base");
        const renamed = await planDir(
            "prod",
            "prod-renamed",
            tweak("prod", "postgres", (v) => {
                v.azure = { ...v.azure, serverName: "dp-prod-renamed" };
            }),
        );
        const { status, out } = planDiff(base, renamed);
        assert.strictEqual(status, 1, out);
        assert.match(out, /!!! REPLACE azure-native:dbforpostgresql:Server /, out);
        assert.match(out, /serverName: "[^"]+" -> "dp-prod-renamed" cannot be updated in place/, out);
    });

    it("prod: a changed Redis replica count exits 0", async () => {
        const base = await planDir("prod", "prod-base-2");
        const scaled = await planDir(
            "prod",
            "prod-scaled",
            tweak("prod", "redis", (v) => {
                v.replicas = 5;
            }),
        );
        const { status, out } = planDiff(base, scaled);
        assert.strictEqual(status, 0, out);
        assert.doesNotMatch(out, /WARNING/);
    });

    it("fails with usage help on wrong arguments", () => {
        const { status, out } = planDiff(path.join(dir, "missing"), path.join(dir, "also-missing"));
        assert.strictEqual(status, 2);
        assert.match(out, /plan.json not found/);
    });
});
