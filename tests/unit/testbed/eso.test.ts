/** External Secrets in the testbed (testbed/cluster/eso.ts): reconcile, refresh, retry and deletion, without servers. */
import { strict as assert } from "assert";
import { ExternalSecrets, esoData, reads } from "../../../testbed/cluster/eso";
import { TYPES } from "../../../testbed/plan";
import { NAMESPACE, clusterState, eventLabels, resource } from "../../support/testbed";

function externalSecret(name: string, spec: Record<string, any>) {
    return resource(TYPES.externalSecret, name, { metadata: { namespace: NAMESPACE, name }, spec });
}

const appSecret = externalSecret("app-a", {
    refreshInterval: "15m",
    target: { name: "app-a-env", creationPolicy: "Owner" },
    data: [
        { secretKey: "DB_PASSWORD", remoteRef: { key: "pg-app-a" } },
        { secretKey: "REDIS_USERNAME", remoteRef: { key: "redis-app-a", property: "user" } },
    ],
});

function setup() {
    const state = clusterState();
    const changed: string[] = [];
    const eso = new ExternalSecrets(state, (target) => changed.push(target));
    state.vault.set("pg-app-a", { value: "p1", version: "v1" });
    state.vault.set("redis-app-a", { value: JSON.stringify({ user: "app-a" }), version: "v1" });
    return { state, eso, changed };
}

describe("testbed ESO controller (external-secrets.io: Lifecycle, Owner)", () => {
    it("maps remote keys, properties and dataFrom into the Secret's keys", () => {
        const vault = new Map([
            ["a", { value: "plain" }],
            ["b", { value: JSON.stringify({ p: 1, q: "x" }) }],
        ]);
        const body = {
            spec: {
                data: [
                    { secretKey: "A", remoteRef: { key: "a" } },
                    { secretKey: "P", remoteRef: { key: "b", property: "p" } },
                ],
                dataFrom: [{ extract: { key: "b" } }],
            },
        };
        assert.deepEqual(esoData(vault, body), { A: "plain", P: "1", p: 1, q: "x" });
        assert.deepEqual(reads(body), ["a", "b", "b"]);
        assert.throws(() => esoData(new Map(), body), /Key Vault has no secret a/);
        assert.throws(
            () => esoData(vault, { spec: { data: [{ secretKey: "Z", remoteRef: { key: "b", property: "z" } }] } }),
            /Key Vault secret b has no property z/,
        );
    });

    it("writes the target Secret at once on create, and tells the kubelet only of a real change", async () => {
        const { state, eso, changed } = setup();
        const table = eso.handlers()[TYPES.externalSecret];
        assert.equal(
            await table.apply!({ resource: appSecret, verb: "create", name: "app-a", plan: state.plan }),
            true,
        );
        assert.deepEqual(state.secrets.get(`${NAMESPACE}/app-a-env`), { DB_PASSWORD: "p1", REDIS_USERNAME: "app-a" });
        assert.deepEqual(changed, [`${NAMESPACE}/app-a-env`]);
        assert.deepEqual(eso.sync(`${NAMESPACE}/app-a`), [], "nothing changed");
        assert.equal(changed.length, 1);
        assert.deepEqual(eventLabels(state), [`+0s ESO reconciles ExternalSecret ${NAMESPACE}/app-a (created)`]);
    });

    it("reads a new Key Vault version at the next refresh, which may fall due right after the write", async () => {
        const { state, eso } = setup();
        eso.bootstrap(appSecret);
        state.vault.set("pg-app-a", { value: "p2", version: "v2" });
        await eso.vaultSecretWritten("pg-app-a");
        assert.equal(state.secrets.get(`${NAMESPACE}/app-a-env`)?.DB_PASSWORD, "p1", "not before the refresh");
        await state.timeline.runUntil(() => false, 1);
        assert.equal(state.secrets.get(`${NAMESPACE}/app-a-env`)?.DB_PASSWORD, "p2", "at the earliest refresh");
        await state.timeline.runUntil();
        assert.deepEqual(eventLabels(state), [
            "+0s Key Vault: new version of pg-app-a",
            `+1s ESO refreshes ExternalSecret ${NAMESPACE}/app-a (its refreshInterval 15m falls due just after the write)`,
            `+901s ESO refreshes ExternalSecret ${NAMESPACE}/app-a (refreshInterval 15m later)`,
        ]);
    });

    it("reads the version remoteRef.version pins, whatever Key Vault's newest is", async () => {
        const { state, eso } = setup();
        const versions = new Map([
            ["v1", "p1"],
            ["v2", "p2"],
        ]);
        state.vault.set("pg-app-a", { value: "p2", version: "https://kv/secrets/pg-app-a/v2", versions });
        const pinned = externalSecret("app-a", {
            ...appSecret.inputs.spec,
            data: [{ secretKey: "DB_PASSWORD", remoteRef: { key: "pg-app-a", version: "v1" } }],
        });
        eso.bootstrap(pinned);
        await eso.vaultSecretWritten("pg-app-a");
        await state.timeline.runUntil();
        assert.equal(state.secrets.get(`${NAMESPACE}/app-a-env`)?.DB_PASSWORD, "p1", "a refresh reads the pinned one");
        assert.throws(
            () =>
                esoData(state.vault, {
                    spec: { data: [{ secretKey: "X", remoteRef: { key: "pg-app-a", version: "v3" } }] },
                }),
            /Key Vault secret pg-app-a has no version v3/,
        );
    });

    it("fails a reconcile whose remote secret is missing, and retries it as soon as Key Vault has it", async () => {
        const { state, eso } = setup();
        state.vault.delete("pg-app-a");
        const step = { resource: appSecret, verb: "create" as const, name: "app-a", plan: state.plan };
        await eso.handlers()[TYPES.externalSecret].apply!(step);
        assert.deepEqual([...state.erroring], [`${NAMESPACE}/app-a`]);
        assert.equal(state.secrets.has(`${NAMESPACE}/app-a-env`), false);
        state.vault.set("pg-app-a", { value: "p1", version: "v1" });
        await eso.vaultSecretWritten("pg-app-a");
        assert.deepEqual([...state.erroring], []);
        assert.equal(state.secrets.get(`${NAMESPACE}/app-a-env`)?.DB_PASSWORD, "p1");
        assert.match(
            eventLabels(state)[2],
            /ESO retries ExternalSecret platform\/app-a \(its Key Vault secret exists now\)/,
        );
    });

    it("deletes the Secret with its ExternalSecret under creationPolicy Owner (the kubelet hears of it), and keeps it under Orphan", async () => {
        for (const [policy, kept] of [
            ["Owner", false],
            ["Orphan", true],
        ] as const) {
            const { state, eso, changed } = setup();
            const es = externalSecret("app-a", {
                ...appSecret.inputs.spec,
                target: { name: "app-a-env", creationPolicy: policy },
            });
            eso.bootstrap(es);
            await eso.handlers()[TYPES.externalSecret].remove!(es);
            assert.equal(state.secrets.has(`${NAMESPACE}/app-a-env`), kept, policy);
            assert.deepEqual(changed, kept ? [] : [`${NAMESPACE}/app-a-env`], "pods mounting it optionally lose it");
            assert.equal(state.externalSecrets.size, 0);
        }
    });
});
