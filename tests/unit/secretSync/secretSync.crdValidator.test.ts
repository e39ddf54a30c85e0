/** The shared CRD validator must accept valid objects and refuse unknown fields, wrong types and unserved versions. */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as http from "http";
import {
    SCHEMA_FILES,
    closeSchema,
    resolveSchemasDir,
    sharedCrdValidator,
    validateAgainstCrd,
} from "../../support/crdSchemas";
import {
    PINNED_SCHEMAS,
    UPSTREAM_RELEASES,
    fetchSchemas,
    schemaCacheDir,
    unverifiedSchemas,
} from "../../../testbed/crdSchemas";
import { processTempDir } from "../../support/tempDir";

/** Loaded when a test first needs it: without the schemas only the tests that read them fail, each saying why. */
const validator = {
    validate: (obj: object) => sharedCrdValidator().validate(obj),
    known: () => sharedCrdValidator().known(),
};

const externalSecret = (
    spec: Record<string, unknown>,
    metadata: Record<string, unknown> = { name: "app-data", namespace: "app" },
) => ({
    apiVersion: "external-secrets.io/v1",
    kind: "ExternalSecret",
    metadata,
    spec,
});

const validSpec = {
    refreshInterval: "1h",
    secretStoreRef: { kind: "ClusterSecretStore", name: "azure-key-vault" },
    target: { name: "app-data", creationPolicy: "Owner", deletionPolicy: "Retain" },
    data: [{ secretKey: "DB_HOST", remoteRef: { key: "app-app-env", property: "DB_HOST" } }],
};

const sgCluster = (spec: Record<string, unknown>) => ({
    apiVersion: "stackgres.io/v1",
    kind: "SGCluster",
    metadata: { name: "appdb", namespace: "data-platform" },
    spec: { instances: 1, postgres: { version: "16" }, pods: { persistentVolume: { size: "10Gi" } }, ...spec },
});

describe("CRD validator (tests/support/crdSchemas.ts)", () => {
    it("loads every served kind of the shared schemas", () => {
        const known = validator.known();
        for (const kind of [
            "external-secrets.io/v1 ExternalSecret",
            "external-secrets.io/v1 ClusterSecretStore",
            "stackgres.io/v1 SGCluster",
            "stackgres.io/v1beta1 SGObjectStorage",
        ]) {
            assert.ok(known.includes(kind), `${kind} in ${known.join(", ")}`);
        }
    });

    it("accepts a valid ExternalSecret and a valid SGCluster", () => {
        assert.deepEqual(validator.validate(externalSecret(validSpec)), []);
        assert.deepEqual(validator.validate(sgCluster({})), []);
    });

    it("refuses an unknown field, at any depth", () => {
        assert.deepEqual(validator.validate(externalSecret({ ...validSpec, refreshIntervall: "1h" })), [
            'ExternalSecret/app-data /spec: unknown field "refreshIntervall"',
        ]);
        const nested = validator.validate(
            externalSecret({ ...validSpec, data: [{ secretKey: "A", remoteRef: { key: "k", propery: "A" } }] }),
        );
        assert.deepEqual(nested, ['ExternalSecret/app-data /spec/data/0/remoteRef: unknown field "propery"']);
        // StackGres' `managedUsers` does not exist; the API server would silently prune it.
        assert.deepEqual(validator.validate(sgCluster({ managedUsers: [{ name: "app" }] })), [
            'SGCluster/appdb /spec: unknown field "managedUsers"',
        ]);
    });

    it("refuses an unknown metadata field and accepts the root fields StackGres' CRDs do not list", () => {
        assert.deepEqual(validator.validate(externalSecret(validSpec, { name: "app-data", lables: {} })), [
            'ExternalSecret/app-data /metadata: unknown field "lables"',
        ]);
        assert.deepEqual(validator.validate(sgCluster({})), []);
    });

    it("refuses wrong types and values outside an enum", () => {
        assert.deepEqual(validator.validate(sgCluster({ instances: "2" })), [
            "SGCluster/appdb /spec/instances: must be integer",
        ]);
        const problems = validator.validate(
            externalSecret({ ...validSpec, target: { ...validSpec.target, creationPolicy: "Own" } }),
        );
        assert.equal(problems.length, 1);
        assert.match(
            problems[0],
            /\/spec\/target\/creationPolicy: must be equal to one of the allowed values: .*"Owner"/,
        );
        assert.deepEqual(
            validator.validate(
                externalSecret({ ...validSpec, data: [{ secretKey: "DB HOST", remoteRef: { key: "k" } }] }),
            ),
            ['ExternalSecret/app-data /spec/data/0/secretKey: must match pattern "^[-._a-zA-Z0-9]+$"'],
        );
    });

    it("keeps fields the CRD preserves, and checks int-or-string", () => {
        assert.deepEqual(
            validator.validate(
                sgCluster({ configurations: { patroni: { dynamicConfig: { anything: { goes: 1 } } } } }),
            ),
            [],
        );
        assert.equal(validator.validate(sgCluster({ configurations: { patroni: { dynamicConfg: {} } } })).length, 1);
        const port = (targetPort: unknown) =>
            sgCluster({ postgresServices: { primary: { customPorts: [{ name: "x", port: 1234, targetPort }] } } });
        assert.deepEqual(validator.validate(port(8080)), []);
        assert.deepEqual(validator.validate(port("pgport")), []);
        assert.equal(validator.validate(port(true)).length, 1);
    });

    it("refuses versions that are no longer served and throws for kinds without a CRD", () => {
        assert.deepEqual(
            validator.validate({ ...externalSecret(validSpec), apiVersion: "external-secrets.io/v1beta1" }),
            [
                "ExternalSecret/app-data: external-secrets.io/v1beta1 is not served by external-secrets.io_externalsecrets.yaml",
            ],
        );
        assert.throws(
            () =>
                validateAgainstCrd({ apiVersion: "example.io/v1", kind: "Widget", metadata: { name: "w" }, spec: {} }),
            /no CRD for example.io\/v1 Widget/,
        );
    });

    it("closes only object schemas that list properties and do not preserve unknown fields", () => {
        const closed = closeSchema({
            type: "object",
            properties: {
                a: { type: "object", properties: { b: { type: "string" } } },
                free: {
                    type: "object",
                    "x-kubernetes-preserve-unknown-fields": true,
                    properties: { c: { type: "string" } },
                },
                map: {
                    type: "object",
                    additionalProperties: { type: "object", properties: { d: { type: "string" } } },
                },
            },
            anyOf: [{ properties: { a: {} } }],
        }) as any;
        assert.equal(closed.additionalProperties, false);
        assert.equal(closed.properties.a.additionalProperties, false);
        assert.equal(closed.properties.free.additionalProperties, undefined);
        assert.equal(closed.properties.map.additionalProperties.additionalProperties, false);
        assert.equal(closed.anyOf[0].additionalProperties, undefined);
    });
});

