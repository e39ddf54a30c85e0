/**
 * The policy pack as the Pulumi CLI runs it: a copy of policy/ outside the repository with a node_modules holding
 * only the pack's declared dependencies, booted by `@pulumi/pulumi/cmd/run-policy-pack` (ts-node with type
 * checking, as the nodejs language host does), then called over gRPC the way the engine calls an analyzer:
 * GetAnalyzerInfo, Configure (the `--policy-pack-config` file), Analyze per resource, AnalyzeStack.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { EnforcementLevel } from "@pulumi/policy";
import type { RecordedResource, RunResult } from "../../offline/mockEngine";
import { PackConfig, configuredLevel, settingsIn } from "./policyHarness";
import { processTempDir } from "./tempDir";

const ROOT = path.resolve(__dirname, "..", "..");
const PACK_SOURCE = path.join(ROOT, "policy");

// The generated protobuf modules have no typings worth the name; load them the way the policy SDK does.
/* eslint-disable @typescript-eslint/no-require-imports */
const fromPulumi = (id: string) => require(require.resolve(id, { paths: [require.resolve("@pulumi/pulumi")] }));
const grpc = fromPulumi("@grpc/grpc-js");
const analyzerRpc = require("@pulumi/pulumi/proto/analyzer_grpc_pb");
const analyzerPb = require("@pulumi/pulumi/proto/analyzer_pb");
const { Struct } = fromPulumi("google-protobuf/google/protobuf/struct_pb");
const { Empty } = fromPulumi("google-protobuf/google/protobuf/empty_pb");
/* eslint-enable @typescript-eslint/no-require-imports */

const LEVELS: Record<number, EnforcementLevel> = { 0: "advisory", 1: "mandatory", 2: "disabled", 3: "remediate" };

export interface Diagnostic {
    readonly policy: string;
    readonly enforcementLevel: EnforcementLevel;
    readonly message: string;
    readonly urn?: string;
}

/**
 * Copies the pack (without node_modules) to a temporary directory and links exactly its declared dependencies.
 * With `index`, only the pack's manifests and tsconfig are copied and `index` is its whole source: the loader's
 * behaviour on the pack's settings, without type-checking every rule again.
 */
export function stagePack(index?: string): string {
    const dir = processTempDir("policy-pack-");
    const pack = path.join(dir, "policy");
    const topLevelSettings = (src: string) =>
        src === PACK_SOURCE || (path.dirname(src) === PACK_SOURCE && fs.statSync(src).isFile() && !src.endsWith(".ts"));
    const copied = (src: string) =>
        !src.includes(`${path.sep}node_modules`) && (index === undefined || topLevelSettings(src));
    fs.cpSync(PACK_SOURCE, pack, { recursive: true, filter: copied });
    if (index !== undefined) {
        fs.writeFileSync(path.join(pack, "index.ts"), index);
    }
    const manifest = JSON.parse(fs.readFileSync(path.join(pack, "package.json"), "utf8"));
    for (const name of Object.keys({ ...manifest.dependencies, ...manifest.devDependencies })) {
        const link = path.join(pack, "node_modules", name);
        fs.mkdirSync(path.dirname(link), { recursive: true });
        fs.symlinkSync(path.join(ROOT, "node_modules", name), link, "dir");
    }
    return pack;
}

export class Analyzer {
    private constructor(
        private readonly child: ChildProcess,
        private readonly client: any,
    ) {}

    /** Boots the pack in `packDir` with the loader from its own node_modules; resolves once it serves. */
    static async boot(packDir: string, timeoutMs = 180_000): Promise<Analyzer> {
        const loader = path.join(packDir, "node_modules", "@pulumi", "pulumi", "cmd", "run-policy-pack");
        // The engine address is unused by a policy pack; the program is the pack directory (package.json main).
        // Without the tests' ts-node project (tests/support/register.cjs): the pack's own tsconfig, type-checked.
        const { TS_NODE_PROJECT: _, ...env } = process.env;
        const child = spawn(process.execPath, [loader, "127.0.0.1:0", "."], { cwd: packDir, env });
        const port = await new Promise<number>((resolve, reject) => {
            let out = "";
            const timer = setTimeout(() => reject(new Error(`no port after ${timeoutMs} ms: ${out}`)), timeoutMs);
            child.stdout.on("data", (d) => {
                out += d;
                const first = out.split("\n")[0].trim();
                if (/^\d+$/.test(first) && out.includes("\n")) {
                    clearTimeout(timer);
                    resolve(Number(first));
                }
            });
            child.stderr.on("data", (d) => {
                out += d;
            });
            child.on("exit", (code) => {
                clearTimeout(timer);
                reject(new Error(`policy pack exited with ${code}: ${out}`));
            });
        });
        const client = new analyzerRpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
        return new Analyzer(child, client);
    }

