/**
 * Properties of the configuration alone, over generated stacks (support/generated.ts): every valid one parses and
 * derives names its APIs accept, adding an application renames nothing derived, every broken one is one ConfigError.
 * The properties that run the program are in properties/program.test.ts.
 */
import { strict as assert } from "assert";
import * as fc from "fast-check";
import { ConfigError, PlatformConfig, defaultVaultName } from "../../../components/config";
import { KEY_VAULT_NAME, KEY_VAULT_SECRET_NAME, PG_IDENTIFIER } from "../../../components/config/names";
import { serverName } from "../../../components/postgres/azureSpec";
import { appLogins } from "../../../components/postgres/sql";
import { bundleSecretName, credentialSecretName, platformCredentialIds } from "../../../components/vault";
import { GeneratedApp, PARAMETERS, RUNS, added, addition, generated, parse } from "../../support/generated";
import { postgresServerConfig } from "../../../components/postgres/servers";
import { DEFAULT_INSTANCE } from "../../../components/serviceModule";
import { AZURE_NAMES, fitsLabel } from "../../support/nameRules";

/** Every name the platform derives for a stack, with the limit of the API that takes it. */
function derivedNames(config: PlatformConfig): Array<{ what: string; name: string; ok: boolean }> {
    const names: Array<{ what: string; name: string; ok: boolean }> = [];
    const add = (what: string, name: string, ok: boolean) => names.push({ what, name, ok });
    add("Key Vault name", config.keyVault.name, KEY_VAULT_NAME.test(config.keyVault.name));
    const server = serverName(postgresServerConfig(config, DEFAULT_INSTANCE));
    add("Azure server name", server, AZURE_NAMES.serverName.test(server));
    for (const id of platformCredentialIds(config)) {
        add("Key Vault secret", credentialSecretName(id), KEY_VAULT_SECRET_NAME.test(credentialSecretName(id)));
    }
    for (const app of config.apps) {
        add("bundle secret", bundleSecretName(app.name), KEY_VAULT_SECRET_NAME.test(bundleSecretName(app.name)));
        add("namespace", app.namespace, fitsLabel(app.namespace));
        add("Secret", app.secretName, fitsLabel(app.secretName));
    }
    for (const login of appLogins(config.apps, config.keyVault.rotations)) {
        add("database", login.database, PG_IDENTIFIER.test(login.database) && login.database.length <= 63);
        for (const l of login.logins) {
            add("login", l.name, PG_IDENTIFIER.test(l.name) && l.name.length <= 63);
        }
    }
    return names;
}

describe("properties of generated stack configurations (fast-check)", function () {
    it(`every valid configuration parses, and every derived name fits its API (${RUNS} cases)`, () => {
        fc.assert(
            fc.property(generated, (g) => {
                const config = parse(g);
                assert.equal(config.apps.length, g.apps.length);
                assert.deepEqual(
                    derivedNames(config).filter((n) => !n.ok),
                    [],
                );
            }),
            PARAMETERS,
        );
    });

    it(`adding an unrelated application renames no stateful thing the configuration derives (${RUNS} cases)`, () => {
        fc.assert(
            fc.property(addition(fc.integer({ min: 2, max: 60 })), (c) => {
                const before = parse(c.g);
                const after = parse(added(c));
                assert.equal(after.keyVault.name, before.keyVault.name);
                assert.equal(
                    serverName(postgresServerConfig(after, DEFAULT_INSTANCE)),
                    serverName(postgresServerConfig(before, DEFAULT_INSTANCE)),
                );
                assert.equal(after.postgres.stackgres.clusterName, before.postgres.stackgres.clusterName);
                const keep = (config: PlatformConfig) =>
                    config.apps
                        .filter((a) => a.name !== c.extra.name)
                        .map((a) => [a.name, a.database, a.namespace, a.secretName, bundleSecretName(a.name)])
                        .sort();
                assert.deepEqual(keep(after), keep(before));
                const ids = new Set(platformCredentialIds(after));
                assert.ok(platformCredentialIds(before).every((id) => ids.has(id)));
            }),
            PARAMETERS,
        );
    });

    /** One way to break a valid configuration, and the key its message must name. */
    const breakage = fc.oneof(
        fc.record({
            kind: fc.constant("wrong type"),
            field: fc.constantFrom("poolSize", "replicas", "redisDb"),
            // Not null: a null value means "unset" (the default applies), as in a stack file.
            value: fc.oneof(fc.string(), fc.boolean(), fc.constant([1]), fc.constant({ n: 1 })),
        }),
        fc.record({
            kind: fc.constant("out of range"),
            field: fc.constantFrom("poolSize", "replicas", "redisDb"),
            value: fc.oneof(fc.integer({ min: -50, max: 0 }), fc.integer({ min: 1025, max: 10_000 }), fc.double()),
        }),
        fc.record({ kind: fc.constant("duplicate name"), field: fc.constant("name"), value: fc.constant(null) }),
        fc.record({
            kind: fc.constant("unknown key"),
            field: fc.stringMatching(/^x[a-zA-Z]{0,10}$/),
            value: fc.string(),
        }),
    );

    it(`every invalid configuration is one ConfigError naming the key, never a stack trace (${RUNS} cases)`, () => {
        fc.assert(
            fc.property(
                generated.filter((g) => g.apps.length >= 2),
                breakage,
                fc.nat(),
                (g, broken, pick) => {
                    const i = pick % g.apps.length;
                    const apps: Array<Record<string, unknown>> = g.apps.map((a) => ({ ...a }));
                    if (broken.kind === "duplicate name") {
                        apps[i] = { ...apps[i], name: apps[(i + 1) % apps.length].name };
                    } else {
                        apps[i] = { ...apps[i], [broken.field]: broken.value };
                    }
                    let error: unknown;
                    try {
                        parse({ ...g, apps: apps as unknown as GeneratedApp[] });
                    } catch (err) {
                        error = err;
                    }
                    assert.ok(error instanceof ConfigError, `expected a ConfigError for ${broken.kind}, got ${error}`);
                    const lines = error.message.split("\n").slice(1);
                    assert.ok(
                        lines.length > 0 && lines.every((l) => /^ {2}data-platform:\S+: given /.test(l)),
                        error.message,
                    );
                    assert.ok(
                        error.issues.some((issue) => issue.path.startsWith("data-platform:apps[")),
                        `no line names data-platform:apps[...]: ${error.message}`,
                    );
                },
            ),
            PARAMETERS,
        );
    });

    it("the default vault name fits Key Vault for any stack and resource group name", () => {
        fc.assert(
            fc.property(
                fc.string({ minLength: 1, maxLength: 60 }),
                fc.stringMatching(/^[-\w._()]{1,90}$/),
                (stack, rg) => assert.ok(KEY_VAULT_NAME.test(defaultVaultName(stack, rg)), defaultVaultName(stack, rg)),
            ),
            PARAMETERS,
        );
    });
});