describe("where the CRD schemas come from (resolveSchemasDir, fetchSchemas)", () => {
    /** A fresh clone's layout: a repository folder with nothing beside it. */
    const freshClone = () => {
        const root = path.join(processTempDir("crd-schemas-"), "repo");
        fs.mkdirSync(root);
        return root;
    };
    /** The pinned files as this machine has them (verified by their sha256 when resolved). */
    const pinned = () => {
        const from = resolveSchemasDir();
        return new Map(SCHEMA_FILES.map((file) => [file, fs.readFileSync(path.join(from, file))]));
    };
    /** A schemas folder holding `files`, copied from the pinned ones. */
    const schemasWith = (dir: string, files: readonly string[]) => {
        const bytes = pinned();
        for (const file of files) {
            fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
            fs.writeFileSync(path.join(dir, file), bytes.get(file)!);
        }
        return dir;
    };
    /** An environment whose cache is a new folder. */
    const emptyCache = () => ({ XDG_CACHE_HOME: processTempDir("crd-cache-") });

    it("without CRD_SCHEMAS_DIR, ../shared nor a fetched cache, fails naming every missing file and how to provide them", () => {
        const root = freshClone();
        const env = emptyCache();
        assert.throws(
            () => resolveSchemasDir(env, root),
            (err: Error) => {
                assert.ok(
                    err.message.startsWith(
                        `upstream CRD schemas missing: ${schemaCacheDir(env)} (the cache npm run schemas:fetch fills)`,
                    ),
                    err.message,
                );
                assert.match(err.message, / does not exist; /);
                for (const file of SCHEMA_FILES) {
                    assert.ok(err.message.includes(file), `names ${file}`);
                }
                assert.match(err.message, /Run `npm run schemas:fetch`/);
                return true;
            },
        );
    });

    it("takes CRD_SCHEMAS_DIR first, and refuses one that lacks a file or holds an altered one instead of looking further", () => {
        const root = freshClone();
        schemasWith(path.resolve(root, "..", "shared", "schemas"), SCHEMA_FILES);
        const complete = schemasWith(processTempDir("crd-env-"), SCHEMA_FILES);
        assert.equal(resolveSchemasDir({ CRD_SCHEMAS_DIR: complete }, root), complete);
        const partial = schemasWith(processTempDir("crd-env-"), SCHEMA_FILES.slice(1));
        assert.throws(
            () => resolveSchemasDir({ CRD_SCHEMAS_DIR: partial }, root),
            new RegExp(
                `^Error: upstream CRD schemas missing: ${partial} \\(\\$CRD_SCHEMAS_DIR\\) lacks or holds altered ${SCHEMA_FILES[0]}\\. `,
            ),
        );
        fs.appendFileSync(path.join(complete, SCHEMA_FILES[1]), "# edited\n");
        assert.throws(() => resolveSchemasDir({ CRD_SCHEMAS_DIR: complete }, root), new RegExp(SCHEMA_FILES[1]));
    });

    it("finds ../shared/schemas beside the repository when CRD_SCHEMAS_DIR is unset or empty", () => {
        const root = freshClone();
        const shared = schemasWith(path.resolve(root, "..", "shared", "schemas"), SCHEMA_FILES);
        assert.equal(resolveSchemasDir(emptyCache(), root), shared);
        assert.equal(resolveSchemasDir({ ...emptyCache(), CRD_SCHEMAS_DIR: "" }, root), shared);
    });

    /** A raw-content host on loopback serving the pinned files at their upstream paths; `alter` changes one. */
    async function rawHost(alter?: string): Promise<{ url: string; requests: string[]; close: () => void }> {
        const bytes = pinned();
        const bySource = new Map(PINNED_SCHEMAS.map((p) => [`/${p.source}`, bytes.get(p.file)!]));
        const requests: string[] = [];
        const server = http.createServer((req, res) => {
            requests.push(req.url ?? "");
            const body = bySource.get(req.url ?? "");
            if (!body) {
                res.writeHead(404).end();
                return;
            }
            const file = PINNED_SCHEMAS.find((p) => `/${p.source}` === req.url)!.file;
            res.writeHead(200).end(file === alter ? Buffer.concat([body, Buffer.from("# tampered\n")]) : body);
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const { port } = server.address() as { port: number };
        return { url: `http://127.0.0.1:${port}`, requests, close: () => server.close() };
    }

    it("fetches the pinned upstream files into the cache, checks each sha256, and the resolver then finds them there", async () => {
        const host = await rawHost();
        try {
            const env = emptyCache();
            assert.equal(await fetchSchemas(schemaCacheDir(env), host.url), SCHEMA_FILES.length);
            assert.equal(resolveSchemasDir(env, freshClone()), schemaCacheDir(env));
            // Only what is missing is asked for again.
            fs.rmSync(path.join(schemaCacheDir(env), SCHEMA_FILES[2]));
            const before = host.requests.length;
            assert.equal(await fetchSchemas(schemaCacheDir(env), host.url), 1);
            assert.equal(host.requests.length - before, 1);
        } finally {
            host.close();
        }
    });

    it("keeps no file whose bytes differ from the pin, and names it", async () => {
        const tampered = SCHEMA_FILES[3];
        const host = await rawHost(tampered);
        try {
            const dir = schemaCacheDir(emptyCache());
            await assert.rejects(
                fetchSchemas(dir, host.url),
                new RegExp(
                    `could not fetch 1 CRD schema file\\(s\\): ${tampered} from .*: sha256 [0-9a-f]{64}, pinned`,
                ),
            );
            assert.ok(!fs.existsSync(path.join(dir, tampered)));
            assert.deepEqual(
                unverifiedSchemas(dir).map((p) => p.file),
                [tampered],
            );
        } finally {
            host.close();
        }
    });

    it("pins the releases shared/schemas' README names; without shared/, every file resolved matches its pin", () => {
        const dir = resolveSchemasDir();
        const readme = path.join(dir, "README.md");
        if (!fs.existsSync(readme)) {
            // A fetched cache or CRD_SCHEMAS_DIR: no README to compare, so the files themselves against the pins.
            assert.deepEqual(unverifiedSchemas(dir), []);
            return;
        }
        const text = fs.readFileSync(readme, "utf8");
        for (const [folder, release] of Object.entries(UPSTREAM_RELEASES)) {
            const section = text.split(`## ${folder}/`)[1]?.split("\n## ")[0] ?? "";
            assert.match(section, new RegExp(`tag \`${release.tag}\``), `${folder} tag`);
            assert.ok(section.includes(release.commit), `${folder} commit`);
        }
    });
});
