/** The testbed's checks that read only the cluster state (testbed/checks.ts), and the state's own bookkeeping. */
import { strict as assert } from "assert";
import { availabilityChecks, mountChecks } from "../../../testbed/checks";
import type { Pod } from "../../../testbed/pods";
import { NAMESPACE, clusterState, stackPlan } from "../../support/testbed";

const pod = (name: string, running: boolean, mainRunning: boolean) =>
    ({ name, running: () => running, mainRunning: () => mainRunning }) as unknown as Pod;

describe("testbed checks on the cluster state", () => {
    it("reports a group with more than one server restarting at once", () => {
        const state = clusterState();
        state.pods.set("redis", [
            pod("redis-0", true, false),
            pod("redis-1", true, true),
            pod("redis-2", false, false),
        ]);
        assert.deepEqual(availabilityChecks(state), []);
        state.pods.set("redis", [pod("redis-0", true, false), pod("redis-1", true, false)]);
        assert.deepEqual(availabilityChecks(state), [
            "redis-0, redis-1 are down at once: redis restarts more than one at a time",
        ]);
    });

    it("reports a StatefulSet that mounts a Secret or ConfigMap that no longer exists", () => {
        const state = clusterState();
        const volumes = [
            { secret: { secretName: "redis-auth" } },
            { configMap: { name: "redis-config" } },
            { emptyDir: {} },
        ];
        state.statefulSets.set("redis", { spec: { template: { spec: { volumes } } } });
        state.secrets.set(`${NAMESPACE}/redis-auth`, {});
        assert.deepEqual(mountChecks(state), [
            `StatefulSet redis mounts ConfigMap ${NAMESPACE}/redis-config, which no longer exists: its next pod cannot start`,
        ]);
    });

    it("lets an optional source of a projected volume be absent (a tenant stack's users file), not a required one", () => {
        const state = clusterState();
        const sources = [{ secret: { name: "redis-acl" } }, { secret: { name: "redis-acl-t1", optional: true } }];
        state.statefulSets.set("redis", { spec: { template: { spec: { volumes: [{ projected: { sources } }] } } } });
        assert.deepEqual(mountChecks(state), [
            `StatefulSet redis mounts Secret ${NAMESPACE}/redis-acl, which no longer exists: its next pod cannot start`,
        ]);
        state.secrets.set(`${NAMESPACE}/redis-acl`, {});
        assert.deepEqual(mountChecks(state), []);
    });

    it("keeps only the new config's applications, and refuses a PostgreSQL host before PostgreSQL runs", () => {
        const state = clusterState(stackPlan([]));
        const app = (name: string) => ({ name, namespace: name, secretName: `${name}-env` }) as never;
        state.setApps([app("a"), app("b")]);
        state.setApps([app("b"), app("c")]);
        assert.deepEqual([...state.apps.keys()], ["b", "c"]);
        assert.throws(() => state.registerPostgresHost("pg.example", 5432), /before the local PostgreSQL runs/);
        state.postgresPort = 15432;
        state.registerPostgresHost("pg.example", 5432);
        assert.equal(state.endpoints.get("pg.example:5432"), 15432);
    });
});
