/**
 * Azure's counted limits (components/limits.ts): the config's count of role assignments, identities per resource group
 * and federated credentials equals what the program registers, and a stack one past a limit is refused naming the key,
 * the count, the limit and its source, while one at the limit is accepted.
 */
import { strict as assert } from "assert";
import type { RunResult } from "../../../offline/mockEngine";
import { generatedStack } from "../../../offline/generatedStack";
import { LIMITS, azureFootprint } from "../../../components/limits";
import { MAX_APPS } from "../../../components/config/platform";
import { parseConfig } from "../../../components/config";
import { parseStack, problemLines, sectionOverride } from "../../support/config";
import { runStack } from "../../support/program";
import { generateEnvironment, runEnvironment } from "../../../offline/tenantEnvironment";
import { stackFootprints } from "../../../offline/environmentLimits";

const BACKUPS = {
    storageAccountId:
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-backups/providers/Microsoft.Storage/storageAccounts/dpbackups",
    container: "exports",
};

/** Prod's sections, which a named server or group copies (it inherits nothing). */
const PROD_REDIS = sectionOverride("prod", "redis", {})["data-platform:redis"] as Record<string, unknown>;
const PROD_POSTGRES = sectionOverride("prod", "postgres", {})["data-platform:postgres"] as Record<string, unknown>;
/** A server of 5,000 connections (Azure's most, its SKU's default) and Redis groups of 1,000 databases. */
const SERVER = {
    ...PROD_POSTGRES,
    maxConnections: 5000,
    azure: { ...(PROD_POSTGRES.azure as object), skuName: "Standard_D16ds_v5" },
};
const PER_GROUP = 1000;
/** Applications per server: their logins stay well inside the login Job's ConfigMap. */
const PER_SERVER = 300;

/** `count` applications over named servers and groups; the first `exporting` with a scheduled export. */
function apps(count: number, exporting = 0) {
    return Array.from({ length: count }, (_, i) => ({
        name: `a${i}`,
        namespace: `a${i}`,
        redisDb: 1 + (i % PER_GROUP),
        redis: { group: `g${Math.floor(i / PER_GROUP)}` },
        postgres: { server: `s${Math.floor(i / PER_SERVER)}` },
        poolSize: 1,
        replicas: 1,
        ...(i < exporting ? { backup: { schedule: "0 3 * * *" } } : {}),
    }));
}

/** Prod with `count` applications (as `apps`), the servers and groups they name, backups configured. */
function many(count: number, exporting = 0, groupSettings: Record<string, unknown> = {}) {
    const named = (per: number, prefix: string, settings: object) =>
        Object.fromEntries(Array.from({ length: Math.ceil(count / per) }, (_, i) => [`${prefix}${i}`, settings]));
    return {
        "data-platform:apps": apps(count, exporting),
        "data-platform:backups": BACKUPS,
        "data-platform:redis": {
            ...PROD_REDIS,
            groups: named(PER_GROUP, "g", { ...PROD_REDIS, databases: PER_GROUP + 1, ...groupSettings }),
        },
        "data-platform:postgres": { ...PROD_POSTGRES, servers: named(PER_SERVER, "s", SERVER) },
    };
}

/** `many` with each application's identities in resource group `groupOf(index)` (undefined: the stack's). */
function spread(count: number, exporting: number, groupOf: (i: number) => string | undefined) {
    return {
        ...many(count, exporting),
        "data-platform:apps": apps(count, exporting).map((app, i) => {
            const group = groupOf(i);
            return group === undefined ? app : { ...app, identityResourceGroupName: group };
        }),
    };
}

function counted(run: RunResult) {
    const of = (type: string) => run.resources.filter((r) => r.type === `azure-native:${type}`);
    const byGroup = new Map<string, number>();
    for (const identity of of("managedidentity:UserAssignedIdentity")) {
        const group = String(identity.inputs.resourceGroupName);
        byGroup.set(group, (byGroup.get(group) ?? 0) + 1);
    }
    const perIdentity = new Map<string, number>();
    for (const fic of of("managedidentity:FederatedIdentityCredential")) {
        perIdentity.set(String(fic.parent), (perIdentity.get(String(fic.parent)) ?? 0) + 1);
    }
    return {
        roleAssignments: of("authorization:RoleAssignment").length,
        identitiesByResourceGroup: byGroup,
        mostFederatedCredentials: Math.max(...perIdentity.values()),
    };
}

