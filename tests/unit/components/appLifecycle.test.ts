/**
 * How an application leaves and (re-)enters a stack (issue 29 item 12), in the program's registrations:
 * - `apps[].retired`: everything of the application goes as on removal, except its protected namespace and database,
 *   which stay registered with the same inputs, `protect: false` and `retainOnDelete` (Pulumi refuses to delete a
 *   protected resource whatever retainOnDelete says: Pulumi docs, "protect"), so the next change may drop them;
 * - `apps[].import`: what exists is registered with Pulumi's `import` option and the id `pulumi import` takes.
 * The lifecycle scenarios (tests/lifecycle/lifecycleApps*.test.ts) apply both to running servers.
 */
import { strict as assert } from "assert";
import type { RecordedResource } from "../../../offline/mockEngine";
import { MOCK_SUBSCRIPTION_ID } from "../../../offline/answers";
import { Overrides, keyVaultOverride, parseStack, problemLines, stackConfig } from "../../support/config";
import { runStack } from "../../support/program";

const SUBSCRIPTION = "00000000-0000-0000-0000-000000000000";

/** The stack's apps, `name`'s entry edited. */
function appsWith(stack: string, name: string, edit: Record<string, unknown>): Overrides {
    const apps = JSON.parse(stackConfig(stack).config["data-platform:apps"]) as { name: string }[];
    assert.ok(
        apps.some((a) => a.name === name),
        `${stack} has ${name}`,
    );
    return { "data-platform:apps": apps.map((a) => (a.name === name ? { ...a, ...edit } : a)) };
}

/** Resources of the run that belong to application `name` (its name in their own), by URN. */
function appResources(resources: readonly RecordedResource[], name: string): Map<string, RecordedResource> {
    return new Map(resources.filter((r) => new RegExp(`-${name}(-|$)`).test(r.name)).map((r) => [r.urn, r]));
}

describe("removing and re-adding applications (apps[].retired, apps[].import)", () => {
    it("prod: a retired application keeps only its namespace and database, same inputs, unprotected and retained", async () => {
        const [before, retired] = await Promise.all([
            runStack("prod"),
            runStack("prod", appsWith("prod", "search", { retired: true })),
        ]);
        const kept = appResources(retired.resources, "search");
        assert.deepEqual([...kept.values()].map((r) => `${r.type} ${r.name}`).sort(), [
            "azure-native:dbforpostgresql:Database postgres-db-search",
            "data-platform:cluster:DataNamespace app-search",
            "kubernetes:core/v1:Namespace app-search-ns",
        ]);
        const was = appResources(before.resources, "search");
        for (const r of [...kept.values()].filter((x) => x.custom)) {
            assert.deepEqual(
                r.inputs,
                was.get(r.urn)?.inputs,
                `${r.name}: inputs unchanged (no call to Azure or Kubernetes)`,
            );
            assert.equal(was.get(r.urn)?.options.protect, true, `${r.name} was protected`);
            assert.equal(r.options.protect, false, `${r.name} is unprotected`);
            assert.equal(r.options.retainOnDelete, true, `${r.name} stays in the cloud when it leaves the stack`);
        }
        // Its logins and users are gone from what the Jobs apply, as on removal.
        assert.ok(
            !parseStack("prod", appsWith("prod", "search", { retired: true })).apps.some((a) => a.name === "search"),
        );
    });

    it("dev (StackGres): a retired application keeps only its namespace (the login Job owns the database)", async () => {
        const retired = await runStack("dev", appsWith("dev", "billing", { retired: true }));
        assert.deepEqual(
            [...appResources(retired.resources, "billing").values()].map((r) => `${r.type} ${r.name}`).sort(),
            ["data-platform:cluster:DataNamespace app-billing", "kubernetes:core/v1:Namespace app-billing-ns"],
        );
    });

    it("prod: import registers the namespace, the database and every Key Vault secret of the application with their ids", async () => {
        const run = await runStack("prod", {
            "azure-native:subscriptionId": SUBSCRIPTION,
            ...appsWith("prod", "search", { import: ["namespace", "database", "secrets"] }),
        });
        const config = parseStack("prod");
        const vault = `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-data-platform-prod/providers/Microsoft.KeyVault/vaults/${config.keyVault.name}`;
        const imported = Object.fromEntries(
            run.resources.filter((r) => r.options.importId).map((r) => [r.name, r.options.importId]),
        );
        const server = run.resources.find((r) => r.type === "azure-native:dbforpostgresql:Server")?.inputs.serverName;
        assert.deepEqual(imported, {
            "app-search-ns": "search",
            "postgres-db-search": `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-data-platform-prod/providers/Microsoft.DBforPostgreSQL/flexibleServers/${server}/databases/search`,
            "credentials-pg-app-search-kv": `${vault}/secrets/pg-app-search`,
            "credentials-pg-alt-search-kv": `${vault}/secrets/pg-alt-search`,
            "credentials-redis-app-search-kv": `${vault}/secrets/redis-app-search`,
            "bundle-search": `${vault}/secrets/app-search-env`,
        });
    });

    it("an adopted vault's secrets are imported under its own id (no subscription key needed), with the stack's prefix", async () => {
        // In the mock's subscription: adopting a vault of another one is refused (vault/vaultRef.ts).
        const existingVaultId = `/subscriptions/${MOCK_SUBSCRIPTION_ID}/resourceGroups/rg-shared/providers/Microsoft.KeyVault/vaults/kv-shared`;
        const keyVault = keyVaultOverride("dev", { existingVaultId, secretPrefix: "dev" });
        const run = await runStack("dev", {
            ...keyVault,
            ...appsWith("dev", "billing", { import: ["secrets"] }),
        });
        const ids = run.resources.filter((r) => r.options.importId).map((r) => r.options.importId);
        assert.ok(ids.length > 0);
        assert.deepEqual(
            ids.filter((id) => !id!.startsWith(`${existingVaultId}/secrets/dev-`)),
            [],
            "every id is the adopted vault's, prefixed",
        );
    });

    it("refuses what cannot be imported or removed, naming the key, the value and what is allowed", () => {
        const lines = (stack: string, overrides: Overrides) => problemLines(stack, overrides).join("\n");
        assert.match(
            lines("prod", appsWith("prod", "search", { createNamespace: false, import: ["namespace"] })),
            /apps\[2\]\.import: given \["namespace"\]; allowed: namespace only with createNamespace: true/,
        );
        assert.match(
            lines("dev", appsWith("dev", "billing", { import: ["database"] })),
            /apps\[1\]\.import: given \["database"\]; allowed: database only on a server of mode azure/,
        );
        assert.match(
            lines("prod", appsWith("prod", "search", { import: ["database", "secrets"] })),
            /apps\[2\]\.import: .*allowed: database and secrets with azure-native:subscriptionId set/,
        );
        assert.match(
            lines("prod", appsWith("prod", "search", { import: ["namespace", "namespace"] })),
            /apps\[2\]\.import: .*at most once/,
        );
        assert.match(
            lines("prod", appsWith("prod", "search", { import: ["everything"] })),
            /apps\[2\]\.import\[0\]: given "everything"; allowed: one of "namespace", "database", "secrets"/,
        );
        const allRetired = JSON.parse(stackConfig("dev").config["data-platform:apps"]).map((a: object) => ({
            ...a,
            retired: true,
        }));
        assert.match(
            lines("dev", { "data-platform:apps": allRetired }),
            /data-platform:apps: .*allowed: at least one application that is not retired/,
        );
    });
});
