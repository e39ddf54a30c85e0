/**
 * Teardown and re-creation (README): what `pulumi destroy` leaves, derived from the plans and compared with the
 * README's list; re-creating a stack on what was left, by the `import` resource option (`data-platform:imports`, the
 * block `npm run imports` prints), recorded by the mock engine on each registration; recovering a soft-deleted vault
 * (`keyVault.recover`: azure-native Vault `properties.createMode: "recover"`).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { MOCK_SUBSCRIPTION_ID } from "../../../offline/answers";
import type { RunResult } from "../../../offline/mockEngine";
import { importIds, importsBlock, retainedResources } from "../../../offline/teardown";
import { keyVaultOverride } from "../../support/config";
import { byName, runStack } from "../../support/program";

const README = fs.readFileSync(path.resolve(__dirname, "..", "..", "..", "README.md"), "utf8");
const SUBSCRIPTION = "12345678-1234-1234-1234-123456789abc";

/** The README section's table: resource type to the count left in each stack. */
function readmeLeftovers(): Map<string, { dev: number; prod: number }> {
    const from = README.indexOf("### Teardown and re-creation");
    assert.ok(from >= 0, "README has a 'Teardown and re-creation' section");
    const section = README.slice(from, README.indexOf("\n### ", from + 1));
    const rows = [...section.matchAll(/^\|[^|\n]*\| `([^`]+)` \| (\d+) \| (\d+) \|$/gm)];
    return new Map(rows.map((m) => [m[1], { dev: Number(m[2]), prod: Number(m[3]) }]));
}

function countByType(result: RunResult): Map<string, number> {
    const counts = new Map<string, number>();
    for (const r of retainedResources(result)) {
        counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
    }
    return counts;
}

describe("teardown and re-creation", () => {
    let dev: RunResult;
    let prod: RunResult;
    before(async () => {
        [dev, prod] = await Promise.all([runStack("dev"), runStack("prod")]);
    });

    it("the README lists exactly what pulumi destroy leaves in dev and prod (the resources retained on delete)", () => {
        const [d, p] = [countByType(dev), countByType(prod)];
        const derived = new Map(
            [...new Set([...d.keys(), ...p.keys()])].map((type) => [
                type,
                { dev: d.get(type) ?? 0, prod: p.get(type) ?? 0 },
            ]),
        );
        assert.deepEqual(Object.fromEntries([...readmeLeftovers()].sort()), Object.fromEntries([...derived].sort()));
        const protectedInProd = prod.resources.filter((r) => r.options.protect === true).length;
        assert.match(
            README,
            new RegExp(`\`pulumi destroy -s prod\` stops at the first of its ${protectedInProd} protected resources`),
        );
    });

    it("npm run imports prints, for every retained resource, the id a create would collide with", () => {
        const ids = importIds(dev, SUBSCRIPTION);
        assert.deepEqual(
            Object.keys(ids).sort(),
            retainedResources(dev)
                .map((r) => r.name)
                .sort(),
        );
        assert.equal(
            ids["keyvault-vault"],
            `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-data-platform-dev/providers/Microsoft.KeyVault/vaults/dp-dev-95ac96`,
        );
        assert.equal(ids["credentials-pg-admin-kv"], `${ids["keyvault-vault"]}/secrets/pg-admin`);
        assert.equal(ids["platform-ns"], "data-platform");
        assert.deepEqual(YAML.parse(importsBlock(dev, SUBSCRIPTION)), { "data-platform:imports": ids });
        // The ids are the ones the mock provider gave each resource when it created it: the same shapes as ARM's
        // and pulumi-kubernetes' ids.
        for (const [name, id] of Object.entries(importIds(dev, MOCK_SUBSCRIPTION_ID))) {
            assert.equal(dev.resources.find((r) => r.name === name && r.custom)?.id, id, name);
        }
    });

    for (const stack of ["dev", "prod"]) {
        it(`${stack} re-created with that block imports every retained resource and creates the rest`, async () => {
            const before = stack === "dev" ? dev : prod;
            const ids = importIds(before, SUBSCRIPTION);
            const again = await runStack(stack, { "data-platform:imports": ids });
            for (const r of again.resources) {
                assert.equal(r.options.importId, r.custom ? ids[r.name] : undefined, r.urn);
            }
            if (stack === "prod") {
                assert.match(
                    byName(again, "azure-native:dbforpostgresql:Server", "postgres-server").options.importId!,
                    /flexibleServers\/[^/]+$/,
                );
            }
            // Nothing else changes: the same registrations with the same inputs.
            assert.deepEqual(
                again.resources.map((r) => [r.urn, r.inputs]),
                before.resources.map((r) => [r.urn, r.inputs]),
            );
        });
    }

    it("imports an existing vault and an existing Flexible Server given by id", async () => {
        const vault = `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-data-platform-prod/providers/Microsoft.KeyVault/vaults/${byName(prod, "azure-native:keyvault:Vault", "keyvault-vault").inputs.vaultName}`;
        const server = `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-data-platform-prod/providers/Microsoft.DBforPostgreSQL/flexibleServers/${byName(prod, "azure-native:dbforpostgresql:Server", "postgres-server").inputs.serverName}`;
        const run = await runStack("prod", {
            "data-platform:imports": { "keyvault-vault": vault, "postgres-server": server },
        });
        assert.equal(byName(run, "azure-native:keyvault:Vault", "keyvault-vault").options.importId, vault);
        assert.equal(byName(run, "azure-native:dbforpostgresql:Server", "postgres-server").options.importId, server);
        assert.equal(run.resources.filter((r) => r.options.importId !== undefined).length, 2);
    });

    it("refuses an id of another object, naming the key, the id given and the one expected", async () => {
        const other = `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-data-platform-dev/providers/Microsoft.KeyVault/vaults/someone-elses`;
        await assert.rejects(
            runStack("dev", { "data-platform:imports": { "keyvault-vault": other } }),
            new RegExp(
                `data-platform:imports\\.keyvault-vault: given "${other}"; allowed: the id of azure-native:keyvault:Vault keyvault-vault itself, /subscriptions/${SUBSCRIPTION}/resourceGroups/rg-data-platform-dev/providers/Microsoft\\.KeyVault/vaults/dp-dev-95ac96`,
            ),
        );
        await assert.rejects(
            runStack("dev", { "data-platform:imports": { "platform-ns": "other" } }),
            /data-platform:imports\.platform-ns: given "other"; allowed: the id of kubernetes:core\/v1:Namespace platform-ns itself, "data-platform"/,
        );
    });

    it("refuses a name that is no retained resource of the stack", async () => {
        await assert.rejects(
            runStack("dev", {
                "data-platform:imports": { "no-such-thing": "x", "eso-identity-uami": "y", "app-orders-reader": "z" },
            }),
            (err: Error) =>
                /data-platform:imports\.no-such-thing: given "x"; allowed: the name of a resource the stack retains on delete \(npm run imports lists them\); no resource of this stack has this name/.test(
                    err.message,
                ) &&
                /data-platform:imports\.eso-identity-uami: given "y"; .*azure-native:managedidentity:UserAssignedIdentity eso-identity-uami is not retained on delete/.test(
                    err.message,
                ) &&
                /data-platform:imports\.app-orders-reader: given "z"; .*; 2 resources have this name \(kubernetes:rbac\.authorization\.k8s\.io\/v1:Role, kubernetes:rbac\.authorization\.k8s\.io\/v1:RoleBinding\)/.test(
                    err.message,
                ),
        );
    });

    it("keyVault.recover creates the vault with createMode recover, which no later change of the key updates", async () => {
        const recovered = await runStack("dev", keyVaultOverride("dev", { recover: true }));
        const vault = byName(recovered, "azure-native:keyvault:Vault", "keyvault-vault");
        assert.equal(vault.inputs.properties.createMode, "recover");
        assert.deepEqual(vault.options.ignoreChanges, ["properties.createMode"]);
        const plain = byName(dev, "azure-native:keyvault:Vault", "keyvault-vault");
        assert.equal(plain.inputs.properties.createMode, undefined);
        assert.deepEqual(plain.options.ignoreChanges, []);
    });
});
