/** Azure in the testbed (testbed/cluster/azure.ts): Key Vault versions and the Flexible Server's steps, on a fake server. */
import { strict as assert } from "assert";
import { Azure, writeVault } from "../../../testbed/cluster/azure";
import type { LifecyclePostgres } from "../../../testbed/postgres";
import { TYPES } from "../../../testbed/plan";
import { clusterState, eventLabels, resource } from "../../support/testbed";

function vaultSecret(name: string, value: string, version: string) {
    return resource(
        TYPES.vaultSecret,
        name,
        { secretName: name, properties: { value } },
        { outputs: { properties: { secretUriWithVersion: `https://kv/secrets/${name}/${version}` } } },
    );
}

function setup() {
    const state = clusterState();
    const calls: string[] = [];
    const pg = {
        setAdminPassword: async (p: string) => void calls.push(`password ${p}`),
        createDatabase: async (n: string) => (calls.push(`database ${n}`), true),
        setParameter: async (n: string, v: string) => void calls.push(`${n}=${v}`),
        show: async () => "200",
    } as unknown as LifecyclePostgres;
    const written: string[] = [];
    const azure = new Azure(
        state,
        () => pg,
        async (name) => void written.push(name),
    );
    return { state, calls, written, handlers: azure.handlers() };
}

describe("testbed Azure controller (Key Vault, Flexible Server)", () => {
    it("keeps every version of a Key Vault secret, the newest first, and tells ESO only of a new version", async () => {
        const { state, written, handlers } = setup();
        const v1 = vaultSecret("pg-app", "p1", "1");
        assert.equal(writeVault(state, v1), true);
        assert.equal(writeVault(state, v1), false, "same version");
        const step = (r: typeof v1) =>
            handlers[TYPES.vaultSecret].apply!({ resource: r, verb: "update", name: "pg-app", plan: state.plan });
        await step(v1);
        assert.deepEqual(written, []);
        await step(vaultSecret("pg-app", "p2", "2"));
        assert.deepEqual(written, ["pg-app"]);
        assert.deepEqual(state.vault.get("pg-app"), {
            value: "p2",
            version: "https://kv/secrets/pg-app/2",
            versions: new Map([
                ["1", "p1"],
                ["2", "p2"],
            ]),
        });
        await handlers[TYPES.vaultSecret].remove!(v1);
        assert.equal(state.vault.has("pg-app"), false);
    });

    it("sets the admin password only when it changed, and creates a database only for a new name", async () => {
        const { state, calls, handlers } = setup();
        const server = (password: string) =>
            resource(TYPES.pgServer, "pg", { administratorLogin: "pgadmin", administratorLoginPassword: password });
        const database = (name: string) => resource(TYPES.pgDatabase, "db", { databaseName: name });
        const apply = (kind: string, r: ReturnType<typeof server>, was?: ReturnType<typeof server>) =>
            handlers[kind].apply!({
                resource: r,
                was: was && { resource: was, failed: false },
                verb: was ? "update" : "create",
                name: r.name,
                plan: state.plan,
            });
        await apply(TYPES.pgServer, server("a"));
        await apply(TYPES.pgServer, server("a"), server("a"));
        await apply(TYPES.pgServer, server("b"), server("a"));
        await apply(TYPES.pgDatabase, database("app"));
        await apply(TYPES.pgDatabase, database("app"), database("app"));
        await apply(TYPES.pgDatabase, database("app2"), database("app"));
        assert.deepEqual(calls, ["password b", "database app", "database app2"]);
        assert.deepEqual(eventLabels(state), [
            "+0s Azure sets the new password of admin pgadmin",
            "+0s Azure creates database app",
            "+0s Azure creates database app2",
        ]);
    });

    it("applies max_connections as a static parameter (server restarted), other parameters not at all", async () => {
        const { state, calls, handlers } = setup();
        for (const [name, value] of [
            ["max_connections", "200"],
            ["log_min_duration_statement", "500"],
        ]) {
            const r = resource(TYPES.pgConfiguration, name, { configurationName: name, value });
            await handlers[TYPES.pgConfiguration].apply!({ resource: r, verb: "create", name, plan: state.plan });
        }
        assert.deepEqual(calls, ["max_connections=200"]);
        assert.deepEqual(state.timeline.events[0].detail, { max_connections: "200" });
    });
});
