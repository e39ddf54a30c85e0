/**
 * Scheduled exports of one application (`apps[].backup`) in the recorded program: the CronJob in the application's
 * namespace dumps with the application's own login (its Secret's libpq keys, nothing else), uploads as a writer
 * identity of its own that may reach only `postgres/<app>/` of the container, and the stack passes every check of the
 * property tests (the CronJob validated by kubernetes-models, the policy pack at prod's config).
 */
import { strict as assert } from "assert";
import { containerScope, prefixCondition } from "../../../components/backup/blob";
import { EXPORT_ENV_KEYS } from "../../../components/postgres/export";
import type { RecordedResource, RunResult } from "../../../offline/mockEngine";
import { Overrides, problemLines, stackConfig } from "../../support/config";
import { byType, runStack } from "../../support/program";
import { runProblems } from "../../support/programChecks";

const BACKUPS = {
    storageAccountId:
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-backups/providers/Microsoft.Storage/storageAccounts/dpbackups",
    container: "exports",
};

/** prod's applications, `orders` and `billing` exporting. */
function exporting(backups: object | null = BACKUPS): Overrides {
    const apps = JSON.parse(stackConfig("prod").config["data-platform:apps"]) as Array<{ name: string }>;
    return {
        "data-platform:apps": apps.map((a) =>
            ["orders", "billing"].includes(a.name) ? { ...a, backup: { schedule: "30 2 * * *", retention: 14 } } : a,
        ),
        ...(backups ? { "data-platform:backups": backups } : {}),
    };
}

const count = (run: RunResult, type: string) => byType(run, type).length;

