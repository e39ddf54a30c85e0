/**
 * A tenant stack's Redis users (issue 26 item 7) as it plans them: its users file in the platform's vault under names of
 * its own, synced by name (no `dataFrom.find`) through the platform's store into its own Secret in the platform
 * namespace, which the platform's data nodes project beside `redis-acl`; its own ACL sync Job, on the data nodes only,
 * which the applications' bundles wait for; no platform Redis password in its state. Run on a real server:
 * tests/servers/redis/redisTenantStackUsers.test.ts.
 */
import { strict as assert } from "assert";
import type { RecordedResource, RunResult } from "../../../offline/mockEngine";
import { runProgram } from "../../../offline/mockEngine";
import { generateEnvironment, tenantStackName } from "../../../offline/tenantEnvironment";
import { runTenant } from "../../../offline/tenantStacks";
import { mergeConfig } from "../../../offline/stackConfig";
import { tenantLoginSuffix } from "../../../components/postgres/loginJob";
import { ACL_MARKER_PREFIX, sha256Hex } from "../../../components/redis/acl";
import { FILES } from "../../../components/redis/files";

const PLATFORM_NAMESPACE = "data-platform";

function all(run: RunResult, pred: (r: RecordedResource) => boolean): RecordedResource[] {
    return run.resources.filter(pred);
}

