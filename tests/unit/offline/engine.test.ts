import * as assert from "assert";
import * as path from "path";
import * as v8 from "v8";
import * as vm from "vm";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as k8s from "@pulumi/kubernetes";
import * as authorization from "@pulumi/azure-native/authorization";
import { ConfigError, loadConfig } from "../../../components/config";
import { NAMESPACE_COMPONENT_TYPE } from "../../../components/namespace";
import { buildPlatform } from "../../../components/platform";
import { RecordedResource, RunResult, runProgram } from "../../../offline/mockEngine";
import { loadStackConfig, mergeConfig } from "../../../offline/stackConfig";
import { formatPath, parsePath, replaceAtPaths } from "../../../offline/paths";
import { passwordForms } from "../../support/passwordLeaks";
import { STACKS, runStack } from "../../support/program";
import { generatedStack } from "../../../offline/generatedStack";

// The SDK's promise bookkeeping (@internal, stripped from the typings).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sdkDebuggable = require("@pulumi/pulumi/runtime/debuggable") as { debugPromiseLeaks: boolean };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sdkState = require("@pulumi/pulumi/runtime/state") as { getStore(): { leakCandidates: Set<Promise<unknown>> } };

const minimalConfig = loadStackConfig("dev");
// For the test that a finished run is garbage: `gc` in a fresh context, without --expose-gc for the whole process.
v8.setFlagsFromString("--expose-gc");

/** Runs a small inline program under the engine. */
function runInline(program: () => unknown): Promise<RunResult> {
    return runProgram({ stack: "engine-test", ...minimalConfig, program });
}

function find(result: RunResult, name: string): RecordedResource {
    const r = result.resources.find((x) => x.name === name);
    assert.ok(r, `no resource ${name}`);
    return r;
}

