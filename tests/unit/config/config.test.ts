import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { defaultVaultName } from "../../../components/config";
import { serverName } from "../../../components/postgres/azureSpec";
import { loadStackConfig } from "../../../offline/stackConfig";
import { isProductionStack } from "../../../offline/stacks";
import { processTempDir } from "../../support/tempDir";
import { README } from "../../../cli/updateReadme";
import { ConfigError, parseConfig } from "../../../components/config";
import { parseServer, parseStack, problemLines, stackConfig } from "../../support/config";

function assertProblem(lines: string[], path: string, given: string | RegExp, allowed: RegExp): void {
    const line = lines.find((l) => l.startsWith(`${path}: `));
    assert.ok(line, `no problem reported for ${path}; got:\n${lines.join("\n")}`);
    const givenPart = line.slice(path.length + 2).split("; allowed: ")[0];
    if (typeof given === "string") {
        assert.strictEqual(givenPart, `given ${given}`, line);
    } else {
        assert.match(givenPart, given, line);
    }
    assert.match(line.split("; allowed: ")[1], allowed, line);
}

const dev = loadStackConfig("dev");
const devApps = JSON.parse(dev.config["data-platform:apps"]);
const devPostgres = JSON.parse(dev.config["data-platform:postgres"]);

describe("stack configuration", () => {
    it("accepts the dev and prod stack files and applies profile defaults", () => {
        const d = parseStack("dev");
        const p = parseStack("prod");
        assert.strictEqual(d.profile, "development");
        assert.strictEqual(p.profile, "production");
        assert.strictEqual(d.protect, false);
        assert.strictEqual(p.protect, true);
        assert.strictEqual(p.postgres.azure.highAvailability, "ZoneRedundant");
        assert.strictEqual(p.postgres.azure.geoRedundantBackup, true);
        assert.strictEqual(d.postgres.azure.geoRedundantBackup, false);
        assert.strictEqual(p.redis.tls, true);
        assert.strictEqual(d.redis.mode, "standalone");
        assert.strictEqual(p.apps.find((a) => a.name === "orders")?.secretName, "orders-data");
        assert.strictEqual(p.apps.find((a) => a.name === "orders")?.database, "orders");
        assert.deepStrictEqual(p.apps.find((a) => a.name === "search")?.serviceAccounts, ["search"]);
    });

    it("accepts every section written out as parsed: each default, typed by a user, is valid", () => {
        for (const stack of ["dev", "prod"]) {
            const parsed = parseStack(stack);
            for (const section of ["postgres", "redis", "cluster", "keyVault"] as const) {
                const typed = parseStack(stack, { [`data-platform:${section}`]: parsed[section] });
                assert.deepEqual(typed[section], parsed[section], `${stack}: ${section}`);
            }
        }
    });

    it("accepts the README's example of adding an application", () => {
        const section = fs.readFileSync(README, "utf8").split("### Adding an application")[1];
        const example = section.match(/```yaml\n([\s\S]*?)```/);
        assert.ok(example, "no yaml block under 'Adding an application'");
        const apps = parseStack("dev", YAML.parse(example[1])).apps;
        assert.deepStrictEqual(
            apps.map((a) => a.name),
            ["orders"],
        );
    });

    it("derives a valid, stable Key Vault name per stack and resource group", () => {
        const name = defaultVaultName("dev", "rg-data-platform-dev");
        assert.match(name, /^dp-dev-[0-9a-f]{6}$/);
        assert.strictEqual(defaultVaultName("dev", "rg-data-platform-dev"), name);
        assert.notStrictEqual(defaultVaultName("dev", "rg-other"), name);
        const long = defaultVaultName("a-very-long-stack-name-indeed", "rg");
        assert.ok(long.length <= 24 && /^[a-z][a-z0-9-]*[a-z0-9]$/.test(long) && !long.includes("--"), long);
    });

    // Stateful resources: a new derived name is a new, empty vault or server. Values as the names were first derived.
    it("keeps the derived Key Vault and Flexible Server names of existing stacks, edge cases included", () => {
        const derived = [
            ["dev", "rg-data-platform-dev", "dp-dev-95ac96", "dp-dev-pg-95ac96"],
            ["prod", "rg-data-platform-prod", "dp-prod-ec4d9d", "dp-prod-pg-ec4d9d"],
            ["abcdefghijkl-xyz", "rg", "dp-abcdefghijkl-204864", "dp-abcdefghijkl-xyz-pg-204864"],
            ["Feature/JIRA-123_try", "rg", "dp-feature-jira-540210", "dp-feature-jira-123-try-pg-540210"],
            ["---", "rg", "dp-stack-fb5fb1", "dp-stack-pg-fb5fb1"],
            [`${"x".repeat(39)}-y`, "rg", "dp-xxxxxxxxxxxxx-548408", `dp-${"x".repeat(39)}--pg-548408`],
        ];
        for (const [stack, resourceGroupName, vault, server] of derived) {
            assert.strictEqual(defaultVaultName(stack, resourceGroupName), vault, stack);
            const config = parseServer("prod");
            const named = { ...config, stack, azure: { ...config.azure, resourceGroupName } };
            const postgres = { ...config.postgres, azure: { ...config.postgres.azure, serverName: undefined } };
            assert.strictEqual(serverName({ ...named, postgres }), server, stack);
        }
    });

    describe("rejects, naming the key, what was given and what is allowed", () => {
        it("a wrong type", () => {
            const lines = problemLines("dev", { "data-platform:postgres": { ...devPostgres, maxConnections: "lots" } });
            assertProblem(lines, "data-platform:postgres.maxConnections", '"lots"', /integer from 25 to 5000/);
        });

        it("an unknown key, nested or top-level", () => {
            const lines = problemLines("dev", {
                "data-platform:postgres": { ...devPostgres, modee: "azure" },
                "data-platform:databases": ["x"],
            });
            assertProblem(lines, "data-platform:postgres.modee", '"azure"', /no such key; known keys: mode, version/);
            assertProblem(lines, "data-platform:databases", '["x"]', /no such key; known keys: data-platform:profile/);
        });

        it("an out-of-range number", () => {
            const lines = problemLines("dev", { "data-platform:apps": [{ ...devApps[0], redisDb: 16 }, devApps[1]] });
            assertProblem(
                lines,
                "data-platform:apps[0].redisDb",
                "16",
                /an index from 1 to 15 \(data-platform:redis.databases is 16\)/,
            );
            const zero = problemLines("dev", { "data-platform:apps": [{ ...devApps[0], redisDb: 0 }, devApps[1]] });
            assertProblem(zero, "data-platform:apps[0].redisDb", "0", /integer from 1 to 1023/);
        });

        it("an application entry that is not an object, without a stack trace", () => {
            const lines = problemLines("dev", { "data-platform:apps": [5, devApps[1]] });
            assertProblem(lines, "data-platform:apps[0]", "5", /an object with keys name, namespace/);
        });

        it("a value outside an enumeration", () => {
            const lines = problemLines("dev", { "data-platform:postgres": { ...devPostgres, mode: "mysql" } });
            assertProblem(lines, "data-platform:postgres.mode", '"mysql"', /one of "azure", "stackgres"/);
        });

        it("names Azure would refuse", () => {
            const lines = problemLines("dev", {
                "data-platform:keyVault": { name: "1-bad--vault-name-that-is-too-long" },
                "data-platform:postgres": { ...devPostgres, azure: { serverName: "Bad_Server" } },
            });
            assertProblem(
                lines,
                "data-platform:keyVault.name",
                '"1-bad--vault-name-that-is-too-long"',
                /3-24 letters, digits and single dashes/,
            );
            assertProblem(
                lines,
                "data-platform:postgres.azure.serverName",
                '"Bad_Server"',
                /lowercase letters, digits and dashes/,
            );
        });

        it("names Kubernetes would refuse", () => {
            const lines = problemLines("dev", {
                "data-platform:apps": [{ ...devApps[0], namespace: "Orders_NS" }, devApps[1]],
            });
            assertProblem(lines, "data-platform:apps[0].namespace", '"Orders_NS"', /matching/);
        });

        it("two applications on one namespace, or sharing a Redis database", () => {
            const lines = problemLines("dev", {
                "data-platform:apps": [
                    devApps[0],
                    { ...devApps[1], namespace: devApps[0].namespace, redisDb: devApps[0].redisDb },
                ],
            });
            assertProblem(
                lines,
                "data-platform:apps[1].namespace",
                `"${devApps[0].namespace}"`,
                /not used by another application \(apps\[0\] has it\)/,
            );
            assertProblem(
                lines,
                "data-platform:apps[1].redisDb",
                String(devApps[0].redisDb),
                /not used by another application/,
            );
        });

        it("two applications with one name, naming the entry that has it first", () => {
            const lines = problemLines("dev", {
                "data-platform:apps": [devApps[0], { ...devApps[1], name: devApps[0].name }],
            });
            assertProblem(
                lines,
                "data-platform:apps[1].name",
                `"${devApps[0].name}"`,
                /a name not used by another application \(apps\[0\] has it\)/,
            );
        });

        it("a missing required key", () => {
            const lines = problemLines("dev", { "data-platform:azure": { location: "westeurope" } });
            assertProblem(lines, "data-platform:azure.resourceGroupName", "(missing)", /a string/);
        });

        it("a kubeconfig that was not set as a secret", () => {
            const lines = problemLines("dev", { "data-platform:kubeconfig": "apiVersion: v1\nkind: Config\n" });
            assertProblem(
                lines,
                "data-platform:kubeconfig",
                "a plain-text value",
                /a secret \(pulumi config set --secret kubeconfig/,
            );
        });

        it("rotation values: a whole number, as YAML and `pulumi config set --path` write it, or its decimal string", () => {
            // `pulumi config set --path keyVault.rotations.redis-admin 1` stores the number 1 (pulumi/pulumi
            // sdk/go/common/resource/config/map.go `coerceObject`), and so does YAML's unquoted `1`.
            const kv = YAML.parse(`
rotations:
  redis-admin: 1
  redis-monitor: "2"
  pg-admin: 0
  pg-app-orders: { generation: 1, legacyValue: "2026-01-01" }
`);
            const rotations = parseStack("dev", { "data-platform:keyVault": kv }).keyVault.rotations;
            assert.deepStrictEqual(rotations, {
                "pg-admin": { generation: 0 },
                "pg-app-orders": { generation: 1, legacyValue: "2026-01-01" },
                "redis-admin": { generation: 1 },
                "redis-monitor": { generation: 2 },
            });
        });

        it("rotation values that would replace a password in use with no previous one, saying what to write", () => {
            const at = "data-platform:keyVault.rotations";
            const lines = (value: unknown) =>
                problemLines("dev", { "data-platform:keyVault": { rotations: { "redis-admin": value } } });
            // A date (what many teams write): the password in use is replaced with no previous one.
            assertProblem(
                lines("2026-01-01"),
                `${at}.redis-admin`,
                '"2026-01-01"',
                /whole number.*\{ generation: 1, legacyValue: "2026-01-01" \}/,
            );
            assertProblem(lines("01"), `${at}.redis-admin`, '"01"', /write 1\b/);
            assertProblem(lines(" 3"), `${at}.redis-admin`, '" 3"', /write 3\b/);
            assertProblem(lines(2.5), `${at}.redis-admin`, "2.5", /whole number/);
            assertProblem(lines(-1), `${at}.redis-admin`, "-1", /whole number/);
            assertProblem(lines(""), `${at}.redis-admin`, '""', /whole number/);
            assertProblem(lines(true), `${at}.redis-admin`, "true", /whole number/);
            assertProblem(
                lines({ generation: 1 }),
                `${at}.redis-admin`,
                '{"generation":1}',
                /legacyValue: "<the free-form/,
            );
        });

        it("reports every problem at once, one line each", () => {
            const lines = problemLines("dev", {
                "data-platform:redis": { mode: "cluster", quorum: 0 },
                "data-platform:profile": "staging",
            });
            assert.ok(lines.length >= 3, lines.join("\n"));
            for (const line of lines) {
                assert.ok(!line.includes("\n"), line);
                assert.match(line, /^data-platform:\S+: given .+; allowed: .+$/);
            }
        });
    });
});

describe("the stack's profile, one source for the program and CI", () => {
    it("is required: a stack file without one is refused (the program took it for production, CI for development)", () => {
        const { config, secretKeys } = stackConfig("dev");
        const { ["data-platform:profile"]: _dropped, ...without } = config;
        assert.throws(
            () => parseConfig(without, "dev", secretKeys),
            (err: ConfigError) => {
                assert.deepStrictEqual(
                    err.issues.map((i) => `${i.path}: given ${i.given}; allowed: ${i.allowed}`),
                    [
                        'data-platform:profile: given (missing); allowed: "production" or "development": it chooses protection and defaults here, and the production environment (approval) in CI',
                    ],
                );
                return true;
            },
        );
    });

    it("decides the CI environment from the same key, and CI refuses a stack file without one", () => {
        const file = path.join(processTempDir("profile-"), "Pulumi.x.yaml");
        fs.writeFileSync(file, YAML.stringify({ config: { "data-platform:azure": {} } }));
        assert.throws(
            () => isProductionStack("x", file),
            /data-platform:profile is missing; set it to "production" or "development"/,
        );
        fs.writeFileSync(file, YAML.stringify({ config: { "data-platform:profile": "production" } }));
        assert.equal(isProductionStack("x", file), true);
    });
});