describe("Azure's counted limits", function () {
    this.timeout(300_000);

    for (const [what, stack, overrides] of [
        ["dev", "dev", {}],
        ["prod", "prod", {}],
        [
            "prod with 40 applications, 10 exporting, 15 in another identity group, a backed-up group",
            "prod",
            {
                ...spread(40, 10, (i) => (i >= 25 ? "rg-ids-2" : undefined)),
                "data-platform:redis": many(40, 10, { backup: { schedule: "0 4 * * *" } })["data-platform:redis"],
            },
        ],
    ] as const) {
        it(`counts what the program registers: ${what}`, async () => {
            const expected = azureFootprint(parseStack(stack, overrides));
            const run = await runStack(stack, overrides);
            assert.deepEqual(counted(run), expected);
        });
    }

    it("counts what the program registers: generated prod of 120 applications over servers and groups", async () => {
        const { config, secretKeys } = generatedStack(120);
        const { runProgram } = await import("../../../offline/mockEngine");
        const run = await runProgram({ stack: "prod", config, secretKeys });
        assert.deepEqual(counted(run), azureFootprint(parseConfig(config, "prod", secretKeys)));
    });

    it("counts what the program registers: a platform and its tenant stacks over servers and groups (their Sentinel client grants, their login Jobs' and users files' grants to the platform store)", async () => {
        const env = generateEnvironment({ apps: 40, tenants: 2, spread: true });
        const { platform, tenants } = await runEnvironment(env);
        const footprints = stackFootprints({ [env.platform.stack]: env.platform.config, ...env.tenants });
        const runs: Record<string, RunResult> = { [env.platform.stack]: platform, ...tenants };
        assert.deepEqual(Object.keys(runs).sort(), footprints.map((f) => f.stack).sort());
        for (const { stack, footprint } of footprints) {
            assert.deepEqual(counted(runs[stack]), footprint, stack);
        }
    });

    it(`accepts ${MAX_APPS} applications (the schema's cap) and refuses one more naming the cap`, () => {
        // Past 800 identities in one group: each application's identities in a group of its 700.
        const at = (n: number) => spread(n, 0, (i) => `rg-ids-${Math.floor(i / 700)}`);
        assert.equal(parseStack("prod", at(MAX_APPS)).apps.length, MAX_APPS);
        const lines = problemLines("prod", at(MAX_APPS + 1));
        assert.equal(lines.length, 1, lines.join("\n"));
        assert.match(
            lines[0],
            /^data-platform:apps: given "2001 items"; allowed: a list \(1 to 2000 items\) of an object/,
        );
    });

    it("refuses a 4,001st role assignment naming the key, the count, the limit and its source; accepts 4,000", () => {
        // Each exporting application adds an identity and a role assignment; platform grants are counted too.
        const at = (count: number, exporting: number) =>
            spread(count, exporting, (i) => `rg-ids-${Math.floor(i / 350)}`);
        const base = azureFootprint(parseStack("prod", at(MAX_APPS, 0))).roleAssignments;
        const exporting = LIMITS.roleAssignments.max - base;
        const accepted = azureFootprint(parseStack("prod", at(MAX_APPS, exporting)));
        assert.equal(accepted.roleAssignments, LIMITS.roleAssignments.max);
        const lines = problemLines("prod", at(MAX_APPS, exporting + 1));
        assert.deepEqual(lines, [
            `data-platform:apps: given "2000 applications (4001 role assignments)"; allowed: at most 4000 role assignments: ` +
                `${LIMITS.roleAssignments.source}; one per application, one more per exporting application (apps[].backup) ` +
                "and the platform store's; fewer applications or exports in this subscription (other stacks and assignments count too)",
        ]);
    });

    it("refuses an 801st identity in one resource group naming the group; accepts 800, and the same apps spread", () => {
        // The platform store's identity and 799 applications' are 800.
        assert.equal(
            azureFootprint(parseStack("prod", many(799))).identitiesByResourceGroup.get("rg-data-platform-prod"),
            800,
        );
        const lines = problemLines("prod", many(800));
        assert.deepEqual(lines, [
            `data-platform:azure.resourceGroupName: given "rg-data-platform-prod (801 user-assigned identities)"; ` +
                `allowed: at most 800 user-assigned identities: ${LIMITS.identitiesPerResourceGroup.source}; place ` +
                "applications' identities in other resource groups (apps[].identityResourceGroupName)",
        ]);
        const inOther = problemLines(
            "prod",
            spread(801, 0, () => "rg-ids"),
        );
        assert.match(inOther[0], /^data-platform:apps\[\]\.identityResourceGroupName: given "rg-ids \(801 user-/);
        const halves = spread(800, 0, (i) => (i % 2 === 0 ? "rg-ids" : undefined));
        assert.equal(parseStack("prod", halves).apps.length, 800);
    });
});