describe("scheduled exports of an application (apps[].backup)", () => {
    let plain: RunResult;
    let run: RunResult;
    let cronJobs: RecordedResource[];
    before(async () => {
        plain = await runStack("prod");
        run = await runStack("prod", exporting());
        cronJobs = byType(run, "kubernetes:batch/v1:CronJob");
    });

    it("passes every check of the property tests (CronJob schema, mandatory policies, names, passwords)", async () => {
        assert.deepEqual(await runProblems("prod", run), []);
    });

    it("one CronJob per exporting application, in its own namespace, dumping with its own login's contract keys", () => {
        assert.deepEqual(cronJobs.map((c) => [c.inputs.metadata.namespace, c.inputs.metadata.name]).sort(), [
            ["billing", "billing-pg-export"],
            ["orders", "orders-pg-export"],
        ]);
        const orders = cronJobs.find((c) => c.inputs.metadata.namespace === "orders")!;
        const pod = orders.inputs.spec.jobTemplate.spec.template.spec;
        const [dump] = pod.initContainers;
        assert.deepEqual(
            dump.env.map((e: any) => [e.name, e.valueFrom.secretKeyRef.name, e.valueFrom.secretKeyRef.key]),
            EXPORT_ENV_KEYS.map((key) => [key, "orders-data", key]),
            "only libpq's keys, from the application's own Secret",
        );
        assert.equal(dump.command[0], "pg_dump");
        assert.equal(orders.inputs.spec.schedule, "30 2 * * *");
        const upload = pod.containers[0];
        const env = Object.fromEntries(upload.env.map((e: any) => [e.name, e.value]));
        assert.deepEqual(
            { PREFIX: env.PREFIX, KEEP: env.KEEP, BLOB_ENDPOINT: env.BLOB_ENDPOINT, CONTAINER: env.CONTAINER },
            {
                PREFIX: "postgres/orders/",
                KEEP: "14",
                BLOB_ENDPOINT: "https://dpbackups.blob.core.windows.net",
                CONTAINER: "exports",
            },
        );
        assert.equal(pod.serviceAccountName, "data-platform-backup");
        assert.equal(pod.automountServiceAccountToken, false);
        assert.equal(
            orders.inputs.spec.jobTemplate.spec.template.metadata.labels["azure.workload.identity/use"],
            "true",
        );
        const text = JSON.stringify(orders.inputs);
        assert.ok(!/pgadmin|postgres-admin|storageKey|AccountKey/i.test(text), "no admin login, no storage key");
    });

    it("uploads as an identity of its own, federated with the Job's service account only, writing under its prefix only", () => {
        const sa = byType(run, "kubernetes:core/v1:ServiceAccount").find(
            (s) => s.inputs.metadata.namespace === "orders" && s.inputs.metadata.name === "data-platform-backup",
        )!;
        assert.equal(sa.inputs.automountServiceAccountToken, false);
        assert.ok(sa.inputs.metadata.annotations["azure.workload.identity/client-id"]);
        const fic = byType(run, "azure-native:managedidentity:FederatedIdentityCredential").filter((f) =>
            String(f.inputs.resourceName).endsWith("-backup-app-orders"),
        );
        assert.deepEqual(
            fic.map((f) => f.inputs.subject),
            ["system:serviceaccount:orders:data-platform-backup"],
        );
        const grants = byType(run, "azure-native:authorization:RoleAssignment").filter((g) =>
            String(g.inputs.description).startsWith("Backups write"),
        );
        assert.equal(grants.length, 2);
        const orders = grants.find((g) => g.inputs.condition.includes("'postgres/orders/'"))!;
        assert.equal(orders.inputs.scope, containerScope(BACKUPS));
        assert.match(orders.inputs.roleDefinitionId, /ba92f5b4-2d11-453d-a403-e96b0029c9fe$/);
        assert.equal(orders.inputs.condition, prefixCondition("postgres/orders/"));
        assert.equal(orders.inputs.conditionVersion, "2.0");
    });

    it("adds per exporting application one identity, one federated credential and one role assignment, nothing else in Azure", () => {
        for (const type of [
            "azure-native:managedidentity:UserAssignedIdentity",
            "azure-native:managedidentity:FederatedIdentityCredential",
            "azure-native:authorization:RoleAssignment",
        ]) {
            assert.equal(count(run, type) - count(plain, type), 2, type);
        }
        const azure = (r: RunResult) => r.resources.filter((x) => x.type.startsWith("azure-native:")).length;
        assert.equal(azure(run) - azure(plain), 6);
    });

    it("the condition keeps every data action of the role under the prefix, listing included", () => {
        const c = prefixCondition("postgres/orders/");
        for (const action of [
            "read'} AND NOT SubOperationMatches{'Blob.List'",
            "write",
            "add/action",
            "move/action",
            "delete",
        ]) {
            assert.ok(c.includes(`containers/blobs/${action}`), action);
        }
        assert.ok(
            c.includes(
                "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] StringStartsWith 'postgres/orders/'",
            ),
        );
        assert.ok(
            c.includes(
                "@Request[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:prefix] StringStartsWith 'postgres/orders/'",
            ),
        );
        assert.throws(() => prefixCondition("postgres/o'rders/"), /must be lower-case words/);
    });

    it("dumps with the client image of the application's own server (pg_dump refuses a newer major)", async () => {
        const postgres = JSON.parse(stackConfig("prod").config["data-platform:postgres"]);
        const apps = exporting()["data-platform:apps"] as Array<Record<string, unknown>>;
        const named = await runStack("prod", {
            ...exporting(),
            "data-platform:postgres": {
                ...postgres,
                servers: { reports: { ...postgres, version: "17", clientImage: "postgres:17.6-alpine3.22" } },
            },
            "data-platform:apps": apps.map((a) =>
                a.name === "billing" ? { ...a, postgres: { server: "reports" } } : a,
            ),
        });
        const image = (namespace: string) =>
            byType(named, "kubernetes:batch/v1:CronJob").find((c) => c.inputs.metadata.namespace === namespace)!.inputs
                .spec.jobTemplate.spec.template.spec.initContainers[0].image;
        assert.equal(image("billing"), "postgres:17.6-alpine3.22");
        assert.equal(image("orders"), "postgres:16.10-alpine3.22");
    });

    it("the config refuses an export without backups, naming the key", () => {
        assert.deepEqual(problemLines("prod", exporting(null)), [
            'data-platform:apps[0].backup: given {"schedule":"30 2 * * *","retention":14}; allowed: unset while data-platform:backups (the Blob container the exports go to) is unset',
            'data-platform:apps[1].backup: given {"schedule":"30 2 * * *","retention":14}; allowed: unset while data-platform:backups (the Blob container the exports go to) is unset',
        ]);
    });

    it("the config refuses a storage account id or container Azure would not take", () => {
        const lines = problemLines("prod", exporting({ storageAccountId: "dpbackups", container: "Exports" }));
        assert.deepEqual(
            lines.map((l) => l.split(";")[0]),
            [
                'data-platform:backups.storageAccountId: given "dpbackups"',
                'data-platform:backups.container: given "Exports"',
            ],
        );
    });
});
