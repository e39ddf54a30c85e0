/**
 * The plan of a restore applied through the program (`RestoredServer` beside the live server), per mode and profile:
 * every check of the property tests (policy pack at the stack's config, upstream schemas, names, passwords) passes on
 * the stack with the restored server, and plan:diff from the stack without it shows one thing only: the restored
 * server added, the live server neither replaced nor changed.
 */
import { strict as assert } from "assert";
import { buildPlatform } from "../../../components/platform";
import { loadConfig } from "../../../components/config";
import { RestoredServer } from "../../../components/postgres/restoredServer";
import { parseRestoreTime, restorePlan } from "../../../components/postgres/restorePlan";
import { RunResult, runProgram } from "../../../offline/mockEngine";
import { toPlan } from "../../../offline/plan";
import { diffPlans, failsCheck, formatDiff } from "../../../offline/planDiff/diff";
import { mergeConfig } from "../../../offline/stackConfig";
import { Overrides, sectionOverride, stackConfig } from "../../support/config";
import { runStack } from "../../support/program";
import { runProblems } from "../../support/programChecks";

const T = parseRestoreTime("2026-12-06T14:30:00Z", "--time", new Date("2026-12-07T00:00:00Z"));
const SUBSCRIPTION = "00000000-0000-0000-0000-000000000001";
const BACKUPS = { storageAccount: "dpbackups", container: "pg-backups", accessKeySecretName: "pg-backup-key" };

/** The stack's postgres section in mode stackgres with scheduled backups. */
function stackGresWithBackups(stack: string): Overrides {
    const own = JSON.parse(stackConfig(stack).config["data-platform:postgres"]) as { stackgres?: object };
    return sectionOverride(stack, "postgres", {
        mode: "stackgres",
        stackgres: { ...own.stackgres, backups: { ...BACKUPS, retention: 7 } },
    });
}

/** The stack's program with application `app` restored to T beside it. */
function runWithRestore(stack: string, overrides: Overrides, app: string): Promise<RunResult> {
    const { config, secretKeys } = mergeConfig(stackConfig(stack), overrides);
    return runProgram({
        stack,
        config,
        secretKeys,
        program: async () => {
            const loaded = loadConfig();
            const outputs = await buildPlatform(loaded);
            new RestoredServer(`restore-${app}`, {
                plan: restorePlan(loaded.config, app, T, SUBSCRIPTION),
                protect: loaded.config.protect,
            });
            return outputs;
        },
    });
}

const CASES: ReadonlyArray<{ title: string; stack: string; overrides: Overrides; restoredType: string }> = [
    {
        title: "azure, production (prod)",
        stack: "prod",
        overrides: {},
        restoredType: "azure-native:dbforpostgresql:Server",
    },
    {
        title: "stackgres, production (prod in mode stackgres)",
        stack: "prod",
        overrides: stackGresWithBackups("prod"),
        restoredType: "kubernetes:stackgres.io/v1:SGCluster",
    },
    {
        title: "stackgres, development (dev with backups)",
        stack: "dev",
        overrides: stackGresWithBackups("dev"),
        restoredType: "kubernetes:stackgres.io/v1:SGCluster",
    },
];

describe("a restore's plan through the policy pack, the upstream schemas and plan:diff", () => {
    for (const { title, stack, overrides, restoredType } of CASES) {
        describe(title, () => {
            let live: RunResult;
            let restored: RunResult;
            before(async () => {
                live = await runStack(stack, overrides);
                restored = await runWithRestore(stack, overrides, "orders");
            });

            it("passes every check of the property tests: mandatory policies, CRD/kubernetes schemas, names", async () => {
                assert.deepEqual(await runProblems(stack, restored), []);
            });

            it("plan:diff: the restored server is added; nothing of the live stack is replaced, changed or removed", () => {
                const diff = diffPlans(toPlan(live), toPlan(restored));
                const text = formatDiff(diff, `${stack} + restore`);
                assert.deepEqual(diff.removed, [], text);
                assert.deepEqual(diff.changed, [], text);
                assert.equal(failsCheck(diff), false, text);
                assert.deepEqual(
                    diff.added.map((r) => r.type).sort(),
                    ["data-platform:postgres:RestoredServer", restoredType].sort(),
                    text,
                );
                const [server] = diff.added.filter((r) => r.type === restoredType);
                const liveServers = live.resources.filter((r) => r.type === restoredType);
                assert.equal(liveServers.length, 1);
                const name = (inputs: Record<string, any>) => inputs.serverName ?? inputs.metadata?.name;
                assert.notEqual(name(server.inputs), name(liveServers[0].inputs));
                assert.equal(server.options.retainOnDelete, true);
            });
        });
    }
});
