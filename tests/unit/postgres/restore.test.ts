/** `npm run restore`: the printed plan of a point-in-time restore of one application, per mode. */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { serverName } from "../../../components/postgres/azureSpec";
import { parseRestoreTime, renderRestorePlan, restorePlan } from "../../../components/postgres/restorePlan";
import { validateAgainstCrd } from "../../support/crdSchemas";
import { parseServer, parseStack, stackConfig } from "../../support/config";
import { postgresServerSettings } from "../../../components/postgres/servers";
import { DEFAULT_INSTANCE } from "../../../components/serviceModule";
import { byType, runStack } from "../../support/program";

const T = parseRestoreTime("2026-12-06T14:30:00Z", "--time", new Date("2026-12-07T00:00:00Z"));
const SUBSCRIPTION = "00000000-0000-0000-0000-000000000001";

/** dev with scheduled backups (dev has none: see the refusal below), as an override of its postgres section. */
function devBackups() {
    const postgres = JSON.parse(stackConfig("dev").config["data-platform:postgres"]) as Record<
        string,
        Record<string, unknown>
    >;
    return {
        "data-platform:postgres": {
            ...postgres,
            stackgres: {
                ...postgres.stackgres,
                backups: { storageAccount: "dpbackups", container: "pg-backups", accessKeySecretName: "pg-backup-key" },
            },
        },
    };
}

function devWithBackups() {
    return parseStack("dev", devBackups());
}

