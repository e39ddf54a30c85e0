/**
 * Runs the seed applications' client code (`seeds.ts`) against `npm run sandbox` of a stack file that is the stack's
 * own plus each seed's entry (and the Redis groups it names): nothing else changes. Each piece runs as written; where
 * that fails the test checks the failure and runs the smallest change, which must connect. What it observed must
 * equal the committed `seedResults.json`, which the README's seed table is rendered from.
 */
import { strict as assert } from "assert";
import { ChildProcess, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tls from "tls";
import { X509Certificate } from "crypto";
import * as YAML from "yaml";
import {
    SEED_RESULTS_FILE,
    SEED_STACKS,
    SeedPartResult,
    SeedResult,
    SeedStack,
    readSeedResults,
    seedResultsText,
} from "../../cli/seedTable";
import type { PlatformConfig } from "../../components/config";
import { appContractKeys, contractShape } from "../../components/envContract";
import { ROOT, loadStackConfig, stackFile } from "../../offline/stackConfig";
import { parseConfig } from "../../components/config";
import { PYTHON, runCeleryTask } from "./consumers";
import { celeryPython } from "./consumersCurrent";
import { SandboxInfo, parseEnvFile, startSandbox, stopAndCheck } from "./sandboxCli";
import { SEEDS, Seed, SeedCommand, SeedRun, stackKeysOf } from "./seeds";

/**
 * `UPDATE_SEED_RESULTS=1`: write what the tests observe into seedResults.json instead of comparing (then
 * `npm run docs:readme`); never otherwise, so a changed outcome fails `npm test`.
 */
const UPDATE = process.env.UPDATE_SEED_RESULTS === "1";

/** The stack file with every seed's entry and groups added. */
export function seedStackFile(stack: SeedStack): Record<string, unknown> {
    const doc = YAML.parse(fs.readFileSync(stackFile(stack), "utf8"));
    const config = doc.config;
    const redis = config["data-platform:redis"];
    for (const seed of SEEDS) {
        config["data-platform:apps"].push(seed.entry(stack));
        redis.groups = { ...redis.groups, ...seed.groups?.(stack) };
    }
    return doc;
}

interface Outcome {
    readonly ok: boolean;
    readonly out: string;
}

async function execute(command: SeedCommand, run: SeedRun): Promise<Outcome> {
    const env = { ...run.env, ...command.extraEnv?.(run) };
    if (command.kind === "celery") {
        const { result, worker } = await runCeleryTask(celeryPython(), env, command.code as string);
        return result.startsWith("failed: ") ? { ok: false, out: `${result}\n${worker}` } : { ok: true, out: result };
    }
    const [cmd, args] =
        command.kind === "python"
            ? [PYTHON, ["-c", command.code as string]]
            : command.kind === "python-celery"
              ? [celeryPython(), ["-c", command.code as string]]
              : command.kind === "node"
                ? [process.execPath, ["-e", command.code as string]]
                : [command.code[0], command.code.slice(1)];
    const result = spawnSync(cmd, args as string[], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
        encoding: "utf8",
        timeout: 60_000,
    });
    const out = result.status === 0 ? result.stdout.trim() : `${result.error ?? ""}${result.stderr}${result.stdout}`;
    return { ok: result.status === 0, out };
}