describe("mock engine", () => {
    it("records resource options as the engine receives them", async () => {
        const result = await runInline(() => {
            const first = new random.RandomPassword("first", { length: 32 });
            new random.RandomPassword(
                "second",
                { length: 32, keepers: { rotation: "1" } },
                {
                    protect: true,
                    retainOnDelete: true,
                    ignoreChanges: ["keepers"],
                    deleteBeforeReplace: true,
                    dependsOn: [first],
                    aliases: [{ name: "old-second" }],
                },
            );
        });
        const second = find(result, "second");
        assert.strictEqual(second.options.protect, true);
        assert.strictEqual(second.options.retainOnDelete, true);
        assert.strictEqual(second.options.deleteBeforeReplace, true);
        assert.deepStrictEqual(second.options.ignoreChanges, ["keepers"]);
        assert.ok(second.options.aliases.length === 1, JSON.stringify(second.options.aliases));
        assert.deepStrictEqual(second.dependsOn, [find(result, "first").urn]);
        assert.strictEqual(find(result, "first").options.protect, undefined);
        assert.deepStrictEqual(second.options.additionalSecretOutputs.sort(), ["bcryptHash", "result"]);
    });

    it("applies additionalSecretOutputs, so a generated password stays secret where it flows", async () => {
        const result = await runInline(() => {
            const password = new random.RandomPassword("pw", { length: 40, overrideSpecial: "#%&" });
            new k8s.core.v1.ConfigMap("uses-password", {
                metadata: { name: "x" },
                data: { url: pulumi.interpolate`redis://u:${password.result}@h` },
            });
            return { leaked: password.result };
        });
        const configMap = find(result, "uses-password");
        assert.deepStrictEqual(configMap.secretPaths, ["data.url"]);
        assert.match(configMap.inputs.data.url, /^redis:\/\/u:.{40}@h$/);
        assert.deepStrictEqual(result.outputSecretPaths, ["leaked"]);
    });

    it("records dependencies through inputs separately from explicit ones", async () => {
        const result = await runInline(() => {
            const password = new random.RandomPassword("pw", { length: 32 });
            new k8s.core.v1.ConfigMap("cm", {
                metadata: { name: "cm" },
                data: { length: password.length.apply(String) },
            });
        });
        const cm = find(result, "cm");
        const pw = find(result, "pw");
        assert.deepStrictEqual(cm.propertyDependencies.data, [pw.urn]);
        assert.deepStrictEqual(cm.dependsOn, []);
        assert.ok(cm.dependencies.includes(pw.urn));
    });

    it("fails the run on an invoke it has no realistic answer for", async () => {
        await assert.rejects(
            runInline(() => authorization.getRoleDefinitionOutput({ roleDefinitionId: "x", scope: "y" }).id),
            /no mocked answer for invoke azure-native:authorization:getRoleDefinition/,
        );
    });

    it("fails the run when the program throws inside an apply", async () => {
        await assert.rejects(
            runInline(() => {
                const value = pulumi.output("x").apply((): string => {
                    throw new Error("refused inside apply");
                });
                new k8s.core.v1.ConfigMap("cm", { metadata: { name: "cm" }, data: { value } });
            }),
            /refused inside apply/,
        );
    });

    it("fails the run, not waits forever, when the stack outputs wait on a resource whose input threw", async () => {
        // The real language host reports the rejection and exits once nothing is left to run; the stack's outputs
        // would otherwise wait for a registration that never happens.
        await assert.rejects(
            runInline(() => {
                const value = pulumi.output("x").apply((): string => {
                    throw new Error("refused inside apply");
                });
                return { name: new k8s.core.v1.ConfigMap("cm", { metadata: { name: "cm" }, data: { value } }).id };
            }),
            /refused inside apply/,
        );
    });

    it("refuses two resources with one URN, as the real engine does", async () => {
        await assert.rejects(
            runInline(() => {
                new random.RandomPassword("same", { length: 32 });
                new random.RandomPassword("same", { length: 32 });
            }),
            /duplicate URN/,
        );
    });

    it("stops on invalid configuration before any resource of the program is registered", async () => {
        const registered: string[] = [];
        const { config, secretKeys } = mergeConfig(minimalConfig, { "data-platform:redis": { mode: "cluster" } });
        await assert.rejects(
            runProgram({ stack: "dev", config, secretKeys, onRegister: (r) => registered.push(r.type) }),
            (err: unknown) =>
                err instanceof ConfigError && /data-platform:redis\.mode: given "cluster"/.test(err.message),
        );
        assert.deepStrictEqual(
            registered.filter((t) => t !== "pulumi:pulumi:Stack"),
            [],
        );
    });

    it("captures no stack for the SDK's own bookkeeping during a run, and maps every other error's stack", async () => {
        // Stands in for the source-map-support hook ts-node installs; counts whose stacks it formats.
        const mappedFrom: (string | null)[] = [];
        const sourceMapHook = (error: Error, frames: NodeJS.CallSite[]) => {
            mappedFrom.push(frames[0]?.getFileName() ?? null);
            return `mapped ${error.message}`;
        };
        const installed = Error.prepareStackTrace;
        Error.prepareStackTrace = sourceMapHook;
        let programStack: string | undefined;
        try {
            await runInline(() => {
                const first = new random.RandomPassword("first", { length: 32 });
                new random.RandomPassword("second", { length: 32 }, { dependsOn: [first] });
                programStack = new Error("from the program").stack;
            });
            assert.strictEqual(Error.prepareStackTrace, sourceMapHook, "the run restores the hook it found");
        } finally {
            Error.prepareStackTrace = installed;
        }
        assert.strictEqual(programStack, "mapped from the program");
        const sdk = mappedFrom.filter((file) => file?.includes(`${path.sep}@pulumi${path.sep}pulumi${path.sep}`));
        assert.deepStrictEqual(sdk, [], "stacks the SDK captures for itself went through the source-map hook");
    });

    it("tracks the SDK's promises as leak candidates; their debugging context only with PULUMI_DEBUG_PROMISE_LEAKS", async () => {
        const candidates = (): Set<Promise<unknown> & { _debugCtx?: string }> => sdkState.getStore().leakCandidates;
        const seen = async (debugPromiseLeaks: boolean) => {
            const saved = sdkDebuggable.debugPromiseLeaks;
            sdkDebuggable.debugPromiseLeaks = debugPromiseLeaks;
            let during: Array<{ _debugCtx?: string }> = [];
            try {
                await runInline(() => {
                    new random.RandomPassword("pw", { length: 32 });
                    during = [...candidates()];
                });
            } finally {
                sdkDebuggable.debugPromiseLeaks = saved;
            }
            return { during, after: candidates().size };
        };
        const lean = await seen(false);
        assert.ok(lean.during.length > 0, "no promise was tracked while the registration was pending");
        assert.strictEqual(lean.after, 0, "a settled promise stayed a leak candidate");
        assert.deepStrictEqual(
            lean.during.filter((p) => p._debugCtx !== undefined),
            [],
        );
        const debug = await seen(true);
        assert.ok(debug.during.length > 0 && debug.during.every((p) => typeof p._debugCtx === "string"));
        assert.strictEqual(debug.after, 0);
    });

    it("keeps nothing of an earlier run of the program alive", async () => {
        // A run's exports reach its whole resource graph; a process that runs the program many times (the property
        // tests) must not keep them. (The first run's module stays: modules it loaded first name it their parent.)
        const run = () => runProgram({ stack: "dev", ...minimalConfig });
        await run();
        await run();
        let collected = false;
        const registry = new FinalizationRegistry(() => (collected = true));
        registry.register(require.cache[require.resolve("../../../index.ts")]!.exports, "the second run's exports");
        await run();
        // A finalizer runs in a task after the collection, and under load one collection and 10 ms were not always
        // enough (seen in fresh-clone unit runs): so a few, each with a pause. A kept reference still fails.
        const gc = vm.runInNewContext("gc") as () => void;
        for (let attempt = 0; attempt < 10 && !collected; attempt++) {
            gc();
            await new Promise((resolve) => setTimeout(resolve, 20));
        }
        assert.ok(collected, "the second run's exports are still reachable after the third run");
    });

    it("round-trips property paths whose keys contain dots and slashes", () => {
        const segments = ["metadata", "labels", "app.kubernetes.io/name", 0, "x"];
        assert.strictEqual(formatPath(segments), 'metadata.labels["app.kubernetes.io/name"][0].x');
        assert.deepStrictEqual(parsePath(formatPath(segments)), segments);
        const masked = replaceAtPaths({ a: { "b.c": ["keep", "hide"] } }, ['a["b.c"][1]'], "[secret]");
        assert.deepStrictEqual(masked, { a: { "b.c": ["keep", "[secret]"] } });
    });
});

