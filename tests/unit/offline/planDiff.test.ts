/**
 * The plan diff: the pure diff on small plans, then the command on plans the real plan writer makes
 * from the dev and prod stacks and from variants with renamed stateful resources or a changed replica count.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { SAFE_SPECIAL_CHARACTERS } from "../../../components/config/keyVault";
import type { Plan, PlanResource } from "../../../offline/plan";
import { writePlan } from "../../../offline/plan";
import { loadStackConfig } from "../../../offline/stackConfig";
import { diffPlans, diffValues, failsCheck, formatDiff } from "../../../offline/planDiff/diff";
import { Overrides, runStack } from "../../support/program";
import { ScriptHost } from "../../support/scriptHost";

const ROOT = path.resolve(__dirname, "..", "..", "..");

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
        const cm = (labels: string) =>
            resource("kubernetes:core/v1:ConfigMap", "cm", {
                metadata: { name: "cm", namespace: "ns", labels: { k: labels } },
                data: { k: "v" },
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
                ["cm", ["metadata.labels.k"], false],
            ],
        );
        assert.deepStrictEqual(diff.warnings, []);
    });

    it("warns when a create-only property of a protected server changes: Pulumi will refuse the replacement", () => {
        const diff = diffPlans(
            plan(server({})),
            plan(server({ backup: { backupRetentionDays: 7, geoRedundantBackup: "Enabled" } })),
        );
        assert.strictEqual(diff.warnings.length, 1);
        const text = formatDiff(diff, "a -> b");
        assert.match(text, /!!! REPLACE \(REFUSED: protected\) azure-native:dbforpostgresql:Server pg/);
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

    describe("a larger Redis volume (issue 29 item 14)", () => {
        const claim = (size: string) => ({
            metadata: { name: "data" },
            spec: { resources: { requests: { storage: size } } },
        });
        const sts = (size: string, annotations?: Record<string, string>, options = {}) =>
            resource(
                "kubernetes:apps/v1:StatefulSet",
                "redis",
                { metadata: { name: "redis", annotations }, spec: { volumeClaimTemplates: [claim(size)] } },
                options,
            );
        const orphan = { "pulumi.com/deletionPropagationPolicy": "orphan" };
        const patch = (ordinal: number, size: string) =>
            resource("kubernetes:core/v1:PersistentVolumeClaimPatch", `redis-data-pvc-${ordinal}`, {
                metadata: { name: `data-redis-${ordinal}` },
                spec: claim(size).spec,
            });

        it("describes a replacement that orphans the pods and the claims grown in place, and warns for nothing", () => {
            const diff = diffPlans(
                plan(sts("8Gi", orphan), patch(0, "8Gi"), patch(1, "8Gi")),
                plan(sts("16Gi", orphan), patch(0, "16Gi"), patch(1, "16Gi")),
            );
            assert.deepStrictEqual(diff.warnings, []);
            const text = formatDiff(diff, "a -> b");
            assert.match(
                text,
                /StatefulSet redis {2}\[REPLACE, delete before replace, pods orphaned: they keep running\]/,
            );
            assert.match(text, /replaced with their pods orphaned: the pods keep running .*: StatefulSet redis/);
            assert.match(
                text,
                /volume claims grown in place .*: PersistentVolumeClaim data-redis-0 8Gi -> 16Gi, PersistentVolumeClaim data-redis-1 8Gi -> 16Gi/,
            );
        });

        it("warns when the deployed object deletes its pods with it, and refuses one the state retains on delete", () => {
            const foreground = diffPlans(plan(sts("8Gi")), plan(sts("16Gi", orphan)));
            assert.deepStrictEqual(
                foreground.warnings.map((w) => [w.kind, w.refused]),
                [["replace", false]],
            );
            assert.match(foreground.warnings[0].reasons.join("\n"), /its pods are deleted with it, all at once/);
            const retained = diffPlans(plan(sts("8Gi", orphan, { retainOnDelete: true })), plan(sts("16Gi", orphan)));
            assert.deepStrictEqual(
                retained.warnings.map((w) => [w.kind, w.refused, w.refusedBecause]),
                [["replace", true, "retained on delete"]],
            );
            assert.match(
                formatDiff(retained, "a -> b"),
                /creating the new one of the same name fails: it already exists/,
            );
            assert.strictEqual(failsCheck(retained), true);
        });

        it("refuses a smaller claim, whatever is acknowledged", () => {
            const shrink = diffPlans(plan(patch(0, "16Gi")), plan(patch(0, "8Gi")), {
                acknowledged: new Set([patch(0, "8Gi").urn]),
            });
            assert.deepStrictEqual(
                shrink.warnings.map((w) => [w.kind, w.refused, w.acknowledged]),
                [["shrink", true, false]],
            );
            assert.match(
                formatDiff(shrink, "a -> b"),
                /!!! SHRINK \(REFUSED: a claim cannot shrink\) .*redis-data-pvc-0\n.*16Gi -> 8Gi: Kubernetes refuses a smaller request/,
            );
            assert.strictEqual(failsCheck(shrink), true);
        });
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

describe("plan diff follows Pulumi's replacement rules", () => {
    const K8S_PROVIDER = "urn:pulumi:dev::data-platform::pulumi:providers:kubernetes::k8s";
    const k8sProvider = (clusterDigest: string, inputs: Record<string, unknown> = {}): PlanResource => ({
        ...resource("pulumi:providers:kubernetes", "k8s", { kubeconfig: "[secret]", ...inputs }),
        urn: K8S_PROVIDER,
        secretPaths: ["kubeconfig"],
        secretDigests: { kubeconfig: `sha256:${clusterDigest}` },
    });
    const onCluster = (r: PlanResource): PlanResource => ({ ...r, provider: `${K8S_PROVIDER}::provider-id` });
    const configMap = (data: Record<string, string>) =>
        onCluster(
            resource("kubernetes:core/v1:ConfigMap", "cfg", { metadata: { name: "cfg", namespace: "ns" }, data }),
        );
    const sgCluster = onCluster(
        resource("kubernetes:stackgres.io/v1:SGCluster", "pg", { metadata: { name: "pg" }, spec: { instances: 1 } }),
    );
    const pgServer = (geo: string, options: Partial<PlanResource["options"]> = {}) =>
        resource(
            "azure-native:dbforpostgresql:Server",
            "pg",
            { serverName: "pg-a", resourceGroupName: "rg", availabilityZone: "1", backup: { geoRedundantBackup: geo } },
            { protect: true, ...options },
        );
    const database = (): PlanResource => ({
        ...resource("azure-native:dbforpostgresql:Database", "db", { serverName: "pg-a", databaseName: "orders" }),
        propertyDependencies: { serverName: [pgServer("Disabled").urn], databaseName: [] },
    });

    it("another cluster in the kubeconfig replaces the provider and every resource it manages", () => {
        const diff = diffPlans(
            plan(k8sProvider("aaa"), configMap({ k: "v" }), sgCluster),
            plan(k8sProvider("bbb"), configMap({ k: "v" }), sgCluster),
        );
        assert.deepStrictEqual(
            diff.changed.map((c) => [c.after.name, c.replaced]),
            [
                ["k8s", true],
                ["cfg", true],
                ["pg", true],
            ],
        );
        const text = formatDiff(diff, "a -> b");
        assert.match(text, /!!! REPLACE pulumi:providers:kubernetes k8s/);
        assert.match(text, /kubeconfig: the active cluster changes: every resource of this provider is replaced \(2\)/);
        assert.match(text, /!!! REPLACE kubernetes:stackgres.io\/v1:SGCluster pg/);
        assert.doesNotMatch(text, /sha256/, "the digest is compared, not shown");
    });

    it("the same cluster with a new token (same digest) replaces nothing", () => {
        const diff = diffPlans(plan(k8sProvider("aaa"), sgCluster), plan(k8sProvider("aaa"), sgCluster));
        assert.deepStrictEqual(diff.changed, []);
    });

    it("ConfigMap data is replace-on-change (enableConfigMapMutable defaults to false), delete-before-replace for a fixed name", () => {
        const changed = diffPlans(plan(configMap({ k: "a" })), plan(configMap({ k: "b" }))).changed;
        assert.deepStrictEqual(
            changed.map((c) => [c.replaced, c.deleteBeforeReplace, c.changes.map((x) => [x.path, x.replaces])]),
            [[true, true, [["data.k", true]]]],
        );
        const mutable = diffPlans(
            plan(k8sProvider("aaa", { enableConfigMapMutable: "true" }), configMap({ k: "a" })),
            plan(k8sProvider("aaa", { enableConfigMapMutable: "true" }), configMap({ k: "b" })),
        ).changed;
        assert.deepStrictEqual(
            mutable.map((c) => c.replaced),
            [false],
        );
    });

    it("ignoreChanges hides a change of an ignored property (no false replacement on availabilityZone)", () => {
        const ignoring = (zone: string) =>
            resource(
                "azure-native:dbforpostgresql:Server",
                "pg",
                { serverName: "pg-a", resourceGroupName: "rg", availabilityZone: zone },
                { protect: true, ignoreChanges: ["availabilityZone"] },
            );
        const diff = diffPlans(plan(ignoring("1")), plan(ignoring("2")));
        assert.deepStrictEqual([diff.changed, diff.warnings], [[], []]);
    });

    it("replaceOnChanges makes a change of that property a replacement", () => {
        const job = (image: string) =>
            resource(
                "kubernetes:apps/v1:Deployment",
                "app",
                { metadata: { name: "app" }, spec: { template: { spec: { containers: [{ image }] } } } },
                { replaceOnChanges: ["spec.template.spec.containers[*].image"] },
            );
        const diff = diffPlans(plan(job("a:1")), plan(job("a:2")));
        assert.deepStrictEqual(
            diff.changed.map((c) => [c.replaced, c.changes.map((x) => x.replaces)]),
            [[true, [true]]],
        );
        assert.match(formatDiff(diff, "a -> b"), /replaceOnChanges/);
    });

    it("resources whose replace-only inputs depend on a replaced resource are replaced too", () => {
        const diff = diffPlans(plan(pgServer("Disabled"), database()), plan(pgServer("Enabled"), database()));
        assert.deepStrictEqual(
            diff.changed.map((c) => [c.after.name, c.replaced]),
            [
                ["pg", true],
                ["db", true],
            ],
        );
        assert.match(
            formatDiff(diff, "a -> b"),
            /~ azure-native:dbforpostgresql:Database db {2}\[REPLACE\]\n.*serverName depends on azure-native:dbforpostgresql:Server pg, which is replaced/,
        );
    });

    it("a regenerated RandomPassword warns that credentials will change", () => {
        const password = (rotation: string) =>
            resource("random:index/randomPassword:RandomPassword", "pw", { length: 40, keepers: { rotation } });
        const diff = diffPlans(plan(password("")), plan(password("2026-01")));
        assert.deepStrictEqual(
            diff.warnings.map((w) => [w.kind, w.resource.name]),
            [["credentials", "pw"]],
        );
        assert.match(formatDiff(diff, "a -> b"), /!!! CREDENTIALS random:index\/randomPassword:RandomPassword pw/);
        assert.match(formatDiff(diff, "a -> b"), /credentials will change/);
    });

    it("a password's ignored alphabet does not regenerate it; a rotation replaces it with the program's alphabet", () => {
        const password = (rotation: string, overrideSpecial: string, length: number) =>
            resource(
                "random:index/randomPassword:RandomPassword",
                "pw",
                { length, overrideSpecial, keepers: { rotation } },
                { ignoreChanges: ["length", "overrideSpecial"] },
            );
        const kept = diffPlans(plan(password("", "!#%", 40)), plan(password("", "-._~", 42)));
        assert.deepStrictEqual([kept.changed, kept.warnings], [[], []]);
        const rotated = diffPlans(plan(password("", "!#%", 40)), plan(password("1", "-._~", 42)));
        assert.deepStrictEqual(
            rotated.changed.map((c) => [c.replaced, c.changes.map((x) => [x.path, x.after, x.replaces])]),
            [
                [
                    true,
                    [
                        ["keepers.rotation", "1", true],
                        ["length", 42, false],
                        ["overrideSpecial", "-._~", false],
                    ],
                ],
            ],
        );
        assert.match(formatDiff(rotated, "a -> b"), /overrideSpecial: "!#%" -> "-\._~" {2}\(ignoreChanges: taken with/);
    });

    it("multi-line strings are shown as a line diff", () => {
        const conf = (maxmemory: string) =>
            `${"# a long comment line that is the same on both sides of the change\n".repeat(3)}maxmemory ${maxmemory}\nappendonly yes\n`;
        const text = formatDiff(
            diffPlans(
                plan(configMap({ "redis.conf": conf("100mb") })),
                plan(configMap({ "redis.conf": conf("200mb") })),
            ),
            "a -> b",
        );
        assert.match(text, /data\["redis.conf"\]:\n\s+- maxmemory 100mb\n\s+\+ maxmemory 200mb$/);
        assert.doesNotMatch(text, /\.\.\./);
    });

    it("an acknowledged replacement is a visible warning, not a failure", () => {
        const unprotected = (geo: string) => pgServer(geo, { protect: false });
        const diff = diffPlans(plan(unprotected("Disabled")), plan(unprotected("Enabled")), {
            acknowledged: new Set([unprotected("Disabled").urn]),
        });
        assert.deepStrictEqual(
            diff.warnings.map((w) => [w.kind, w.acknowledged]),
            [["replace", true]],
        );
        assert.match(formatDiff(diff, "a -> b"), /ACKNOWLEDGED REPLACE azure-native:dbforpostgresql:Server pg/);
    });
});

describe("plan diff: what Pulumi will refuse, long values, operations", () => {
    const vault = (name: string, protect: boolean) =>
        resource("azure-native:keyvault:Vault", name, { vaultName: "kv" }, { protect, retainOnDelete: true });

    it("a protected resource leaving the stack is refused by Pulumi whatever retainOnDelete says; no acknowledgement passes it", () => {
        const gone = vault("kv", true);
        const diff = diffPlans(plan(gone), plan(), { acknowledged: new Set([gone.urn]) });
        assert.deepStrictEqual(
            diff.warnings.map((w) => [w.kind, w.refused, w.acknowledged]),
            [["delete", true, false]],
        );
        assert.ok(failsCheck(diff));
        const text = formatDiff(diff, "a -> b");
        assert.match(text, /pulumi will refuse: it is protected/);
        assert.match(text, new RegExp(`pulumi state unprotect '${gone.urn.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}'`));
        assert.doesNotMatch(text, /the cloud object stays/);
    });

    it("an unprotected, retained resource leaving the stack stays in the cloud (and can be acknowledged)", () => {
        const gone = vault("kv", false);
        const diff = diffPlans(plan(gone), plan(), { acknowledged: new Set([gone.urn]) });
        assert.deepStrictEqual(
            diff.warnings.map((w) => [w.kind, w.acknowledged]),
            [["delete", true]],
        );
        assert.match(formatDiff(diff, "a -> b"), /retainOnDelete: the cloud object stays but leaves the stack/);
    });

    it("a long value is shown where it differs: two values alike in their first 100 characters do not print alike", () => {
        const long = (tail: string) =>
            resource("kubernetes:core/v1:ConfigMap", "cm", {
                metadata: { name: "cm" },
                data: { list: `${"a".repeat(150)}${tail}` },
            });
        const text = formatDiff(diffPlans(plan(long("-old")), plan(long("-new"))), "a -> b");
        const line = text.split("\n").find((l) => l.includes("data.list"))!;
        assert.match(line, /-old/);
        assert.match(line, /-new/);
    });

    it("says once per change kind what it does to running servers", () => {
        const sts = (image: string) =>
            resource("kubernetes:apps/v1:StatefulSet", "redis", {
                metadata: { name: "redis" },
                spec: { template: { spec: { containers: [{ name: "redis", image }] } } },
            });
        const param = (value: string) =>
            resource("azure-native:dbforpostgresql:Configuration", "max-connections", {
                configurationName: "max_connections",
                value,
            });
        const text = formatDiff(
            diffPlans(plan(sts("redis:7.4.5"), param("100")), plan(sts("redis:7.4.6"), param("200"))),
            "a -> b",
        );
        assert.match(text, /operations:/);
        assert.match(text, /rolling update, one pod at a time \(each restarts\): StatefulSet redis/);
        assert.match(text, /live only after the next server restart .*: max_connections = 200/);
        const job = (name: string) =>
            resource("kubernetes:batch/v1:Job", "logins", { metadata: { name }, spec: { backoffLimit: 4 } });
        assert.match(
            formatDiff(diffPlans(plan(job("logins-1")), plan(job("logins-2"))), "a -> b"),
            /Jobs that run once more .*: logins-2/,
        );
    });
});

describe("npm run plan:diff on real plans", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-diff-"));
    let host: ScriptHost;
    before(() => {
        host = new ScriptHost();
    });
    after(() => {
        host.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    });

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

    /** The command, run in the file's script host. */
    const planDiff = (a: string, b: string, ...flags: string[]) => host.run("cli/planDiff.ts", a, b, ...flags);

    it("dev: renaming the SGCluster prints the replacement warning and exits non-zero", async () => {
        const base = await planDir("dev", "dev-base");
        const renamed = await planDir(
            "dev",
            "dev-renamed",
            tweak("dev", "postgres", (v) => {
                v.stackgres = { ...v.stackgres, clusterName: "postgres-renamed" };
            }),
        );
        const { status, out } = await planDiff(base, renamed);
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
        const { status, out } = await planDiff(base, scaled);
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
        const { status, out } = await planDiff(base, renamed);
        assert.strictEqual(status, 1, out);
        assert.match(out, /!!! REPLACE \(REFUSED: protected\) azure-native:dbforpostgresql:Server /, out);
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
        const { status, out } = await planDiff(base, scaled);
        assert.strictEqual(status, 0, out);
        assert.doesNotMatch(out, /WARNING/);
    });

    it("dev: another AKS cluster replaces every Kubernetes resource and exits non-zero", async () => {
        const base = await planDir("dev", "dev-base-3");
        const moved = await planDir(
            "dev",
            "dev-other-cluster",
            tweak("dev", "cluster", (v) => {
                v.aks = { ...v.aks, name: "aks-apps-dev-2" };
            }),
        );
        const { status, out } = await planDiff(base, moved);
        assert.strictEqual(status, 1, out);
        const kubernetes = (JSON.parse(fs.readFileSync(path.join(base, "plan.json"), "utf8")) as Plan).resources.filter(
            (r) => r.type.startsWith("kubernetes:"),
        );
        assert.match(out, new RegExp(`every resource of this provider is replaced \\(${kubernetes.length}\\)`), out);
        assert.match(out, /!!! REPLACE kubernetes:stackgres.io\/v1:SGCluster /, out);
        assert.doesNotMatch(out, /sha256:/);
    });

    it("prod: a changed redis.conf replaces the fixed-name ConfigMap (delete first), shown as a line diff", async () => {
        const base = await planDir("prod", "prod-base-3");
        const changed = await planDir(
            "prod",
            "prod-maxmemory",
            tweak("prod", "redis", (v) => {
                v.maxmemory = "700mb";
            }),
        );
        const { status, out } = await planDiff(base, changed);
        assert.match(out, /kubernetes:core\/v1:ConfigMap redis-config {2}\[REPLACE, delete before replace\]/, out);
        assert.match(out, /^\s+\+ maxmemory 700mb$/m, out);
        assert.strictEqual(status, 0, out);
    });

    it("dev: a Redis group's TLS switched in place warns (mixed TLS pods cannot replicate, old-scheme clients are refused) and names the move instead", async () => {
        const base = await planDir("dev", "dev-base-tls");
        const withTls = await planDir(
            "dev",
            "dev-redis-tls",
            tweak("dev", "redis", (v) => {
                v.tls = true;
                v.tlsCaCert = JSON.parse(loadStackConfig("prod").config["data-platform:redis"]).tlsCaCert;
            }),
        );
        const { status, out } = await planDiff(base, withTls);
        assert.strictEqual(status, 1, out);
        assert.match(out, /!!! TLS kubernetes:core\/v1:ConfigMap redis-config/, out);
        assert.match(out, /Redis group default turns TLS on in place/, out);
        assert.match(out, /apps\[\]\.redis\.movedFrom/, out);
    });

    it("prod: geo-redundant backup off replaces the server and, through serverName, every database", async () => {
        const base = await planDir("prod", "prod-base-4");
        const local = await planDir(
            "prod",
            "prod-local-backup",
            tweak("prod", "postgres", (v) => {
                v.azure = { ...v.azure, geoRedundantBackup: false };
            }),
        );
        const { status, out } = await planDiff(base, local);
        assert.strictEqual(status, 1, out);
        for (const db of ["orders", "billing", "search"]) {
            assert.match(out, new RegExp(`Database postgres-db-${db} {2}\\[REPLACE\\]`), out);
        }
    });

    it("dev: a rotation regenerates one password: credentials will change; acknowledged in .plan-ack it passes", async () => {
        const base = await planDir("dev", "dev-base-4");
        const rotated = await planDir(
            "dev",
            "dev-rotated",
            tweak("dev", "keyVault", (v) => {
                v.rotations = { ...v.rotations, "pg-admin": 1 };
            }),
        );
        const red = await planDiff(base, rotated);
        assert.strictEqual(red.status, 1, red.out);
        assert.match(
            red.out,
            /!!! CREDENTIALS random:index\/randomPassword:RandomPassword credentials-pg-admin/,
            red.out,
        );
        const urn = (JSON.parse(fs.readFileSync(path.join(rotated, "plan.json"), "utf8")) as Plan).resources.find(
            (r) => r.name === "credentials-pg-admin",
        )?.urn;
        const ack = path.join(dir, "plan-ack");
        fs.writeFileSync(ack, `# rotating the admin password on purpose\n${urn}\n`);
        const acknowledged = await planDiff(base, rotated, "--ack", ack);
        assert.strictEqual(acknowledged.status, 0, acknowledged.out);
        assert.match(acknowledged.out, /ACKNOWLEDGED CREDENTIALS .*credentials-pg-admin/, acknowledged.out);
        // An acknowledgement the base already had is stale: it does not carry over to later changes.
        const stale = await planDiff(base, rotated, "--ack", ack, "--base-ack", ack);
        assert.strictEqual(stale.status, 1, stale.out);
        assert.match(stale.out, /already in the base's acknowledgements/, stale.out);
    });

    it("dev: the URL-safe default over a stack made with the previous one (40, SAFE_SPECIAL_CHARACTERS) regenerates no password; a rotation then takes the URL-safe alphabet", async () => {
        const previous = await planDir(
            "dev",
            "dev-previous-alphabet",
            tweak("dev", "keyVault", (v) => {
                v.passwords = { length: 40, special: SAFE_SPECIAL_CHARACTERS };
            }),
        );
        const now = await planDir("dev", "dev-url-safe");
        const kept = await planDiff(previous, now);
        assert.strictEqual(kept.status, 0, kept.out);
        assert.doesNotMatch(kept.out, /RandomPassword/, kept.out);
        const rotated = await planDir(
            "dev",
            "dev-url-safe-rotated",
            tweak("dev", "keyVault", (v) => {
                v.rotations = { ...v.rotations, "pg-app-orders": 1 };
            }),
        );
        const red = await planDiff(previous, rotated);
        assert.strictEqual(red.status, 1, red.out);
        const warned = red.out.match(/!!! CREDENTIALS \S+ (\S+)/g) ?? [];
        assert.deepStrictEqual(warned, [
            "!!! CREDENTIALS random:index/randomPassword:RandomPassword credentials-pg-alt-orders",
        ]);
        assert.match(red.out, /overrideSpecial: "!#%&\*\+-\.\/:=\?@\^_~" -> "-\._~" {2}\(ignoreChanges: taken/);
    });

    it("fails with usage help on wrong arguments: exit status 2 of a real process", () => {
        const args = ["-r", "ts-node/register/transpile-only", "cli/planDiff.ts"];
        const run = spawnSync(process.execPath, [...args, path.join(dir, "missing"), path.join(dir, "also-missing")], {
            cwd: ROOT,
            encoding: "utf8",
        });
        assert.strictEqual(run.status, 2, run.stdout + run.stderr);
        assert.match(run.stderr, /plan.json not found/);
    });
});