/** One stack's seed tests: a sandbox with every seed, one test per piece of code, then the results file check. */
export function describeSeeds(stack: SeedStack): void {
    describe(`seed applications as written, ${stack} sandbox, stack-file entries only`, function () {
        this.timeout(300_000);
        let tmp: string;
        let config: PlatformConfig;
        let started: { child: ChildProcess; info: SandboxInfo } | undefined;
        const observed = new Map<string, SeedPartResult[]>();
        const committed = readSeedResults().filter((r) => r.stack === stack);

        before(async () => {
            tmp = fs.mkdtempSync(path.join(os.tmpdir(), `seeds-${stack}-`));
            const file = path.join(tmp, `Pulumi.${stack}.yaml`);
            fs.writeFileSync(file, YAML.stringify(seedStackFile(stack)));
            const raw = loadStackConfig(stack, file);
            config = parseConfig(raw.config, stack, raw.secretKeys);
            started = await startSandbox(["--stack", stack, "--config-file", file, "--out", path.join(tmp, "out")]);
        });
        after(async () => {
            try {
                if (started) {
                    await stopAndCheck(started.child, started.info);
                }
            } finally {
                fs.rmSync(tmp, { recursive: true, force: true });
            }
        });

        /** The application's Secret as ESO writes it: its contract keys and its own names, nothing the sandbox adds. */
        function seedRun(seed: Seed, part: string): SeedRun {
            const name = seed.entry(stack).name as string;
            const app = config.apps.find((a) => a.name === name);
            assert.ok(app && started, name);
            const written = parseEnvFile(started.info.envFiles[name]);
            const keys = [...appContractKeys(contractShape(config, app), app), ...Object.keys(app.env)];
            const env = Object.fromEntries(keys.map((k) => [k, written[k]]));
            assert.deepEqual(
                keys.filter((k) => env[k] === undefined),
                [],
                `${name}: the sandbox writes every key`,
            );
            const dir = fs.mkdtempSync(path.join(tmp, `${seed.id}-${part.replace(/\W+/g, "-").slice(0, 40)}-`));
            const write = (file: string, text: string) => {
                fs.writeFileSync(path.join(dir, file), text, { mode: 0o600 });
                return path.join(dir, file);
            };
            return {
                env,
                newDir: () => fs.mkdtempSync(path.join(dir, "volume-")),
                write,
                file: (key) => write(key, env[key] ?? assert.fail(`${name}: no ${key} in its Secret`)),
                // Azure's server chains to public roots Node trusts (checked below); the sandbox's CA plays them.
                publicRoots:
                    config.postgres.mode === "azure"
                        ? written.NODE_EXTRA_CA_CERTS && fs.readFileSync(written.NODE_EXTRA_CA_CERTS, "utf8")
                        : undefined,
            };
        }

        if (stack === "prod") {
            it("prod: Azure's PostgreSQL roots are in Node's own store (why the sandbox's CA may stand in for them)", () => {
                const roots = fs.readFileSync(
                    path.join(ROOT, "components/postgres/certs/azure-postgres-roots.pem"),
                    "utf8",
                );
                const node = new Set(tls.rootCertificates.map((pem) => new X509Certificate(pem).fingerprint256));
                const azure = roots.split(/(?=-----BEGIN CERTIFICATE-----)/).filter((b) => b.includes("BEGIN"));
                assert.equal(azure.length, 2);
                for (const pem of azure) {
                    const cert = new X509Certificate(pem);
                    assert.ok(node.has(cert.fingerprint256), cert.subject);
                }
            });
        }

        for (const seed of SEEDS) {
            for (const part of seed.parts) {
                it(`${stack}: seed ${seed.id} ${part.name}`, async () => {
                    const run = seedRun(seed, part.name);
                    const asWritten = await execute(part.asWritten, run);
                    let result: SeedPartResult;
                    if (asWritten.ok) {
                        assert.equal(asWritten.out, part.asWritten.expect(run.env));
                        result = { name: part.name, unmodified: true };
                    } else {
                        const change = part.changes?.[stack];
                        assert.ok(change, `as written it fails, and no change is known:\n${asWritten.out}`);
                        assert.match(asWritten.out, change.failure);
                        const changed = await execute(change.run, run);
                        assert.ok(changed.ok, `with the change it still fails:\n${changed.out}`);
                        assert.equal(changed.out, change.run.expect(run.env));
                        result = { name: part.name, unmodified: false, change: change.what };
                    }
                    observed.set(seed.id, [...(observed.get(seed.id) ?? []), result]);
                    const recorded = committed.find((r) => r.seed === seed.id)?.parts.find((p) => p.name === part.name);
                    if (!UPDATE) {
                        assert.deepEqual(
                            result,
                            recorded,
                            `${stack}: seedResults.json records another outcome for this`,
                        );
                    }
                });
            }
        }

        it(`${stack}: seedResults.json holds exactly what these tests observed (the README table is rendered from it)`, () => {
            const results: SeedResult[] = SEEDS.map((seed) => ({
                seed: seed.id,
                title: seed.title,
                stack,
                stackKeys: stackKeysOf(seed, stack),
                ...(seed.note ? { note: seed.note } : {}),
                parts: observed.get(seed.id) ?? [],
            }));
            if (UPDATE) {
                // Asked for by name only: this stack's rows replaced, the other stack's kept, in the seeds' order.
                const rows = [...readSeedResults().filter((r) => r.stack !== stack), ...results];
                const order = (r: SeedResult) =>
                    SEEDS.findIndex((seed) => seed.id === r.seed) * SEED_STACKS.length + SEED_STACKS.indexOf(r.stack);
                fs.writeFileSync(SEED_RESULTS_FILE, seedResultsText(rows.sort((x, y) => order(x) - order(y))));
                return;
            }
            assert.equal(
                seedResultsText(results),
                seedResultsText(committed),
                `seedResults.json (${stack} rows) differs from what the seed tests observed`,
            );
        });
    });
}
