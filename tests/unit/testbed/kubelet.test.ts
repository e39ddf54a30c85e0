/** The kubelet in the testbed (testbed/cluster/kubelet.ts): projection after the sync period, ConfigMaps, on fake pods. */
import { strict as assert } from "assert";
import { renderFiles, renderTenantAclSyncFiles } from "../../../components/redis/files";
import { NAMES, kubernetesLayout } from "../../../components/redis/layout";
import { stackFile } from "../../../offline/stackConfig";
import { KUBELET_SYNC_SECONDS, Kubelet, projectedContent, storeConfigMap } from "../../../testbed/cluster/kubelet";
import { RedisGroups } from "../../../testbed/cluster/redisGroups";
import { redisGroupSettings } from "../../../components/redis/groups";
import type { JobState } from "../../../testbed/cluster/state";
import * as fs from "fs";
import { Pod, type VolumeSource } from "../../../testbed/pods";
import type { Supervisor } from "../../../testbed/servers/processes";
import { processTempDir } from "../../support/tempDir";
import { LifecycleInputError, TYPES, readStack } from "../../../testbed/plan";
import { NAMESPACE, clusterState, eventLabels, resource, stackPlan } from "../../support/testbed";

/** A running pod that mounts `mounts` (`secret/name`) and whose files change at the next sync when `changes`. */
function fakePod(name: string, mounts: string[], changes = true): Pod {
    return {
        name,
        running: () => true,
        mounts: (kind: VolumeSource["kind"], source: string) => mounts.includes(`${kind}/${source}`),
        sync: () => (changes ? ["file"] : []),
    } as unknown as Pod;
}

function setup() {
    const app = { name: "app-a", namespace: "app-a", secretName: "app-a-env" };
    const state = clusterState(stackPlan([], { apps: [app] }));
    state.setApps(state.plan.config.apps);
    const reactions = { sidecars: 0, retried: [] as string[][] };
    const kubelet = new Kubelet(state, {
        awaitReloadSidecars: async () => (reactions.sidecars++, 5),
        retryJobs: async (jobs) => void reactions.retried.push(jobs.map((j) => j.name)),
    });
    return { state, kubelet, reactions };
}

