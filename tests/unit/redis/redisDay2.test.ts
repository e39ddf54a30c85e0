/**
 * What makes Day-2 changes safe in the rendered program: one checksum per group, the Secrets re-synced at once,
 * rotation slots that keep the previous password in the ACL files until the next rotation, and the ACL sync Job that
 * holds every new password back until all servers accept it.
 */
import { strict as assert } from "assert";
import type { RecordedResource, RunResult } from "../../../offline/mockEngine";
import { ACL_MARKER_PREFIX, renderDataAcl, sha256Hex } from "../../../components/redis/acl";
import { SOURCE_VERSIONS_ANNOTATION } from "../../../components/secretSync/spec";
import { rotationSlots } from "../../../components/vault/credentials";
import { byName, runStack } from "../../support/program";
import { keyVaultOverride, parseStack, sectionOverride } from "../../support/config";
import { testPasswords } from "../../support/redis";

const STS = "kubernetes:apps/v1:StatefulSet";
const CHECKSUM = "data-platform.io/config-checksum";
const PASSWORD = "random:index/randomPassword:RandomPassword";
const ES = "kubernetes:external-secrets.io/v1:ExternalSecret";
const KV_SECRET = "azure-native:keyvault:Secret";

function aclSyncJob(run: RunResult): RecordedResource {
    return byName(run, "kubernetes:batch/v1:Job", "redis-acl-sync");
}

function checksum(run: RunResult, statefulSet: string): string {
    const sts = run.resources.find((r) => r.type === STS && r.inputs.metadata.name === statefulSet)!;
    return sts.inputs.spec.template.metadata.annotations[CHECKSUM];
}

function passwordsOf(run: RunResult, id: string): RecordedResource[] {
    return run.resources.filter((r) => r.type === PASSWORD && (r.name.endsWith(id) || r.name.endsWith(`${id}-b`)));
}