describe("the program under the mock engine", () => {
    for (const stack of STACKS) {
        describe(`stack ${stack}`, () => {
            it("uses the one explicit Kubernetes provider for every Kubernetes resource, and an explicit Azure provider", async () => {
                const result = await runStack(stack);
                const k8sProviders = result.resources.filter((r) => r.type === "pulumi:providers:kubernetes");
                assert.strictEqual(k8sProviders.length, 1);
                const azureProviders = result.resources.filter((r) => r.type === "pulumi:providers:azure-native");
                assert.strictEqual(azureProviders.length, 1);
                for (const r of result.resources.filter((x) => x.custom && !x.type.startsWith("pulumi:providers:"))) {
                    const expected = r.type.startsWith("kubernetes:")
                        ? k8sProviders[0]
                        : r.type.startsWith("azure-native:")
                          ? azureProviders[0]
                          : undefined;
                    if (expected) {
                        assert.ok(
                            r.provider?.startsWith(`${expected.urn}::`),
                            `${r.type} ${r.name} uses provider ${r.provider}`,
                        );
                    }
                }
                for (const invoke of result.invokes) {
                    assert.ok(invoke.token.startsWith("azure-native:"), invoke.token);
                }
            });

            it("records the kubeconfig, every generated password, and every input containing one, as secret", async () => {
                const result = await runStack(stack);
                const provider = result.resources.find((r) => r.type === "pulumi:providers:kubernetes");
                assert.ok(provider?.secretPaths.includes("kubeconfig"));
                const passwords = result.resources
                    .filter((r) => r.type === "random:index/randomPassword:RandomPassword")
                    .map((r) => r.outputs.result as string);
                for (const r of result.resources) {
                    for (const [path, text] of leaves(r.inputs)) {
                        const secretAbove = r.secretPaths.some(
                            (p) => path === p || path.startsWith(`${p}.`) || path.startsWith(`${p}[`) || p === "",
                        );
                        for (const pw of passwords) {
                            assert.ok(
                                !passwordForms(pw).some((f) => text.includes(f)) || secretAbove,
                                `${r.type} ${r.name} input ${path} contains a password in clear`,
                            );
                        }
                    }
                }
                for (const [path, text] of leaves(result.outputs)) {
                    for (const pw of passwords) {
                        assert.ok(
                            !passwordForms(pw).some((f) => text.includes(f)) ||
                                result.outputSecretPaths.some((p) => path.startsWith(p)),
                            `stack output ${path} contains a password`,
                        );
                    }
                }
            });

            it("gives each registration a unique (type, name, parent)", async () => {
                const result = await runStack(stack);
                const keys = result.resources.map((r) => `${r.type}|${r.name}|${r.parent ?? ""}`);
                assert.strictEqual(new Set(keys).size, keys.length);
            });
        });
    }
});

