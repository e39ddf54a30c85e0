/**
 * `redis.backup` in the recorded program: per group a CronJob in the platform namespace that copies the RDB as the ACL
 * user `backup` (its rules, its password file and the clients' discovery password only) and uploads it under
 * `redis/<group>/` as the group's own writer identity; the stack passes every check of the property tests. A group
 * without it renders nothing new (dev and prod plans are byte-identical).
 */
import { strict as assert } from "assert";
import { containerScope, prefixCondition } from "../../../components/backup/blob";
import { renderDataAcl } from "../../../components/redis/acl";
import { renderRedisRestorePlan, renderRestoreRdbScript, restorePod } from "../../../components/redis/restore";
import { Pod } from "kubernetes-models/v1";
import { spawnSync } from "child_process";
import * as path from "path";
import type { RunResult } from "../../../offline/mockEngine";
import { parseStack, problemLines, sectionOverride } from "../../support/config";
import { byType, runStack } from "../../support/program";
import { runProblems } from "../../support/programChecks";
import { testPasswords } from "../../support/redis";

const BACKUPS = {
    storageAccountId:
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-backups/providers/Microsoft.Storage/storageAccounts/dpbackups",
    container: "exports",
};
const SCHEDULE = { schedule: "15 * * * *", retention: 24 };

/** prod's default group and a named standalone group `caches` (its own application), both backed up. */
function backedUp(backups: object | null = BACKUPS) {
    const { groups: _none, ...own } = parseStack("prod").redis;
    return {
        "data-platform:redis": {
            ...own,
            backup: SCHEDULE,
            groups: {
                caches: { mode: "standalone", tls: true, tlsCaCert: own.tlsCaCert, backup: { schedule: "0 4 * * *" } },
            },
        },
        "data-platform:apps": [
            ...parseStack("prod").apps.map(({ name, namespace, redisDb }) => ({ name, namespace, redisDb })),
            { name: "cache", namespace: "cache", redisDb: 1, redis: { group: "caches" } },
        ],
        ...(backups ? { "data-platform:backups": backups } : {}),
    };
}