    stop(): void {
        this.client.close();
        this.child.kill();
    }

    private call<T>(method: string, request: unknown): Promise<T> {
        return new Promise((resolve, reject) =>
            this.client[method](request, (err: Error | null, res: T) => (err ? reject(err) : resolve(res))),
        );
    }

    async policyNames(): Promise<string[]> {
        const info: any = await this.call("getAnalyzerInfo", new Empty());
        return info.getPoliciesList().map((p: any) => p.getName());
    }

    /** Configure, as `--policy-pack-config <file>` does (the CLI expands `all` to each policy of the pack). */
    async configure(config: PackConfig): Promise<void> {
        const request = new analyzerPb.ConfigureAnalyzerRequest();
        const policies = (await this.policyNames()).filter((p) => p in config || "all" in config);
        for (const policy of policies) {
            const { enforcementLevel: _own, ...properties } = settingsIn(config, policy);
            const enforcementLevel = configuredLevel(config, policy);
            const entry = new analyzerPb.PolicyConfig();
            if (enforcementLevel !== undefined) {
                const level = Object.entries(LEVELS).find(([, l]) => l === enforcementLevel)?.[0];
                entry.setEnforcementlevel(Number(level));
            }
            entry.setProperties(Struct.fromJavaScript(properties));
            request.getPolicyconfigMap().set(policy, entry);
        }
        await this.call("configure", request);
    }

    /** Analyze (inputs) for every resource, then AnalyzeStack (outputs): every diagnostic. */
    async analyzeRun(result: RunResult): Promise<Diagnostic[]> {
        const analyzed = result.resources.filter(
            (r) => !r.type.startsWith("pulumi:providers:") && r.type !== "pulumi:pulumi:Stack",
        );
        const diagnostics: Diagnostic[] = [];
        for (const r of analyzed) {
            const request = new analyzerPb.AnalyzeRequest();
            fill(request, r, r.inputs);
            // The engine attributes a resource diagnostic without a URN to the analyzed resource.
            diagnostics.push(...read(await this.call("analyze", request)).map((d) => ({ ...d, urn: d.urn ?? r.urn })));
        }
        const stack = new analyzerPb.AnalyzeStackRequest();
        stack.setResourcesList(
            analyzed.map((r) => {
                const resource = new analyzerPb.AnalyzerResource();
                fill(resource, r, r.outputs);
                if (r.parent) {
                    resource.setParent(r.parent);
                }
                resource.setDependenciesList(r.dependencies);
                return resource;
            }),
        );
        diagnostics.push(...read(await this.call("analyzeStack", stack)));
        return diagnostics;
    }
}

function fill(message: any, r: RecordedResource, props: Record<string, unknown>): void {
    message.setType(r.type);
    message.setUrn(r.urn);
    message.setName(r.name);
    message.setProperties(Struct.fromJavaScript(JSON.parse(JSON.stringify(props))));
    const options = new analyzerPb.AnalyzerResourceOptions();
    options.setProtect(r.options.protect ?? false);
    options.setIgnorechangesList(r.options.ignoreChanges);
    options.setAdditionalsecretoutputsList(r.options.additionalSecretOutputs);
    options.setAliasesList(r.options.aliases.filter((a): a is string => typeof a === "string"));
    if (r.options.deleteBeforeReplace !== undefined) {
        options.setDeletebeforereplacedefined(true);
        options.setDeletebeforereplace(r.options.deleteBeforeReplace);
    }
    if (r.parent) {
        options.setParent(r.parent);
    }
    message.setOptions(options);
}

/** The diagnostics; the server prefixes each message with the policy's description, as the CLI shows it. */
function read(response: any): Diagnostic[] {
    return response.getDiagnosticsList().map((d: any) => {
        const prefix = `${d.getDescription()}\n`;
        const message: string = d.getMessage();
        return {
            policy: d.getPolicyname(),
            enforcementLevel: LEVELS[d.getEnforcementlevel()],
            message: message.startsWith(prefix) ? message.slice(prefix.length) : message,
            urn: d.getUrn() || undefined,
        };
    });
}
