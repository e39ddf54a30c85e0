/**
 * A tenant stack's PostgreSQL logins (issue 26 item 7) as it plans them: its own login Job in the platform namespace,
 * its Secret synced through the platform's store, keyed by the tenant's own key, its SQL marking the tenant's logins;
 * the tenant never reads, writes or grants the admin's password. Run on real servers: postgresTenantLoginJob.test.ts.
 */
import { strict as assert } from "assert";
import type { RecordedResource, RunResult } from "../../../offline/mockEngine";
import { runProgram } from "../../../offline/mockEngine";
import { mergeConfig } from "../../../offline/stackConfig";
import { generateEnvironment, tenantStackName } from "../../../offline/tenantEnvironment";
import { runTenant } from "../../../offline/tenantStacks";
import { tenantLoginSuffix } from "../../../components/postgres/loginJob";
import { LOGIN_JOB } from "../../../components/postgres/loginJobSpec";
import {
    ADMIN_SECRET_KEY,
    MANAGED_LOGIN_COMMENT,
    TENANT_KEY_SECRET_KEY,
    managedLoginComment,
} from "../../../components/postgres/sql";
import { PG_ADMIN_CREDENTIAL, pgTenantKeyCredentialId } from "../../../components/postgres/credentials";
import { credentialSecretName } from "../../../components/vault/secretNames";

const PLATFORM_NAMESPACE = "data-platform";

function one(run: RunResult, pred: (r: RecordedResource) => boolean, what: string): RecordedResource {
    const found = run.resources.filter(pred);
    assert.equal(found.length, 1, `${run.stack}: ${found.length} ${what}`);
    return found[0];
}

/** Where and as whom a run's platform or tenant login Job connects. */
function connection(run: RunResult): Array<{ name: string; value: string }> {
    const job = one(run, (r) => r.type === "kubernetes:batch/v1:Job" && r.name === "postgres-logins", "login Jobs");
    const vars = job.inputs.spec.template.spec.containers[0].env as Array<{ name: string; value: string }>;
    return vars.filter((e) => ["PGHOST", "PGPORT", "PGUSER", "PGSSLMODE", "PGSSLROOTCERT"].includes(e.name));
}

