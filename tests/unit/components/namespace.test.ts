/** Application namespaces: created ones enforce Pod Security "restricted"; adopted ones keep their own labels unless asked. */
import { strict as assert } from "assert";
import type { RunResult } from "../../../offline/mockEngine";
import { stackConfig } from "../../support/config";
import { byName, runStack } from "../../support/program";

const POD_SECURITY_ENFORCE = "pod-security.kubernetes.io/enforce";

describe("application namespaces (dev stack, mock run)", () => {
    const apps = JSON.parse(stackConfig("dev").config["data-platform:apps"]) as Array<Record<string, unknown>>;
    let run: RunResult;
    before(async () => {
        run = await runStack("dev", {
            "data-platform:apps": [
                apps[0],
                { ...apps[1], createNamespace: false },
                {
                    name: "reports",
                    namespace: "reports",
                    redisDb: 3,
                    createNamespace: false,
                    podSecurity: "restricted",
                },
            ],
        });
    });
    const labels = (type: string, app: unknown) =>
        byName(run, `kubernetes:core/v1:${type}`, `app-${String(app)}-ns`).inputs.metadata.labels as Record<
            string,
            string
        >;

    it("a created namespace enforces restricted", () => {
        assert.equal(labels("Namespace", apps[0].name)[POD_SECURITY_ENFORCE], "restricted");
    });

    it("an adopted namespace keeps its Pod Security labels (its running workloads are not refused at their next rollout), and is still marked a data consumer", () => {
        const adopted = labels("NamespacePatch", apps[1].name);
        assert.deepEqual(
            Object.keys(adopted).filter((l) => l.startsWith("pod-security.kubernetes.io/")),
            [],
        );
        assert.equal(adopted["data-platform.io/consumer"], "true");
    });

    it("an adopted namespace enforces restricted when the application asks (apps[].podSecurity)", () => {
        assert.equal(labels("NamespacePatch", "reports")[POD_SECURITY_ENFORCE], "restricted");
    });
});
