/**
 * Tenant stacks in CI (issue 26 item 7): `npm run stacks` puts them in a matrix of their own (deploy.yml's `tenants`
 * job, after every platform stack), each in its team's environment, and `npm run stacks -- --codeowners` gives each
 * tenant stack's file and policy configuration to the teams it names.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PRODUCTION_ENVIRONMENT, codeowners, stackEntries } from "../../../cli/stacks";
import { generateEnvironment, writeTenantFiles } from "../../../offline/tenantEnvironment";
import { tenantCollisionProblems } from "../../../offline/tenantStacks";

describe("tenant stacks in CI", () => {
    let dir: string;
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "tenants-ci-"));
        fs.copyFileSync(
            path.resolve(__dirname, "..", "..", "..", "Pulumi.prod.yaml"),
            path.join(dir, "Pulumi.prod.yaml"),
        );
        writeTenantFiles(generateEnvironment({ apps: 20, tenants: 10 }), dir);
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("lists each tenant stack with its platform, in an environment of its own under the production prefix", () => {
        const entries = stackEntries(dir);
        const tenants = entries.filter((e) => e.platformStack !== undefined);
        assert.equal(tenants.length, 10);
        for (const e of tenants) {
            assert.equal(e.platformStack, "prod");
            assert.ok(e.production);
            assert.equal(e.environment, `${PRODUCTION_ENVIRONMENT}-${e.stack}`);
            assert.equal(e.previewEnvironment, `${PRODUCTION_ENVIRONMENT}-${e.stack}-preview`);
        }
        assert.deepEqual(
            entries.filter((e) => e.platformStack === undefined).map((e) => [e.stack, e.environment]),
            [["prod", PRODUCTION_ENVIRONMENT]],
        );
    });

    it("gives every tenant stack file an owner in the generated CODEOWNERS", () => {
        const lines = codeowners(stackEntries(dir));
        const files = fs.readdirSync(dir).filter((f) => f.startsWith("Pulumi.tenant-"));
        assert.equal(files.length, 10);
        for (const file of files) {
            const line = lines.find((l) => l.startsWith(`/${file} `));
            assert.ok(line, `${file} has a CODEOWNERS line`);
            assert.match(line, /^\S+ (@[\w.-]+(\/[\w.-]+)?)( @[\w.-]+(\/[\w.-]+)?)*$/, line);
        }
        assert.ok(!lines.some((l) => l.startsWith("/Pulumi.prod.yaml")), "the platform's file is the platform team's");
    });

    it("refuses two stacks of one platform holding one application or namespace, naming both", () => {
        assert.deepEqual(tenantCollisionProblems(dir), []);
        const file = path.join(dir, "Pulumi.tenant-02.yaml");
        const original = fs.readFileSync(file, "utf8");
        try {
            // tenant-02 takes tenant-01's first application (t-app-0001) as well.
            fs.writeFileSync(file, original.replace(/t-app-0002/g, "t-app-0001"));
            assert.deepEqual(tenantCollisionProblems(dir), [
                "stacks tenant-01 and tenant-02 of platform prod: application t-app-0001 both hold it; move it to one of them",
                "stacks tenant-01 and tenant-02 of platform prod: namespace t-app-0001 both hold it; move it to one of them",
                "stacks tenant-01 and tenant-02 of platform prod: Redis user t-app-0001 both hold it; move it to one of them",
            ]);
        } finally {
            fs.writeFileSync(file, original);
        }
    });

    it("refuses two stacks of one platform sharing a Redis database of a group, naming both and the index", () => {
        const two = path.join(dir, "Pulumi.tenant-02.yaml");
        const original = fs.readFileSync(two, "utf8");
        try {
            // tenant-02's first application on tenant-01's first database: each would reach the other's keys.
            fs.writeFileSync(two, original.replace("      redisDb: 101\n", "      redisDb: 100\n"));
            assert.deepEqual(tenantCollisionProblems(dir), [
                "stacks tenant-01 and tenant-02 of platform prod: Redis database default/100 both hold it; move it to one of them",
            ]);
        } finally {
            fs.writeFileSync(two, original);
        }
    });

    it("refuses two stacks of one platform naming one Redis user (an extra database's <app>-<name>), naming both", () => {
        const one = path.join(dir, "Pulumi.tenant-01.yaml");
        const two = path.join(dir, "Pulumi.tenant-02.yaml");
        const originals = [one, two].map((f) => fs.readFileSync(f, "utf8"));
        try {
            // tenant-01's t-app-0001 gets an extra database `jobs` (user t-app-0001-jobs); tenant-02 renames an
            // application (and its namespace) to that user's name: no application or namespace is shared.
            fs.writeFileSync(
                one,
                originals[0].replace(
                    "      redisDb: 100\n",
                    "      redisDb: 100\n      redisExtraDatabases:\n        - name: jobs\n          db: 900\n",
                ),
            );
            fs.writeFileSync(two, originals[1].replace(/t-app-0002\b/g, "t-app-0001-jobs"));
            assert.deepEqual(tenantCollisionProblems(dir), [
                "stacks tenant-01 and tenant-02 of platform prod: Redis user t-app-0001-jobs both hold it; move it to one of them",
            ]);
        } finally {
            fs.writeFileSync(one, originals[0]);
            fs.writeFileSync(two, originals[1]);
        }
    });
});