describe("tenant stacks: their applications' Redis users", () => {
    const env = generateEnvironment({ apps: 4, tenants: 2 });
    const stacks = [tenantStackName(0), tenantStackName(1)];
    let platform: RunResult;
    const tenants: RunResult[] = [];
    before(async () => {
        platform = await runProgram({ stack: env.platform.stack, ...env.platform.config });
        for (const stack of stacks) {
            // `up`, not a preview: a tenant stack now deploys.
            tenants.push(await runTenant(stack, env.tenants[stack], platform, { preview: false }));
        }
    });

    /** The tenant's users-file ExternalSecret of a group, by its Secret's name. */
    function usersSync(run: RunResult, stack: string): RecordedResource[] {
        const suffix = tenantLoginSuffix(stack);
        return all(
            run,
            (r) => r.inputs?.kind === "ExternalSecret" && String(r.inputs.metadata.name).endsWith(`-acl-${suffix}`),
        );
    }

    it("syncs its users file by name through the platform's store into its own Secret in the platform namespace", () => {
        tenants.forEach((run, i) => {
            const suffix = tenantLoginSuffix(stacks[i]);
            const synced = usersSync(run, stacks[i]);
            assert.ok(synced.length >= 1, `${stacks[i]}: a users Secret per group it uses`);
            for (const es of synced) {
                assert.equal(es.inputs.metadata.namespace, PLATFORM_NAMESPACE);
                assert.deepEqual(es.inputs.spec.secretStoreRef, {
                    kind: "ClusterSecretStore",
                    name: "azure-key-vault",
                });
                assert.equal(es.inputs.spec.dataFrom, undefined, "no dataFrom (find lists the whole vault)");
                const data = es.inputs.spec.data as Array<{ secretKey: string; remoteRef: { key: string } }>;
                for (const d of data) {
                    assert.match(d.secretKey, new RegExp(`^users\\.acl\\.${suffix}\\.\\d{3}$`));
                    const written = all(
                        run,
                        (r) => r.type === "azure-native:keyvault:Secret" && r.inputs.secretName === d.remoteRef.key,
                    );
                    assert.equal(written.length, 1, `${d.remoteRef.key} is written by the tenant`);
                    assert.ok(written[0].secretPaths.includes("properties.value"));
                    // Hashes only: every user line, then the tenant's marker.
                    const lines = written[0].inputs.properties.value.trimEnd().split("\n");
                    assert.ok(lines.every((l: string) => /^user \S+ on /.test(l)));
                }
                // The platform store's identity reads exactly these (granted by the tenant, secret by secret).
                const granted = all(
                    run,
                    (r) =>
                        r.type === "azure-native:authorization:RoleAssignment" &&
                        data.some((d) => r.inputs.scope.endsWith(`/secrets/${d.remoteRef.key}`)),
                );
                assert.equal(granted.length, data.length, "one read grant per part");
                const last = all(
                    run,
                    (r) =>
                        r.type === "azure-native:keyvault:Secret" &&
                        r.inputs.secretName === data[data.length - 1].remoteRef.key,
                )[0].inputs.properties.value.trimEnd();
                assert.ok(last.split("\n").pop().startsWith(`user ${ACL_MARKER_PREFIX}`), "ends with its marker");
            }
        });
    });

    it("is projected by the platform's data nodes (every tenant it admits, optional), the Sentinels' files unchanged", () => {
        const sets = all(platform, (r) => r.type === "kubernetes:apps/v1:StatefulSet");
        const data = sets.filter((s) => s.inputs.metadata.labels["app.kubernetes.io/component"] === "data");
        assert.ok(data.length >= 1);
        for (const set of data) {
            const acl = set.inputs.spec.template.spec.volumes.find((v: { name: string }) => v.name === "acl");
            const projected = acl.projected.sources.map(
                (s: { secret: { name: string; optional?: boolean } }) => s.secret,
            );
            const admitted = Object.keys(JSON.parse(env.platform.config.config["data-platform:tenants"]));
            assert.ok(admitted.length >= 2);
            // `<group>-acl`, then `<group>-acl-<suffix>` of each tenant (`tenantAclSecretName`).
            assert.deepEqual(
                projected.slice(1),
                admitted.map((stack) => ({ name: `${projected[0].name}-${tenantLoginSuffix(stack)}`, optional: true })),
            );
        }
        // Each tenant's Secret is one the platform projects.
        const names = new Set(
            data.flatMap((set) =>
                set.inputs.spec.template.spec.volumes
                    .find((v: { name: string }) => v.name === "acl")
                    .projected.sources.map((s: { secret: { name: string } }) => s.secret.name),
            ),
        );
        tenants.forEach((run, i) => {
            for (const es of usersSync(run, stacks[i])) {
                assert.ok(names.has(es.inputs.spec.target?.name ?? es.inputs.metadata.name), es.inputs.metadata.name);
            }
        });
        for (const set of sets.filter((s) => s.inputs.metadata.labels["app.kubernetes.io/component"] === "sentinel")) {
            const acl = set.inputs.spec.template.spec.volumes.find((v: { name: string }) => v.name === "acl");
            assert.equal(acl.projected, undefined);
        }
    });

    it("waits for its own marker on the data nodes only, with no password, and its applications wait for that", () => {
        tenants.forEach((run, i) => {
            const suffix = tenantLoginSuffix(stacks[i]);
            const jobs = all(
                run,
                (r) => r.type === "kubernetes:batch/v1:Job" && String(r.inputs.metadata.name).includes("-acl-sync-"),
            );
            assert.equal(jobs.length, usersSync(run, stacks[i]).length, "one ACL sync Job per group");
            for (const job of jobs) {
                assert.equal(job.inputs.metadata.namespace, PLATFORM_NAMESPACE);
                assert.ok(String(job.inputs.metadata.name).endsWith(`-${suffix}`));
                const pod = job.inputs.spec.template.spec;
                assert.deepEqual(
                    pod.volumes
                        .map((v: any) => v.configMap?.name ?? v.secret?.secretName ?? v.name)
                        .filter((n: string) => /auth|acl$/.test(n)),
                    [],
                    "no password volume",
                );
                const marker = pod.containers[0].env.find((e: { name: string }) => e.name === "ACL_MARKER").value;
                assert.match(marker, new RegExp(`^${ACL_MARKER_PREFIX}[0-9a-f]{32}$`));
                const configMap = all(
                    run,
                    (r) =>
                        r.type === "kubernetes:core/v1:ConfigMap" &&
                        r.inputs.metadata.name === pod.volumes[0].configMap.name,
                )[0];
                assert.match(configMap.inputs.data[FILES.lib], /^SENTINELS=""$/m);
                assert.deepEqual(Object.keys(configMap.inputs.data).sort(), [FILES.awaitAcl, FILES.lib].sort());
                // Every application's Secret waits for it.
                const waiting = all(run, (r) => r.dependencies.includes(job.urn));
                assert.ok(waiting.length > 0, `${job.inputs.metadata.name}: nothing waits for it`);
            }
        });
    });

    it("refuses an application on a dedicated group of its platform, naming the key (another stack's could join it unseen)", async () => {
        const redis = JSON.parse(env.platform.config.config["data-platform:redis"]);
        const withDedicated = mergeConfig(env.platform.config, {
            "data-platform:redis": {
                ...redis,
                groups: { ...redis.groups, celery: { dedicated: true, tlsCaCert: redis.tlsCaCert } },
            },
        });
        const dedicatedPlatform = await runProgram({ stack: env.platform.stack, ...withDedicated });
        const apps = JSON.parse(env.tenants[stacks[0]].config["data-platform:apps"]);
        const onIt = mergeConfig(env.tenants[stacks[0]], {
            "data-platform:apps": [{ ...apps[0], redisDb: 1, redis: { group: "celery" } }, ...apps.slice(1)],
        });
        await assert.rejects(
            runTenant(stacks[0], onIt, dedicatedPlatform),
            /data-platform:apps\[0\]\.redis\.group: given "celery"; allowed: a shared group of platform stack prod/,
        );
    });

    it("holds no platform Redis password: it reads, writes and grants none", () => {
        const platformRedisSecrets = all(
            platform,
            (r) =>
                r.type === "azure-native:keyvault:Secret" &&
                /^redis(-[a-z0-9-]+)?-(admin|monitor|replication|sentinel|backup)$/.test(r.inputs.secretName),
        );
        assert.ok(platformRedisSecrets.length > 0);
        const passwords = all(
            platform,
            (r) =>
                r.type === "random:index/randomPassword:RandomPassword" &&
                /redis.*-(admin|monitor|replication|sentinel)$/.test(r.name),
        ).map((r) => r.outputs.result as string);
        assert.ok(passwords.length > 0);
        tenants.forEach((run) => {
            const text = JSON.stringify(run.resources);
            for (const secret of platformRedisSecrets) {
                assert.ok(
                    !text.includes(`"${secret.inputs.secretName}"`),
                    `${run.stack} names ${secret.inputs.secretName}`,
                );
            }
            for (const p of passwords) {
                assert.ok(!text.includes(p) && !text.includes(sha256Hex(p)), `${run.stack} holds a platform password`);
            }
        });
    });
});
