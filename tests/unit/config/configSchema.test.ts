import * as assert from "assert";
import * as fs from "fs";
import Ajv2020 from "ajv/dist/2020";
import * as YAML from "yaml";
import { ConfigError, parseConfig } from "../../../components/config";
import { loadStackConfig, mergeConfig, stackFile } from "../../../offline/stackConfig";
import { CONFIG_SCHEMA_FILE, caseInsensitive, renderConfigSchema } from "../../../cli/configSchema";

const STACKS = ["dev", "prod"] as const;
const SCHEMA_COMMENT = "# yaml-language-server: $schema=./config.schema.json";

const validate = new Ajv2020({ allErrors: true }).compile(JSON.parse(fs.readFileSync(CONFIG_SCHEMA_FILE, "utf8")));

function stackDocument(stack: string): { config: Record<string, unknown> } {
    return YAML.parse(fs.readFileSync(stackFile(stack), "utf8"));
}

/** The dev stack file's document with `overrides` in its config block. */
function devWith(overrides: Record<string, unknown>): { config: Record<string, unknown> } {
    const doc = stackDocument("dev");
    return { ...doc, config: { ...doc.config, ...overrides } };
}

function parses(doc: { config: Record<string, unknown> }): boolean {
    const { config, secretKeys } = mergeConfig(loadStackConfig("dev"), doc.config);
    try {
        parseConfig(config, "dev", secretKeys);
        return true;
    } catch (err) {
        assert.ok(err instanceof ConfigError, String(err));
        return false;
    }
}

describe("config.schema.json (the stack files' JSON Schema)", () => {
    it("is what `npm run docs:schema` generates from the config schemas", () => {
        assert.deepStrictEqual(
            JSON.parse(fs.readFileSync(CONFIG_SCHEMA_FILE, "utf8")),
            renderConfigSchema(),
            "config.schema.json is stale: run `npm run docs:schema`",
        );
    });

    for (const stack of STACKS) {
        it(`is named on the first line of Pulumi.${stack}.yaml, which it accepts`, () => {
            assert.strictEqual(fs.readFileSync(stackFile(stack), "utf8").split("\n")[0], SCHEMA_COMMENT);
            assert.ok(validate(stackDocument(stack)), JSON.stringify(validate.errors, null, 2));
        });
    }

    describe("agrees with the program on a key's own value", () => {
        const apps = stackDocument("dev").config["data-platform:apps"] as Record<string, unknown>[];
        const cases: [string, Record<string, unknown>, boolean][] = [
            ["a Redis database 0", { "data-platform:apps": [{ ...apps[0], redisDb: 0 }] }, false],
            ["an unknown key of ours", { "data-platform:profil": "development" }, false],
            ["an unknown nested key", { "data-platform:redis": { mode: "standalone", tls_: true } }, false],
            ["a wrong type", { "data-platform:postgres": { mode: "stackgres", maxConnections: "lots" } }, false],
            ["a name Kubernetes refuses", { "data-platform:apps": [{ ...apps[0], namespace: "Orders" }] }, false],
            ["a plain-text kubeconfig", { "data-platform:kubeconfig": "apiVersion: v1" }, false],
            ["another namespace's keys", { "pulumi:tags": { team: "platform" }, "azure-native:location": "x" }, true],
            ["a boolean as `pulumi config set` writes it", { "data-platform:protect": "true" }, true],
            ["an object as JSON text", { "data-platform:redis": '{"mode":"standalone"}' }, true],
            [
                "a resource id in other letter case",
                {
                    "data-platform:keyVault": {
                        publicNetworkAccess: true,
                        existingVaultId: "/SUBSCRIPTIONS/s/resourcegroups/rg/providers/microsoft.keyvault/vaults/kv-a",
                        secretPrefix: "dev",
                    },
                },
                true,
            ],
        ];
        for (const [what, overrides, accepted] of cases) {
            it(`${accepted ? "accepts" : "refuses"} ${what}`, () => {
                const doc = devWith(overrides);
                assert.strictEqual(parses(doc), accepted, "the program's verdict");
                assert.strictEqual(validate(doc), accepted, JSON.stringify(validate.errors, null, 2));
            });
        }
    });

    it("spells a case-insensitive pattern without flags", () => {
        const pattern = new RegExp(caseInsensitive(String.raw`^\/ab[^/]+\.c$`));
        assert.ok(pattern.test("/aBx.C") && !pattern.test("/abx_c"));
        assert.throws(() => caseInsensitive("[a-z]"), /inside a character class/);
    });
});
