/**
 * The preview identity's ClusterRole (README "Setting up the repository"): it reads every kind the program manages and
 * grants nothing else: no Secrets, no write verb, no wildcard, no non-resource URL.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { ClusterRole } from "kubernetes-models/rbac.authorization.k8s.io/v1";
import {
    PREVIEW_READER_ROLE,
    READ_VERBS,
    previewReaderClusterRole,
    renderPreviewReader,
} from "../../../components/previewAccess";
import type { RunResult } from "../../../offline/mockEngine";
import { isManifest } from "../../../offline/plan";
import { stackConfig } from "../../support/config";
import { runStack } from "../../support/program";

/** `kubernetes:<group>/<version>:<Kind>` as the API group and resource (plural) a role names it by. */
function groupAndResource(type: string): [string, string] {
    const [, groupVersion, kind] = /^kubernetes:(.+):([A-Za-z]+)$/.exec(type) ?? [];
    const group = groupVersion.split("/")[0];
    const lower = kind.replace(/Patch$/, "").toLowerCase();
    const plural = lower.endsWith("y") ? `${lower.slice(0, -1)}ies` : `${lower}s`;
    return [group === "core" ? "" : group, plural];
}

/** dev with StackGres backups (an SGObjectStorage), which neither stack file has. */
function devWithBackups() {
    const postgres = JSON.parse(stackConfig("dev").config["data-platform:postgres"]);
    const backups = { storageAccount: "dpbackups", container: "pg-backups", accessKeySecretName: "pg-backup-key" };
    return { "data-platform:postgres": { ...postgres, stackgres: { ...postgres.stackgres, backups } } };
}

/** prod with an application's export and its Redis group's copy (CronJobs), which neither stack file has. */
function prodWithExports() {
    const apps = JSON.parse(stackConfig("prod").config["data-platform:apps"]);
    const redis = JSON.parse(stackConfig("prod").config["data-platform:redis"]);
    const schedule = { schedule: "0 3 * * *" };
    return {
        "data-platform:backups": {
            storageAccountId:
                "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-backups/providers/Microsoft.Storage/storageAccounts/dpbackups",
            container: "exports",
        },
        "data-platform:apps": [{ ...apps[0], backup: schedule }, ...apps.slice(1)],
        "data-platform:redis": { ...redis, backup: schedule },
    };
}

describe("the preview identity's ClusterRole", () => {
    const role = previewReaderClusterRole();
    let runs: RunResult[];
    before(async () => {
        runs = await Promise.all([
            runStack("dev"),
            runStack("prod"),
            runStack("dev", devWithBackups()),
            runStack("prod", prodWithExports()),
        ]);
    });

    it("is a valid ClusterRole", () => {
        new ClusterRole(role as any).validate();
        assert.equal(role.metadata.name, PREVIEW_READER_ROLE);
    });

    it("grants no Secrets, no write verb, no wildcard and no non-resource URL", () => {
        for (const rule of role.rules) {
            assert.ok(!rule.resources.includes("secrets"), "no secrets");
            assert.ok(!rule.resources.some((r) => r.includes("*") || r.includes("/")), "no wildcard, no subresource");
            assert.ok(!rule.apiGroups.includes("*"), "no wildcard group");
            assert.deepEqual(rule.verbs, [...READ_VERBS]);
            assert.ok(!("nonResourceURLs" in rule) && !("resourceNames" in rule));
        }
        assert.deepEqual(
            [...new Set(role.rules.flatMap((r) => r.verbs))].sort(),
            ["get", "list", "watch"],
            "nothing else (create, update, patch, delete, deletecollection, impersonate, bind, escalate)",
        );
    });

    it("reads every kind the program registers in dev, prod, dev with StackGres backups and prod with exports, and no more", () => {
        const registered = new Set(
            runs.flatMap((run) => run.resources.filter(isManifest).map((r) => groupAndResource(r.type).join("/"))),
        );
        const granted = new Set(role.rules.flatMap((r) => r.resources.map((res) => `${r.apiGroups[0]}/${res}`)));
        assert.deepEqual([...registered].sort(), [...granted].sort());
        assert.ok(!registered.has("/secrets"), "the program registers no Secret itself (External Secrets writes them)");
    });

    it("is the one the README shows (npm run docs:readme), as YAML that reads back as the role", () => {
        const readme = fs.readFileSync(path.resolve(__dirname, "..", "..", "..", "README.md"), "utf8");
        const shown = renderPreviewReader();
        assert.ok(readme.includes(shown));
        assert.deepEqual(YAML.parse(shown.split("\n").slice(1, -1).join("\n")), role);
    });
});
