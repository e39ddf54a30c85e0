/**
 * Azure's limits across an environment (issue 26 items 3, 7): a platform stack and its tenant stacks share one
 * subscription's 4,000 role assignments and each resource group's 800 user-assigned identities, which no stack's own
 * check sees whole. `npm run stacks` sums the stack files' footprints (offline/environmentLimits.ts): generated
 * environments written as stack files, one that fits, one past each limit.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LIMITS, environmentLimitProblems, environmentUse } from "../../../components/limits";
import { repositoryFootprints } from "../../../offline/environmentLimits";
import {
    type EnvironmentShape,
    generateEnvironment,
    writePlatformFile,
    writeTenantFiles,
} from "../../../offline/tenantEnvironment";

describe("tenant stacks: Azure's limits across the environment (npm run stacks)", function () {
    this.timeout(120_000);
    const dirs: string[] = [];
    /** A generated environment's stack files (a platform of prod's settings, its tenants) in a directory of its own. */
    function written(shape: EnvironmentShape, edit: (file: string, text: string) => string = (_, t) => t): string {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tenant-limits-"));
        dirs.push(dir);
        const env = generateEnvironment(shape);
        writePlatformFile(env, dir);
        writeTenantFiles(env, dir);
        for (const file of fs.readdirSync(dir)) {
            const full = path.join(dir, file);
            fs.writeFileSync(full, edit(file, fs.readFileSync(full, "utf8")));
        }
        return dir;
    }
    after(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

    it("passes 1,000 applications over a platform and ten tenant stacks, counting every stack in its platform's subscription", () => {
        const footprints = repositoryFootprints(written({ apps: 1000, tenants: 10, spread: true }));
        assert.equal(footprints.length, 11);
        assert.deepEqual(environmentLimitProblems(footprints), []);
        const assignments = environmentUse(footprints).find((u) => u.limit === "roleAssignments")!;
        assert.equal(assignments.scope, "subscription of platform stack prod");
        assert.equal(assignments.stacks.length, 11);
        assert.equal(
            assignments.used,
            footprints.reduce((sum, f) => sum + f.footprint.roleAssignments, 0),
        );
    });

    it("refuses 2,000 applications over twenty tenant stacks, each within its own check, naming the limit, the sum, the stacks and the source", () => {
        const footprints = repositoryFootprints(written({ apps: 2000, tenants: 20, spread: true }));
        for (const { stack, footprint } of footprints) {
            assert.ok(footprint.roleAssignments < LIMITS.roleAssignments.max / 10, `${stack} alone fits`);
        }
        const problems = environmentLimitProblems(footprints);
        assert.equal(problems.length, 1, problems.join("\n"));
        assert.match(
            problems[0],
            /^subscription of platform stack prod: (\d+) role assignments across 21 stacks \(tenant-01 210, tenant-02 210, tenant-03 210, tenant-04 210, tenant-05 210 and 16 more\), over at most 4000 role assignments: Azure RBAC, 4,000 role assignments per subscription/,
        );
        assert.ok(problems[0].includes(LIMITS.roleAssignments.source), "cites Azure's documented limit");
    });

    it("refuses 801 identities in one resource group across stacks, naming the group and its stacks", () => {
        // The 1,000 applications' identities all in the platform's resource group (none placed elsewhere).
        const dir = written({ apps: 1000, tenants: 10, spread: true }, (_, text) =>
            text.replace(/^\s+identityResourceGroupName: .*\n/gm, ""),
        );
        const problems = environmentLimitProblems(repositoryFootprints(dir));
        assert.deepEqual(problems.length, 1, problems.join("\n"));
        assert.match(
            problems[0],
            /^resource group rg-data-platform-prod \(subscription of platform stack prod\): 1004 user-assigned identities across 11 stacks \(tenant-01 100, .* and 6 more\), over at most 800 user-assigned identities: 800 instances of a resource type per resource group/,
        );
    });

    it("sums stacks by the subscription their platform names (azure-native:subscriptionId), tenants included", () => {
        const subscription = "12345678-1234-1234-1234-123456789abc";
        const dir = written({ apps: 20, tenants: 2 }, (file, text) =>
            file === "Pulumi.prod.yaml"
                ? text.replace(/^config:\n/, `config:\n  azure-native:subscriptionId: ${subscription}\n`)
                : text,
        );
        const footprints = repositoryFootprints(dir);
        assert.deepEqual(
            footprints.map((f) => [f.stack, f.subscription]),
            [
                ["prod", subscription],
                ["tenant-01", subscription],
                ["tenant-02", subscription],
            ],
        );
    });
});