describe("the program's registrations under the mock engine", () => {
    it("builds one application at a time: everything of an application is registered before the next one's namespace", async () => {
        // Without a turn of the event loop between applications every registration waits at once: prod with 100
        // applications held 1,035 MiB at its peak (`npm run bench`), against 711 MiB one application at a time.
        const apps = 5;
        const completed: RecordedResource[] = [];
        await runProgram({ stack: `apps${apps}`, ...generatedStack(apps), onRegister: (r) => completed.push(r) });
        const appName = (i: number) => `app-${String(i).padStart(3, "0")}`;
        const namespaceOf = (i: number) =>
            completed.findIndex((r) => r.type === NAMESPACE_COMPONENT_TYPE && r.name === `app-${appName(i)}`);
        for (let i = 1; i < apps; i++) {
            const next = namespaceOf(i + 1);
            assert.ok(next >= 0, `no namespace of ${appName(i + 1)}`);
            const late = completed.slice(next).filter((r) => r.urn.includes(appName(i)));
            assert.deepEqual(
                late.map((r) => `${r.type} ${r.name}`),
                [],
                `registered after the namespace of ${appName(i + 1)}`,
            );
        }
    });

    it("starts no more than 10 credentials' registrations in one turn of the event loop", async () => {
        // Every password and its Key Vault secret made in one synchronous stretch waited for the engine at once:
        // prod with 100 applications held 711 MiB at its peak (`npm run bench`), against about 400 MiB in batches.
        const apps = 20;
        const vaultSecretsPerTurn = new Map<number, number>();
        let turn = 0;
        let running = true;
        const tick = () => {
            turn++;
            if (running) {
                setImmediate(tick);
            }
        };
        const program = () => {
            pulumi.runtime.registerStackTransformation(({ type, name }) => {
                if (type === "azure-native:keyvault:Secret" && name.startsWith("credentials-")) {
                    vaultSecretsPerTurn.set(turn, (vaultSecretsPerTurn.get(turn) ?? 0) + 1);
                }
                return undefined;
            });
            setImmediate(tick);
            return Promise.resolve(buildPlatform(loadConfig())).finally(() => (running = false));
        };
        const result = await runProgram({ stack: `apps${apps}`, ...generatedStack(apps), program });
        const credentials = result.resources.filter((r) => r.name.startsWith("credentials-") && r.name.endsWith("-kv"));
        assert.ok(credentials.length > 3 * apps, `${credentials.length} credentials`);
        assert.strictEqual(
            [...vaultSecretsPerTurn.values()].reduce((a, b) => a + b, 0),
            credentials.length,
        );
        assert.ok(
            Math.max(...vaultSecretsPerTurn.values()) <= 10,
            `credentials per turn: ${[...vaultSecretsPerTurn.values()].join(", ")}`,
        );
    });
});

/** Every string leaf of a value with its path. */
function leaves(value: unknown, at: (string | number)[] = []): [string, string][] {
    if (typeof value === "string") {
        return [[formatPath(at), value]];
    }
    if (Array.isArray(value)) {
        return value.flatMap((v, i) => leaves(v, [...at, i]));
    }
    if (value !== null && typeof value === "object") {
        return Object.entries(value).flatMap(([k, v]) => leaves(v, [...at, k]));
    }
    return [];
}