describe("testbed kubelet controller (kubernetes.io: Secrets as files, sync period)", () => {
    it("projects a changed platform Secret into the pods that mount it after the sync period, once", async () => {
        const { state, kubelet, reactions } = setup();
        state.pods.set(NAMES.data, [fakePod("redis-0", ["secret/redis-auth"]), fakePod("redis-1", [])]);
        const waiting = { name: "login", state: "waiting", pod: fakePod("login", ["secret/redis-auth"]) };
        state.jobs.set("login", waiting as unknown as JobState);
        state.jobs.set("done", { name: "done", state: "complete" } as JobState);
        kubelet.secretChanged(`${NAMESPACE}/redis-auth`);
        kubelet.secretChanged(`${NAMESPACE}/redis-auth`);
        await state.timeline.runUntil();
        assert.deepEqual(eventLabels(state), [
            `+${KUBELET_SYNC_SECONDS}s kubelet projects Secret ${NAMESPACE}/redis-auth into the pods that mount it`,
        ]);
        assert.deepEqual(state.timeline.events[0].detail, { pods: ["redis-0"], jobs: ["login"], sidecarMs: 5 });
        assert.deepEqual(reactions, { sidecars: 1, retried: [["login"]] });
    });

    it("waits for no sidecar when no running pod's files changed, and ignores Secrets of other namespaces", async () => {
        const { state, kubelet, reactions } = setup();
        state.pods.set(NAMES.data, [fakePod("redis-0", ["secret/redis-auth"], false)]);
        kubelet.secretChanged(`${NAMESPACE}/redis-auth`);
        kubelet.secretChanged(`other/redis-auth`);
        await state.timeline.runUntil();
        assert.equal(state.timeline.events.length, 1);
        assert.deepEqual(state.timeline.events[0].detail, { pods: [], jobs: [] });
        assert.equal(reactions.sidecars, 0);
    });

    it("records each new version of an application's Secret (pods started before keep theirs)", () => {
        const { state, kubelet } = setup();
        state.postgresPort = 5432;
        for (const password of ["p1", "p1", "p2"]) {
            state.secrets.set("app-a/app-a-env", { DB_PASSWORD: password, DB_HOST: "pg.example", DB_PORT: "5432" });
            kubelet.secretChanged("app-a/app-a-env");
        }
        assert.deepEqual(
            state.appEnvs.get("app-a")?.map((e) => e.DB_PASSWORD),
            ["p1", "p2"],
        );
        assert.equal(state.endpoints.get("pg.example:5432"), 5432);
    });

    it("serves pods their Secrets and ConfigMaps as stored; absent ones are absent", () => {
        const { state } = setup();
        state.secrets.set(`${NAMESPACE}/s`, { a: "1" });
        state.configMaps.set(`${NAMESPACE}/c`, { data: { b: "2" }, redis: state.plan.config.redis });
        const content = projectedContent(state, new RedisGroups({ data: [7000], sentinels: [] }));
        const pod = fakePod("p", []);
        assert.deepEqual(content({ kind: "secret", name: "s" }, pod), { a: "1" });
        assert.deepEqual(content({ kind: "configMap", name: "c" }, pod), { b: "2" });
        assert.equal(content({ kind: "secret", name: "missing" }, pod), undefined);
    });

    it("projects every source of a projected volume into one directory: a missing optional Secret as no files, a missing required one keeps the files", () => {
        const secrets = new Map<string, Record<string, string>>([
            ["redis-acl", { "users.acl": "platform" }],
            ["redis-acl-t1", { "users.acl.t1.000": "tenant" }],
        ]);
        const content = (source: VolumeSource) => secrets.get(source.name);
        const pod = new Pod(
            { set: "redis", ordinal: 0, port: 0 },
            processTempDir("dp-pod-"),
            {} as Supervisor,
            content,
        );
        pod.prepare({
            spec: {
                containers: [{ name: "redis", volumeMounts: [{ name: "acl", mountPath: "/acl" }] }],
                volumes: [
                    {
                        name: "acl",
                        projected: {
                            sources: [
                                { secret: { name: "redis-acl" } },
                                { secret: { name: "redis-acl-t1", optional: true } },
                                { secret: { name: "redis-acl-t2", optional: true } },
                            ],
                        },
                    },
                ],
            },
        });
        const files = () => fs.readdirSync(pod.localPath("/acl")).sort();
        assert.deepEqual(files(), ["users.acl", "users.acl.t1.000"]);
        assert.ok(pod.mounts("secret", "redis-acl-t2"));
        secrets.delete("redis-acl-t1");
        assert.deepEqual(pod.sync(), ["acl"]);
        assert.deepEqual(files(), ["users.acl"], "the destroyed tenant's files go");
        secrets.delete("redis-acl");
        assert.deepEqual(pod.sync(), [], "a required Secret gone fails the volume's setup: the files stay");
        assert.deepEqual(files(), ["users.acl"]);
    });

    it("refuses a Redis ConfigMap that is not what renderFiles renders (the pods could not run it faithfully)", () => {
        const config = readStack("dev", stackFile("dev")).config;
        const plan = { ...stackPlan([]), config };
        const state = clusterState(plan);
        const namespace = config.cluster.platformNamespace;
        const rendered = renderFiles(config.redis, kubernetesLayout(config.redis, namespace));
        const configMap = (data: Record<string, string>) =>
            resource(TYPES.configMap, NAMES.config, { metadata: { namespace, name: NAMES.config }, data });
        storeConfigMap(state, configMap(rendered), plan);
        // Stored with the group's own settings (the section's, without `groups`): what the pods' files render from.
        assert.deepEqual(
            state.configMaps.get(`${namespace}/${NAMES.config}`)?.redis,
            redisGroupSettings(config.redis, "default"),
        );
        const edited = { ...rendered, [Object.keys(rendered)[0]]: "edited" };
        assert.throws(() => storeConfigMap(state, configMap(edited), plan), LifecycleInputError);
    });

    it("runs a tenant stack's ACL sync files against the group's loopback ports, as the group's own files", () => {
        const config = readStack("dev", stackFile("dev")).config;
        const plan = { ...stackPlan([]), config };
        const state = clusterState(plan);
        const namespace = config.cluster.platformNamespace;
        const files = renderTenantAclSyncFiles(config.redis, kubernetesLayout(config.redis, namespace));
        const name = "redis-acl-sync-t1";
        storeConfigMap(state, resource(TYPES.configMap, name, { metadata: { namespace, name }, data: files }), plan);
        const pod = { id: { set: name }, localPath: (p: string) => `/pod${p}` } as unknown as Pod;
        // The group's pod runs (before it does, a Job finds no pod behind its name: the cluster name is kept).
        state.pods.set(NAMES.data, [pod]);
        const served = projectedContent(state, new RedisGroups({ data: [7000], sentinels: [] }))(
            { kind: "configMap", name },
            pod,
        );
        assert.deepEqual(Object.keys(served ?? {}), Object.keys(files));
        assert.notDeepEqual(served, files);
        assert.match(Object.values(served ?? {}).join("\n"), /7000/);
    });
});