describe("tenant stacks: their applications' PostgreSQL logins", () => {
    const env = generateEnvironment({ apps: 4, tenants: 2 });
    const stacks = [tenantStackName(0), tenantStackName(1)];
    let platform: RunResult;
    const tenants: RunResult[] = [];
    before(async () => {
        platform = await runProgram({ stack: env.platform.stack, ...env.platform.config });
        for (const stack of stacks) {
            tenants.push(await runTenant(stack, env.tenants[stack], platform));
        }
    });
    const objectName = (stack: string) => `postgres-logins-${tenantLoginSuffix(stack)}`;

    it("refuses an application on a dedicated server of its platform, naming the key (its platform's application would share it unseen)", async () => {
        const postgres = JSON.parse(env.platform.config.config["data-platform:postgres"]);
        const { servers: _own, ...section } = postgres;
        // Even with a quota there: the platform cannot see a tenant's application on it.
        const tenantsQuotas = JSON.parse(env.platform.config.config["data-platform:tenants"]);
        const quota = tenantsQuotas[stacks[0]];
        const withDedicated = mergeConfig(env.platform.config, {
            "data-platform:postgres": { ...postgres, servers: { solo: { ...section, dedicated: true } } },
            "data-platform:tenants": {
                ...tenantsQuotas,
                [stacks[0]]: {
                    ...quota,
                    connections: { ...quota.connections, solo: 40 },
                    clients: { ...quota.clients, solo: 40 },
                },
            },
        });
        const dedicatedPlatform = await runProgram({ stack: env.platform.stack, ...withDedicated });
        const apps = JSON.parse(env.tenants[stacks[0]].config["data-platform:apps"]);
        const onIt = mergeConfig(env.tenants[stacks[0]], {
            "data-platform:apps": [{ ...apps[0], postgres: { server: "solo" } }, ...apps.slice(1)],
        });
        await assert.rejects(
            runTenant(stacks[0], onIt, dedicatedPlatform),
            /data-platform:apps\[0\]\.postgres\.server: given "solo"; allowed: a shared server of platform stack prod/,
        );
    });

    it("runs a login Job of its own in the platform namespace, from the tenant's entrypoint, its digests keyed by the tenant", () => {
        tenants.forEach((run, i) => {
            const job = one(
                run,
                (r) => r.type === "kubernetes:batch/v1:Job" && r.name.endsWith("-logins"),
                "login Jobs",
            );
            assert.equal(job.inputs.metadata.namespace, PLATFORM_NAMESPACE);
            assert.ok(job.inputs.metadata.name.startsWith(`${objectName(stacks[i])}-`), job.inputs.metadata.name);
            const container = job.inputs.spec.template.spec.containers[0];
            assert.ok(container.command[1].endsWith(`/${LOGIN_JOB.tenantEntrypointFile}`));
            const env = Object.fromEntries(
                container.env.map((e: { name: string; value: string }) => [e.name, e.value]),
            );
            assert.equal(env.EXPECTED_DIGESTS, undefined);
            // The admin's file is not among them: the tenant cannot compute its digest.
            const keys = env.TENANT_EXPECTED_DIGESTS.split(" ").map((d: string) => d.split("=")[0]);
            assert.equal(keys[0], TENANT_KEY_SECRET_KEY);
            assert.ok(!keys.includes(ADMIN_SECRET_KEY));
            assert.equal(keys.length, 1 + 2 * 2, "its key and both logins of each of its 2 applications");
            // Azure's admin at the server's name-derived host, as the platform's Job.
            assert.deepEqual(connection(run), connection(platform));
        });
    });

    it("marks its logins with its own comment, never the platform's, and turns off only those", () => {
        tenants.forEach((run, i) => {
            const sql = one(
                run,
                (r) => r.type === "kubernetes:core/v1:ConfigMap" && r.inputs.metadata.name === objectName(stacks[i]),
                "login ConfigMaps",
            ).inputs.data[LOGIN_JOB.sqlFile] as string;
            const comment = managedLoginComment(stacks[i]);
            assert.ok(!comment.startsWith(MANAGED_LOGIN_COMMENT));
            assert.equal(sql.split(`IS '${comment}`).length - 1, 2 * 2, "both logins of each application");
            assert.ok(!sql.includes(`'${MANAGED_LOGIN_COMMENT}`), "no platform marker");
            assert.ok(sql.includes(`starts_with(d.description, '${comment}')`));
            assert.ok(!sql.includes("data_platform_monitor"), "the monitoring login is the platform's");
        });
    });

    it("syncs the admin's password through the platform's store (granted by the platform), never holding it", () => {
        const adminSecret = one(
            platform,
            (r) =>
                r.type === "azure-native:keyvault:Secret" &&
                r.inputs.secretName === credentialSecretName(PG_ADMIN_CREDENTIAL),
            "admin secrets",
        );
        const adminPassword = one(
            platform,
            (r) =>
                r.type === "random:index/randomPassword:RandomPassword" && r.name.endsWith(`-${PG_ADMIN_CREDENTIAL}`),
            "admin passwords",
        ).outputs.result as string;
        tenants.forEach((run, i) => {
            const synced = one(
                run,
                (r) => r.inputs.kind === "ExternalSecret" && r.inputs.metadata.name === objectName(stacks[i]),
                "login ExternalSecrets",
            );
            assert.equal(synced.inputs.metadata.namespace, PLATFORM_NAMESPACE);
            assert.deepEqual(synced.inputs.spec.secretStoreRef, {
                kind: "ClusterSecretStore",
                name: "azure-key-vault",
            });
            const data = Object.fromEntries(
                synced.inputs.spec.data.map((d: { secretKey: string; remoteRef: { key: string } }) => [
                    d.secretKey,
                    d.remoteRef.key,
                ]),
            );
            assert.equal(data[ADMIN_SECRET_KEY], adminSecret.inputs.secretName);
            assert.equal(data[TENANT_KEY_SECRET_KEY], pgTenantKeyCredentialId(tenantLoginSuffix(stacks[i])));
            // The platform's grant on the admin's secret is the platform's: the tenant grants only what it writes (its
            // Redis users file's too: tenantRedisUsers.test.ts).
            const grants = run.resources.filter(
                (r) =>
                    r.type === "azure-native:authorization:RoleAssignment" &&
                    r.name.includes("-eso-read-") &&
                    !r.name.includes("-users-acl-"),
            );
            assert.deepEqual(
                grants.map((g) => g.inputs.scope.split("/secrets/")[1]).sort(),
                [data[TENANT_KEY_SECRET_KEY], `postgres-login-verifiers-${tenantLoginSuffix(stacks[i])}`].sort(),
            );
            assert.ok(
                !JSON.stringify(run.resources).includes(adminPassword),
                "the admin's password is in the tenant's state",
            );
        });
    });

    it("on a StackGres server too, connects where and as the platform's own Job does (its superuser, the direct port)", async () => {
        const postgres = JSON.parse(env.platform.config.config["data-platform:postgres"]);
        const stackgres = mergeConfig(env.platform.config, {
            "data-platform:postgres": { ...postgres, mode: "stackgres" },
        });
        const sgPlatform = await runProgram({ stack: env.platform.stack, ...stackgres });
        const sgTenant = await runTenant(stacks[0], env.tenants[stacks[0]], sgPlatform);
        assert.deepEqual(connection(sgTenant), connection(sgPlatform));
        assert.equal(connection(sgTenant).find((e) => e.name === "PGUSER")?.value, "postgres");
    });
});
