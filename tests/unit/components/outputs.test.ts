/**
 * What a stack gives its consumers (`pulumi stack output`) and what the package gives a program that imports it:
 * each application's Secret and the Redis endpoint in the outputs; the components without running the program.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { kubernetesLayout } from "../../../components/redis/layout";
import { parseStack } from "../../support/config";
import { STACKS, runStack } from "../../support/program";

for (const stack of STACKS) {
    describe(`stack outputs (${stack})`, () => {
        it("name each application's Secret and its namespace, and where Redis clients connect", async () => {
            const config = parseStack(stack);
            const run = await runStack(stack);
            assert.deepEqual(
                run.outputs.appSecrets,
                Object.fromEntries(
                    config.apps.map((a) => [a.name, { namespace: a.namespace, secretName: a.secretName }]),
                ),
            );
            const layout = kubernetesLayout(config.redis, config.cluster.platformNamespace);
            const expected =
                config.redis.mode === "sentinel"
                    ? layout.sentinels.map((s) => `${s.host}:${s.port}`).join(",")
                    : `${(layout.standaloneService ?? layout.dataNodes[0]).host}:${(layout.standaloneService ?? layout.dataNodes[0]).port}`;
            assert.equal(run.outputs.redisEndpoints, expected);
        });
    });
}

describe("the package as a library (lib.ts)", () => {
    it("exports the components and the program's builder, and importing it builds nothing (index.ts runs the program)", () => {
        // A process of its own: the Pulumi runtime's mocks are global to a process.
        const code = `
const pulumi = require("@pulumi/pulumi");
const registered = [];
pulumi.runtime.setMocks({
  newResource: (args) => { registered.push(args.type); return { id: args.name + "-id", state: args.inputs }; },
  call: (args) => args.inputs,
}, "lib", "test").then(() => {
  const lib = require("./lib.ts");
  setTimeout(() => console.log(JSON.stringify({ exported: Object.keys(lib).sort(), registered })), 200);
});`;
        const run = spawnSync(process.execPath, ["-r", "./tests/support/register.cjs", "-e", code], {
            cwd: path.resolve(__dirname, "..", "..", ".."),
            encoding: "utf8",
        });
        assert.equal(run.status, 0, run.stderr);
        const { exported, registered } = JSON.parse(run.stdout.trim().split("\n").pop()!) as {
            exported: string[];
            registered: string[];
        };
        for (const name of [
            "buildPlatform",
            "loadConfig",
            "parseConfig",
            "SERVICES",
            "AppData",
            "DataNamespace",
            "KeyVault",
            "SecretSync",
        ]) {
            assert.ok(exported.includes(name), `exports ${name}: ${exported.join(", ")}`);
        }
        assert.deepEqual(registered, []);
    });
});