describe("Redis RDB backups (redis.backup)", () => {
    let run: RunResult;
    before(async () => {
        run = await runStack("prod", backedUp());
    });
    const cronJob = (name: string) =>
        byType(run, "kubernetes:batch/v1:CronJob").find((c) => c.inputs.metadata.name === name)!;

    it("passes every check of the property tests (CronJob schema, mandatory policies, names, passwords)", async () => {
        assert.deepEqual(await runProblems("prod", run), []);
    });

    it("a CronJob per group in the platform namespace, copying with the backup user's and the discovery password only", () => {
        const job = cronJob("redis-backup");
        assert.equal(job.inputs.metadata.namespace, "data-platform");
        const pod = job.inputs.spec.jobTemplate.spec.template.spec;
        assert.equal(pod.serviceAccountName, "redis-backup");
        const auth = pod.volumes.find((v: any) => v.name === "auth").secret;
        assert.deepEqual(
            { secret: auth.secretName, keys: auth.items.map((i: any) => i.key) },
            { secret: "redis-auth", keys: ["backup-password", "sentinel-client-password"] },
        );
        const env = Object.fromEntries(pod.initContainers[0].env.map((e: any) => [e.name, e.value]));
        assert.equal(env.MASTER_NAME, "redis-primary");
        assert.equal(env.SENTINELS.split(" ").length, 3);
        assert.equal(env.TLS, "yes");
        const upload = Object.fromEntries(pod.containers[0].env.map((e: any) => [e.name, e.value]));
        assert.deepEqual([upload.PREFIX, upload.KEEP, upload.SUFFIX], ["redis/default/", "24", ".rdb"]);

        const caches = cronJob("redis-caches-backup").inputs.spec.jobTemplate.spec.template.spec;
        const cachesEnv = Object.fromEntries(caches.initContainers[0].env.map((e: any) => [e.name, e.value]));
        assert.equal(cachesEnv.DATA_HOST, "redis-caches.data-platform.svc.cluster.local");
        assert.equal(cachesEnv.SENTINELS, undefined);
        assert.deepEqual(
            caches.volumes.find((v: any) => v.name === "auth").secret.items.map((i: any) => i.key),
            ["backup-password"],
        );
    });

    it("the backup password reaches redis-auth, and each group's NetworkPolicies admit its backup pods", () => {
        const auth = byType(run, "kubernetes:external-secrets.io/v1:ExternalSecret").find(
            (e) => e.inputs.metadata.name === "redis-auth",
        )!;
        assert.ok(auth.inputs.spec.data.some((d: any) => d.secretKey === "backup-password"));
        for (const name of ["redis", "redis-sentinel", "redis-caches"]) {
            const policy = byType(run, "kubernetes:networking.k8s.io/v1:NetworkPolicy").find(
                (p) => p.inputs.metadata.name === name,
            )!;
            const group = name === "redis-caches" ? "redis-caches" : "redis";
            assert.ok(
                policy.inputs.spec.ingress[0].from.some(
                    (f: any) =>
                        f.podSelector?.matchLabels?.["app.kubernetes.io/component"] === "backup" &&
                        f.podSelector.matchLabels["app.kubernetes.io/name"] === group,
                ),
                name,
            );
        }
    });

    it("uploads as each group's own identity, federated with its Job's service account, writing under its prefix only", () => {
        const fic = byType(run, "azure-native:managedidentity:FederatedIdentityCredential").filter((f) =>
            /-backup-redis(-caches)?$/.test(String(f.inputs.resourceName)),
        );
        assert.deepEqual(fic.map((f) => f.inputs.subject).sort(), [
            "system:serviceaccount:data-platform:redis-backup",
            "system:serviceaccount:data-platform:redis-caches-backup",
        ]);
        const grants = byType(run, "azure-native:authorization:RoleAssignment").filter((g) =>
            String(g.inputs.description).startsWith("Backups write redis/"),
        );
        assert.deepEqual(grants.map((g) => g.inputs.condition).sort(), [
            prefixCondition("redis/caches/"),
            prefixCondition("redis/default/"),
        ]);
        assert.ok(grants.every((g) => g.inputs.scope === containerScope(BACKUPS)));
    });

    it("renders the backup user (SYNC and REPLCONF only) on the data nodes only when the group is backed up", () => {
        const config = parseStack("prod", backedUp());
        assert.ok(config.redis.backup);
        const withBackup = renderDataAcl("sentinel", config.apps, testPasswords(config));
        assert.match(withBackup, /^user backup on #[0-9a-f]{64} resetchannels -@all \+sync \+replconf$/m);
        const plain = parseStack("prod");
        assert.doesNotMatch(renderDataAcl("sentinel", plain.apps, testPasswords(plain)), /^user backup /m);
    });

    it("the config refuses redis.backup without backups, and a group named backup", () => {
        assert.deepEqual(
            problemLines("prod", backedUp(null)).map((l) => l.split(";")[0]),
            [
                'data-platform:redis.backup: given {"schedule":"15 * * * *","retention":24}',
                'data-platform:redis.groups.caches.backup: given {"schedule":"0 4 * * *","retention":7}',
            ],
        );
        const lines = problemLines("prod", sectionOverride("prod", "redis", { groups: { backup: {} } }));
        assert.match(lines.join("\n"), /data-platform:redis\.groups: given "backup"; allowed: a group name other than/);
    });

    describe("npm run restore -- --redis-group: the printed restore of a group from one of its copies", () => {
        const config = parseStack("prod", backedUp());
        const blob = "redis/default/20261206T031500Z.rdb";
        const plan = renderRedisRestorePlan(config, "default", blob);

        it("downloads the copy, stops the data nodes, restores every node's volume with restore-rdb.sh, starts them", () => {
            const order = [
                `az storage blob download --auth-mode login --account-name dpbackups --container-name exports --name ${blob} --file dump.rdb`,
                "kubectl -n data-platform scale statefulset redis --replicas=0",
                ...[0, 1, 2].flatMap((i) => [
                    `"claimName": "data-redis-${i}"`,
                    `kubectl -n data-platform cp dump.rdb redis-restore-${i}:/data/restore.rdb`,
                    `kubectl -n data-platform exec -i redis-restore-${i} -- env DATA_DIR=/data RDB_FILE=/data/restore.rdb sh -s <<'RESTORE'\n${renderRestoreRdbScript()}RESTORE`,
                ]),
                "kubectl -n data-platform scale statefulset redis --replicas=3",
            ];
            let at = 0;
            for (const line of order) {
                const found = plan.indexOf(line, at);
                assert.ok(found >= 0, `${line}\nnot found after ${at} in\n${plan}`);
                at = found;
            }
        });

        it("each restore pod is a valid Pod under the restricted standard, mounting its node's claim", () => {
            const pod = restorePod(config.redis, "data-platform", 1);
            new Pod(pod as ConstructorParameters<typeof Pod>[0]).validate();
            assert.equal(pod.spec.securityContext.runAsNonRoot, true);
            assert.deepEqual(pod.spec.containers[0].securityContext.capabilities, { drop: ["ALL"] });
        });

        it("refuses an unknown group, a group not backed up and a copy of another group, naming the flag", () => {
            assert.throws(
                () => renderRedisRestorePlan(config, "nope", blob),
                /--redis-group: "nope" is not a group of stack prod; allowed: default, caches/,
            );
            assert.throws(
                () => renderRedisRestorePlan(config, "caches", blob),
                /--backup: "redis\/default\/20261206T031500Z.rdb" is not a copy of group caches; allowed: redis\/caches\/<time>.rdb/,
            );
            assert.throws(
                () => renderRedisRestorePlan(parseStack("prod"), "default", blob),
                /not backed up \(redis.backup unset\)/,
            );
        });

        it("npm run restore exits 1 for a stack whose group is not backed up, naming it", () => {
            const r = spawnSync(
                process.execPath,
                [
                    require.resolve("ts-node/dist/bin.js"),
                    "--transpile-only",
                    "cli/restore.ts",
                    "--stack",
                    "prod",
                    "--redis-group",
                    "default",
                    "--backup",
                    blob,
                ],
                { cwd: path.resolve(__dirname, "..", "..", ".."), encoding: "utf8" },
            );
            assert.equal(r.status, 1, r.stderr);
            assert.match(r.stderr, /Redis group default of stack prod is not backed up/);
        });
    });
});