describe("Redis Day-2 rendering", function () {
    this.timeout(120_000);
    let prod: RunResult;
    before(async () => {
        prod = await runStack("prod");
    });

    it("a Sentinel-only setting (down-after, quorum) changes the Sentinels' checksum only; a data setting the data pods'", async () => {
        const own = JSON.parse(JSON.stringify(parseStack("prod").redis));
        const sentinelOnly = await runStack(
            "prod",
            sectionOverride("prod", "redis", { downAfterMilliseconds: own.downAfterMilliseconds + 1000, quorum: 3 }),
        );
        assert.equal(checksum(sentinelOnly, "redis"), checksum(prod, "redis"), "data pods would roll");
        assert.notEqual(checksum(sentinelOnly, "redis-sentinel"), checksum(prod, "redis-sentinel"));
        const dataOnly = await runStack("prod", sectionOverride("prod", "redis", { maxmemoryPolicy: "allkeys-lru" }));
        assert.notEqual(checksum(dataOnly, "redis"), checksum(prod, "redis"));
        assert.equal(checksum(dataOnly, "redis-sentinel"), checksum(prod, "redis-sentinel"), "Sentinels would roll");
    });

    it("adding an application changes no pod template: the sidecars apply the users live", async () => {
        const apps = parseStack("prod").apps;
        const fewer = await runStack("prod", {
            "data-platform:apps": apps
                .slice(1)
                .map((a) => ({ name: a.name, namespace: a.namespace, redisDb: a.redisDb })),
        });
        for (const sts of ["redis", "redis-sentinel"]) {
            assert.equal(checksum(fewer, sts), checksum(prod, sts), `${sts} would roll`);
        }
    });

    it("the redis-acl and redis-auth ExternalSecrets carry their Key Vault versions (ESO re-syncs at once)", () => {
        for (const name of ["redis-acl", "redis-auth"]) {
            const es = byName(prod, ES, name);
            assert.match(es.inputs.metadata.annotations[SOURCE_VERSIONS_ANNOTATION], /^[0-9a-f]{32}$/, name);
        }
    });

    it("passwords are handed out only after the ACL sync Job: redis-auth and every bundle (Key Vault and Secret) wait for it", () => {
        const job = aclSyncJob(prod);
        assert.ok(byName(prod, ES, "redis-acl").urn && job.dependencies.includes(byName(prod, ES, "redis-acl").urn));
        const waiting = [
            byName(prod, ES, "redis-auth"),
            ...prod.resources.filter((r) => r.type === KV_SECRET && /^app-.*-env$/.test(r.inputs.secretName)),
            ...parseStack("prod").apps.map(
                (a) =>
                    prod.resources.find(
                        (r) =>
                            r.type === ES &&
                            r.inputs.metadata.namespace === a.namespace &&
                            r.inputs.metadata.name === a.secretName,
                    )!,
            ),
        ];
        assert.equal(waiting.length, 1 + 2 * parseStack("prod").apps.length);
        for (const r of waiting) {
            assert.ok(r.dependencies.includes(job.urn), `${r.type} ${r.name} does not wait for the ACL sync Job`);
        }
    });

    it("the ACL sync Job looks for the marker both users files end with, and runs anew exactly when they change", async () => {
        const markerOf = (run: RunResult) => {
            const env = aclSyncJob(run).inputs.spec.template.spec.containers[0].env;
            return env.find((e: any) => e.name === "ACL_MARKER").value as string;
        };
        const marker = markerOf(prod);
        assert.match(marker, new RegExp(`^${ACL_MARKER_PREFIX}[0-9a-f]{32}$`));
        for (const file of ["redis-acl-data", "redis-acl-sentinel"]) {
            const acl: string = byName(prod, KV_SECRET, file).inputs.properties.value;
            assert.equal(acl.trim().split("\n").pop(), `user ${marker} on nopass resetchannels -@all`, file);
        }
        const apps = parseStack("prod").apps;
        const fewer = await runStack("prod", {
            "data-platform:apps": apps
                .slice(1)
                .map((a) => ({ name: a.name, namespace: a.namespace, redisDb: a.redisDb })),
        });
        const rotated = await runStack("prod", keyVaultOverride("prod", { rotations: { "redis-monitor": "1" } }));
        const unrelated = await runStack("prod", sectionOverride("prod", "redis", { maxmemoryPolicy: "allkeys-lru" }));
        assert.notEqual(markerOf(fewer), marker, "an application removed");
        assert.notEqual(markerOf(rotated), marker, "a Redis password rotated");
        assert.equal(markerOf(unrelated), marker, "a data setting changes no user");
        assert.notEqual(aclSyncJob(rotated).inputs.metadata.name, aclSyncJob(prod).inputs.metadata.name);
    });

    it("rotation slots: raising a generation by one regenerates exactly one slot; other values keep slot a only", () => {
        assert.deepEqual(rotationSlots(""), { a: "", current: "a" });
        assert.deepEqual(rotationSlots("2026-11"), { a: "2026-11", current: "a" });
        for (let n = 1; n < 6; n++) {
            const [before, after] = [rotationSlots(String(n - 1)), rotationSlots(String(n))];
            const changed = (["a", "b"] as const).filter((s) => (before[s] ?? "") !== (after[s] ?? ""));
            assert.deepEqual(changed, [after.current], `generation ${n - 1} -> ${n}`);
        }
    });

    it("a rotated Redis credential keeps its previous password: a second slot, both hashes in the ACL line", async () => {
        const rotated = await runStack("prod", keyVaultOverride("prod", { rotations: { "redis-app-orders": "1" } }));
        const [a, b] = ["redis-app-orders", "redis-app-orders-b"].map(
            (suffix) => rotated.resources.find((r) => r.type === PASSWORD && r.name.endsWith(suffix))!,
        );
        assert.ok(a && b);
        const before = prod.resources.find((r) => r.type === PASSWORD && r.name.endsWith("redis-app-orders"))!;
        assert.deepEqual(a.inputs.keepers, before.inputs.keepers, "the previous password is kept");
        assert.equal(passwordsOf(prod, "redis-app-orders").length, 1);
        const acl: string = byName(rotated, KV_SECRET, "redis-acl-data").inputs.properties.value;
        const line = acl.split("\n").find((l) => l.startsWith("user orders "))!;
        for (const slot of [a, b]) {
            assert.ok(line.includes(`#${sha256Hex(String(slot.outputs.result))}`), "both hashes in the ACL line");
        }
        // No client needs the previous one: redis-auth and the bundles change only once every server accepts the new.
        assert.ok(!rotated.resources.some((r) => r.type === KV_SECRET && /-previous$/.test(r.inputs.secretName)));
    });

    it("renders one hash per distinct password (no previous, or the same one, gives one)", () => {
        const config = parseStack("prod");
        const passwords = testPasswords(config);
        const same = renderDataAcl("sentinel", config.apps, { ...passwords, previous: { ...passwords } });
        assert.equal(same, renderDataAcl("sentinel", config.apps, passwords));
        const rotated = renderDataAcl("sentinel", config.apps, {
            ...passwords,
            admin: "new-admin",
            previous: { admin: passwords.admin },
        });
        assert.match(
            rotated,
            new RegExp(`^user admin on #${sha256Hex("new-admin")} #${sha256Hex(passwords.admin)} `, "m"),
        );
    });
});