describe("restore plan (npm run restore)", () => {
    describe("--time", () => {
        const now = new Date("2026-12-07T00:00:00Z");
        it("takes ISO 8601 with Z or an offset, as users type it", () => {
            assert.equal(
                parseRestoreTime("2026-12-06T15:30+01:00", "--time", now).toISOString(),
                "2026-12-06T14:30:00.000Z",
            );
            assert.equal(
                parseRestoreTime("2026-12-06T14:30:00.250Z", "--time", now).toISOString(),
                "2026-12-06T14:30:00.250Z",
            );
        });
        for (const bad of [
            "2026-02-30T14:30:00Z",
            "2026-12-06 14:30",
            "2026-12-06T14:30:00",
            "yesterday",
            "2026-13-06T14:30:00Z",
            "1733495400",
        ]) {
            it(`refuses ${JSON.stringify(bad)}, naming the flag, the value and what is allowed`, () => {
                assert.throws(
                    () => parseRestoreTime(bad, "--time", now),
                    (err: Error) =>
                        err.message.startsWith(
                            `--time: ${JSON.stringify(bad)} is not an ISO 8601 time with its zone`,
                        ) && err.message.includes("2026-12-06T14:30:00Z"),
                );
            });
        }
        it("refuses a time in the future", () => {
            assert.throws(() => parseRestoreTime("2026-12-08T00:00:00Z", "--time", now), /--time: .* is in the future/);
        });
    });

    describe("azure (prod)", () => {
        const config = parseStack("prod");
        const plan = restorePlan(config, "orders", T, SUBSCRIPTION);
        const inputs = plan.restoredServer.inputs;

        it("restores the live server to a NEW Flexible Server at t", () => {
            assert.equal(plan.restoredServer.kind, "azure-native:dbforpostgresql:Server");
            assert.deepEqual(
                {
                    createMode: inputs.createMode,
                    pointInTimeUTC: inputs.pointInTimeUTC,
                    sourceServerResourceId: inputs.sourceServerResourceId,
                },
                {
                    createMode: "PointInTimeRestore",
                    pointInTimeUTC: "2026-12-06T14:30:00.000Z",
                    sourceServerResourceId:
                        `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-data-platform-prod/providers/` +
                        `Microsoft.DBforPostgreSQL/flexibleServers/${serverName(parseServer("prod"))}`,
                },
            );
            assert.equal(inputs.serverName, `${serverName(parseServer("prod"))}-r202612061430`);
            assert.ok(String(inputs.serverName).length <= 63);
        });

        it("leaves the live server alone: the program still has one server, named and configured as before", async () => {
            const servers = byType(await runStack("prod"), "azure-native:dbforpostgresql:Server");
            assert.equal(servers.length, 1);
            assert.equal(servers[0].inputs.serverName, serverName(parseServer("prod")));
            assert.equal(servers[0].inputs.createMode, undefined);
            assert.notEqual(inputs.serverName, servers[0].inputs.serverName);
            assert.deepEqual(
                inputs.network,
                servers[0].inputs.network,
                "the restored server joins the live one's network",
            );
        });

        it("prints the copy as the admin from the restored server into the live one, then the cleanup", () => {
            const text = renderRestorePlan(plan);
            const live = `PGHOST=${serverName(parseServer("prod"))}.postgres.database.azure.com PGPORT=5432 PGUSER=pgadmin PGSSLMODE=require`;
            const restored = `PGHOST=${inputs.serverName}.postgres.database.azure.com PGPORT=5432 PGUSER=pgadmin PGSSLMODE=require`;
            assert.ok(
                text.includes(`${restored} pg_dump --format=custom --file=/tmp/orders.dump --dbname=orders\n`),
                text,
            );
            assert.ok(
                text.includes(`${live} pg_restore --exit-on-error --no-owner --role=orders --dbname=orders_pitr`),
            );
            assert.ok(text.includes(`-c 'ALTER DATABASE "orders_pitr" RENAME TO "orders"'`));
            assert.ok(
                text.includes(
                    `${live} psql -X -v ON_ERROR_STOP=1 --dbname=postgres -c 'DROP DATABASE "orders_pre_pitr"'`,
                ),
            );
            assert.ok(
                text.includes(
                    `az postgres flexible-server delete --resource-group rg-data-platform-prod --name ${inputs.serverName}`,
                ),
            );
        });

        it("refuses an application the stack does not have, listing those it has", () => {
            assert.throws(
                () => restorePlan(config, "nope", T, SUBSCRIPTION),
                /--app: "nope" is not an application of stack prod; allowed: orders/,
            );
        });
    });

    describe("stackgres (dev)", () => {
        it("refuses a stack without backups: there is nothing to restore from", () => {
            assert.throws(
                () => restorePlan(parseStack("dev"), "orders", T, SUBSCRIPTION),
                /postgres\.stackgres\.backups unset/,
            );
        });

        const config = devWithBackups();
        const plan = restorePlan(config, "orders", T, SUBSCRIPTION);
        const cluster = plan.restoredServer.inputs as { metadata: { name: string }; spec: Record<string, any> };

        it("restores into a new SGCluster from a backup to t, which validates against the upstream CRD", () => {
            assert.deepEqual(validateAgainstCrd(cluster), []);
            assert.equal(
                cluster.metadata.name,
                `${postgresServerSettings(config.postgres, DEFAULT_INSTANCE).stackgres.clusterName}-pitr`,
            );
            assert.deepEqual(cluster.spec.initialData, {
                restore: {
                    fromBackup: {
                        name: "BACKUP",
                        pointInTimeRecovery: { restoreToTimestamp: "2026-12-06T14:30:00.000Z" },
                    },
                },
            });
        });

        it("backs the restored cluster up under a path of its own per restore, never the live cluster's", async () => {
            const ns = config.cluster.platformNamespace;
            assert.deepEqual(
                cluster.spec.configurations.backups.map((b: { path?: string }) => b.path),
                [`sgbackups.stackgres.io/${ns}/${cluster.metadata.name}/202612061430`],
            );
            const live = byType(await runStack("dev", devBackups()), "kubernetes:stackgres.io/v1:SGCluster");
            assert.equal(live.length, 1);
            assert.notEqual(live[0].inputs.metadata.name, cluster.metadata.name);
            assert.equal(live[0].inputs.spec.configurations.backups.length, 1);
            // The live cluster's path is the operator's default, made of its own name: no prefix of this one.
            assert.equal(live[0].inputs.spec.configurations.backups?.[0]?.path, undefined);
        });

        it("prints how to find the backup, the copy over the direct port as the superuser, and the cleanup", () => {
            const text = renderRestorePlan(plan);
            const ns = config.cluster.platformNamespace;
            const name = postgresServerSettings(config.postgres, DEFAULT_INSTANCE).stackgres.clusterName;
            assert.ok(text.includes(`kubectl -n ${ns} get sgbackup`), text);
            assert.ok(
                text.includes(
                    `PGHOST=${name}-pitr.${ns}.svc.cluster.local PGPORT=5433 PGUSER=postgres PGSSLMODE=require pg_dump`,
                ),
            );
            assert.ok(text.includes(`kubectl -n ${ns} delete sgcluster ${name}-pitr`));
        });
    });

    it("npm run restore exits 1 on a bad --time, naming it", () => {
        const root = path.resolve(__dirname, "..", "..", "..");
        const r = spawnSync(
            process.execPath,
            [
                require.resolve("ts-node/dist/bin.js"),
                "--transpile-only",
                "cli/restore.ts",
                "--stack",
                "prod",
                "--app",
                "orders",
                "--time",
                "2026-12-06",
            ],
            { cwd: root, encoding: "utf8" },
        );
        assert.equal(r.status, 1);
        assert.match(r.stderr, /--time: "2026-12-06" is not an ISO 8601 time with its zone/);
    });
});
