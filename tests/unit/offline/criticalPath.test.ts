/** The deploy critical path (`npm run bench`): computed on the recorded dev and prod plans and on a small graph. */
import { strict as assert } from "assert";
import type { Plan, PlanResource } from "../../../offline/plan";
import { toPlan } from "../../../offline/plan";
import { SOURCE_VERSIONS_ANNOTATION } from "../../../components/secretSync/spec";
import {
    DEPLOY_DURATIONS,
    azureWaitsForNamespace,
    criticalPath,
    externalSecretsWaitingForRefresh,
} from "../../../offline/criticalPath";
import { STACKS, runStack } from "../../support/program";

function resource(
    name: string,
    type: string,
    dependencies: string[],
    inputs: Record<string, unknown> = {},
    data: string[] = dependencies,
): PlanResource {
    return {
        urn: `urn:${name}`,
        type,
        name,
        custom: true,
        dependencies: dependencies.map((d) => `urn:${d}`),
        dependsOn: [],
        propertyDependencies: { input: data.map((d) => `urn:${d}`) },
        options: { ignoreChanges: [], replaceOnChanges: [], additionalSecretOutputs: [], aliases: [] },
        inputs,
        secretPaths: [],
    };
}

function externalSecret(name: string, dependencies: string[], annotated: boolean): PlanResource {
    return resource(name, "kubernetes:external-secrets.io/v1:ExternalSecret", dependencies, {
        metadata: { name, annotations: annotated ? { [SOURCE_VERSIONS_ANNOTATION]: "v" } : undefined },
        spec: { refreshInterval: "1h", data: [{ secretKey: "k", remoteRef: { key: "pg-admin" } }] },
    });
}

describe("deploy critical path", () => {
    for (const stack of STACKS) {
        it(`${stack}: no Azure resource waits for a Kubernetes Namespace, no refresh-interval wait anywhere`, async () => {
            const plan = toPlan(await runStack(stack));
            assert.deepEqual(azureWaitsForNamespace(plan), []);
            assert.deepEqual(externalSecretsWaitingForRefresh(plan), []);
            const path = criticalPath(plan);
            assert.equal(path.refreshWaits, 0);
            assert.ok(path.steps.length > 1 && path.seconds > 0);
        });
    }

    it("takes the longest chain, adds refresh waits, and lists the edges that carry no data", () => {
        const secret = resource("kv", "azure-native:keyvault:Secret", [], { secretName: "pg-admin" });
        const server = resource("server", "azure-native:dbforpostgresql:Server", []);
        const plan = (annotated: boolean, ordered: boolean): Plan => ({
            stack: "unit",
            outputs: {},
            resources: [
                secret,
                server,
                resource("db", "azure-native:dbforpostgresql:Database", ["server"], {}, []),
                externalSecret("es", ordered ? ["kv"] : [], annotated),
            ],
        });
        const fast = criticalPath(plan(true, true));
        assert.deepEqual(
            fast.steps.map((s) => s.name),
            ["server", "db"],
        );
        assert.equal(
            fast.seconds,
            DEPLOY_DURATIONS["azure-native:dbforpostgresql:Server"].seconds +
                DEPLOY_DURATIONS["azure-native:dbforpostgresql:Database"].seconds,
        );
        assert.deepEqual(fast.dataLessEdges, ["server -> db"]);
        assert.equal(fast.refreshWaits, 0);
        for (const [annotated, ordered] of [
            [false, true],
            [true, false],
        ]) {
            const slow = criticalPath(plan(annotated, ordered));
            assert.equal(slow.refreshWaits, 1, `annotated ${annotated}, ordered ${ordered}`);
            assert.equal(slow.steps.at(-1)?.refreshWait, 3600);
            assert.deepEqual(externalSecretsWaitingForRefresh(plan(annotated, ordered)), ["es"]);
        }
        for (const [type, d] of Object.entries(DEPLOY_DURATIONS)) {
            assert.ok(d.seconds > 0 && d.source.length > 0, `${type} has a figure and its source`);
        }
    });
});
