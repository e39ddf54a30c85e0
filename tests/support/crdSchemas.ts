/**
 * Validates custom resources against the real upstream CRDs in `shared/schemas/` (StackGres, ESO).
 *
 * Stricter than `kubectl apply` on one point on purpose: CRD structural schemas do not say
 * `additionalProperties: false`, and the API server silently prunes unknown fields. A misspelt field
 * would be dropped without a trace, so here every object schema with `properties` that does not preserve
 * unknown fields refuses them. Not checked: CEL rules (`x-kubernetes-validations`) and list-map uniqueness.
 *
 * Schemas dir: `$CRD_SCHEMAS_DIR`, else `<repo>/../shared/schemas`, else the fetched cache (`resolveSchemasDir`).
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { threadId } from "worker_threads";
import Ajv, { ErrorObject, ValidateFunction } from "ajv";
import * as YAML from "yaml";
import { version as YAML_VERSION } from "yaml/package.json";
import { PINNED_SCHEMAS, schemaCacheDir, unverifiedSchemas } from "../../testbed/crdSchemas";

/** The files the tests read from the schemas dir: the pinned upstream CRDs (testbed/crdSchemas.ts). */
export const SCHEMA_FILES: readonly string[] = PINNED_SCHEMAS.map((p) => p.file);

const REPO_ROOT = path.resolve(__dirname, "..", "..");

/**
 * Where the upstream CRDs are: `$CRD_SCHEMAS_DIR` when set, else `<repoRoot>/../shared/schemas`, else the per-user
 * cache that `npm run schemas:fetch` fills (.ci/install.sh runs it where the first two are absent). The first place
 * given must hold every pinned file with its pinned sha256 (a set variable that misses one is an error, not a reason
 * to look further). Throws naming what is missing or altered and how to provide it.
 */
export function resolveSchemasDir(env: NodeJS.ProcessEnv = process.env, repoRoot: string = REPO_ROOT): string {
    const shared = path.resolve(repoRoot, "..", "shared", "schemas");
    const [dir, from] =
        env.CRD_SCHEMAS_DIR !== undefined && env.CRD_SCHEMAS_DIR !== ""
            ? [path.resolve(env.CRD_SCHEMAS_DIR), "$CRD_SCHEMAS_DIR"]
            : fs.existsSync(shared)
              ? [shared, "../shared/schemas beside the repository"]
              : [schemaCacheDir(env), "the cache npm run schemas:fetch fills"];
    const unverified = unverifiedSchemas(dir).map((p) => p.file);
    if (unverified.length > 0) {
        const what = fs.existsSync(dir) ? "lacks or holds altered" : "does not exist; it must hold";
        throw new Error(
            `upstream CRD schemas missing: ${dir} (${from}) ${what} ${unverified.join(", ")}. ` +
                "Run `npm run schemas:fetch` (it downloads the pinned upstream files and checks their sha256), set " +
                "CRD_SCHEMAS_DIR to a folder laid out as the project's shared/schemas, or put the project's shared/ " +
                "folder beside the repository. No package registry ships these files.",
        );
    }
    return dir;
}

let schemasDirOfProcess: string | undefined;

/** `resolveSchemasDir()` of this process, resolved when first needed: tests that read no CRD run without them. */
export function schemasDir(): string {
    schemasDirOfProcess ??= resolveSchemasDir();
    return schemasDirOfProcess;
}

type JsonSchema = Record<string, unknown>;

interface CrdVersion {
    readonly served: boolean;
    readonly schema: JsonSchema;
    /** The CRD file, for messages. */
    readonly file: string;
}

/** `<group>/<version>` + kind -> the version's schema, from every CRD under the schemas dir. */
export function loadCrds(dir: string): Map<string, CrdVersion> {
    const crds = new Map<string, CrdVersion>();
    for (const file of yamlFiles(dir)) {
        for (const crd of documentsOf(file) as any[]) {
            if (crd?.kind !== "CustomResourceDefinition") {
                continue;
            }
            for (const version of crd.spec.versions) {
                crds.set(key(`${crd.spec.group}/${version.name}`, crd.spec.names.kind), {
                    served: version.served === true,
                    schema: version.schema.openAPIV3Schema,
                    file,
                });
            }
        }
    }
    return crds;
}

/** Where parsed YAML files are kept as JSON, keyed by their content: shared by every test process. */
const PARSED_DIR = path.join(os.tmpdir(), "data-platform-crd-json");

/**
 * A YAML file's documents, parsed once per content and parser version and then read back as JSON: parsing the
 * CRDs (2 MB of YAML) takes most of a second in each of the half-dozen test processes that validate against them.
 */
function documentsOf(file: string): unknown[] {
    const text = fs.readFileSync(file, "utf8");
    const digest = crypto.createHash("sha256").update(YAML_VERSION).update("\0").update(text).digest("hex");
    const parsed = path.join(PARSED_DIR, `${digest}.json`);
    try {
        return JSON.parse(fs.readFileSync(parsed, "utf8"));
    } catch {
        // Not parsed yet.
    }
    const documents = YAML.parseAllDocuments(text, { merge: true }).map((doc) => {
        if (doc.errors.length > 0) {
            throw new Error(`${file}: ${doc.errors[0].message}`);
        }
        return doc.toJS({ maxAliasCount: -1 });
    });
    // Several processes may parse one file at once: each writes its own file, the rename is atomic.
    fs.mkdirSync(PARSED_DIR, { recursive: true });
    const tmp = `${parsed}.${process.pid}.${threadId}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(documents));
    fs.renameSync(tmp, parsed);
    return documents;
}

function yamlFiles(dir: string): string[] {
    return fs
        .readdirSync(dir, { withFileTypes: true })
        .flatMap((entry) => {
            const full = path.join(dir, entry.name);
            if (entry.isDirectory()) {
                return yamlFiles(full);
            }
            return /\.ya?ml$/.test(entry.name) ? [full] : [];
        })
        .sort();
}

function key(apiVersion: string, kind: string): string {
    return `${apiVersion} ${kind}`;
}

/**
 * The CRD schema with unknown fields refused: `additionalProperties: false` on every object schema that
 * lists `properties` and neither preserves unknown fields nor says anything about additional properties.
 * Schemas inside `anyOf`/`oneOf`/`allOf`/`not` only add constraints to their parent and are left alone.
 */
export function closeSchema(schema: unknown, inJunctor = false): unknown {
    if (Array.isArray(schema)) {
        return schema.map((s) => closeSchema(s, inJunctor));
    }
    if (schema === null || typeof schema !== "object") {
        return schema;
    }
    const node = schema as JsonSchema;
    const out: JsonSchema = {};
    for (const [k, v] of Object.entries(node)) {
        if (k === "properties" && v !== null && typeof v === "object") {
            out[k] = Object.fromEntries(Object.entries(v as JsonSchema).map(([p, s]) => [p, closeSchema(s)]));
        } else if (k === "items" || (k === "additionalProperties" && typeof v === "object")) {
            out[k] = closeSchema(v);
        } else if (k === "anyOf" || k === "oneOf" || k === "allOf" || k === "not") {
            out[k] = closeSchema(v, true);
        } else {
            // `default`, `enum`, `example` and CEL rules are data, not schemas: copied as they are.
            out[k] = v;
        }
    }
    if (
        !inJunctor &&
        "properties" in node &&
        !("additionalProperties" in node) &&
        node["x-kubernetes-preserve-unknown-fields"] !== true
    ) {
        out.additionalProperties = false;
    }
    return out;
}

/** DNS-1123 subdomain (object names) and label (namespaces). */
const DNS_SUBDOMAIN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
const DNS_LABEL = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
const STRING_MAP = { type: "object", additionalProperties: { type: "string" } };

/**
 * The API server accepts `apiVersion`, `kind` and an ObjectMeta at the root of every custom resource, whether
 * or not the CRD lists them (StackGres' CRDs do not). The ObjectMeta fields a program sets are checked here.
 */
const ROOT_FIELDS: JsonSchema = {
    apiVersion: { type: "string" },
    kind: { type: "string" },
    metadata: {
        type: "object",
        required: ["name"],
        additionalProperties: false,
        properties: {
            name: { type: "string", maxLength: 253, pattern: DNS_SUBDOMAIN },
            namespace: { type: "string", maxLength: 63, pattern: DNS_LABEL },
            labels: STRING_MAP,
            annotations: STRING_MAP,
            finalizers: { type: "array", items: { type: "string" } },
        },
    },
};

/** The closed schema of a CRD version, with the root fields every custom resource has. */
export function rootSchema(schema: JsonSchema): JsonSchema {
    const closed = closeSchema(schema) as JsonSchema;
    return {
        ...closed,
        properties: { ...(closed.properties as JsonSchema), ...ROOT_FIELDS },
        additionalProperties: false,
    };
}

const INT32 = 2 ** 31;

/**
 * A CRD pattern as the API server reads it (Go RE2): a leading inline `(?i)`, which JavaScript has no syntax for, is
 * its `i` flag (prometheus-operator's PrometheusRule `partial_response_strategy`: `^(?i)(abort|warn)?$`). Other RE2-only
 * syntax still throws, so a pattern is never silently skipped.
 */
const re2Pattern = Object.assign(
    (pattern: string, flags: string): RegExp => {
        const inline = /^(\^?)\(\?i\)/.exec(pattern);
        return inline
            ? new RegExp(inline[1] + pattern.slice(inline[0].length), `${flags}i`)
            : new RegExp(pattern, flags);
    },
    { code: "re2Pattern" },
);

function newAjv(): Ajv {
    const ajv = new Ajv({
        allErrors: true,
        // A `$ref` (a `spec` shared between kinds, see `compile`) is compiled once, not into each schema naming it.
        inlineRefs: false,
        strict: true,
        // Kubernetes schemas put `required`/`properties` without `type: object` in places; types are still checked.
        strictTypes: false,
        strictRequired: false,
        // CRD patterns are Go RE2 syntax; some use identity escapes that JavaScript's unicode mode refuses.
        unicodeRegExp: false,
        code: { regExp: re2Pattern },
    });
    // Kubernetes extensions: annotations for the API server, except int-or-string which is a type.
    for (const keyword of [
        "x-kubernetes-preserve-unknown-fields",
        "x-kubernetes-list-type",
        "x-kubernetes-list-map-keys",
        "x-kubernetes-map-type",
        "x-kubernetes-validations",
        "x-kubernetes-embedded-resource",
        "example",
    ]) {
        ajv.addKeyword({ keyword: keyword, schemaType: ["boolean", "string", "array", "object"] });
    }
    ajv.addKeyword({
        keyword: "x-kubernetes-int-or-string",
        schemaType: "boolean",
        validate: (on: boolean, data: unknown) => !on || typeof data === "string" || Number.isInteger(data),
        errors: false,
    });
    // The formats the API server checks, as it checks them; int-or-string is carried by the keyword above.
    ajv.addFormat("int32", {
        type: "number",
        validate: (n: number) => Number.isInteger(n) && n >= -INT32 && n < INT32,
    });
    ajv.addFormat("int64", { type: "number", validate: (n: number) => Number.isInteger(n) });
    ajv.addFormat("byte", /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/);
    ajv.addFormat("date-time", /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/);
    ajv.addFormat("int-or-string", true);
    return ajv;
}

/** Validates objects against the CRDs of one schemas directory; compiles each version once. */
export class CrdValidator {
    private readonly crds: Map<string, CrdVersion>;
    private readonly ajv = newAjv();
    private readonly compiled = new Map<string, ValidateFunction>();

    constructor(private readonly dir: string = schemasDir()) {
        this.crds = loadCrds(dir);
    }

    /** The kinds known, as `<apiVersion> <kind>` (served and unserved versions). */
    known(): string[] {
        return [...this.crds.keys()].sort();
    }

    /**
     * Compiles a root schema, its `spec` once per content: kinds that differ only in scope share it (ESO's SecretStore
     * and ClusterSecretStore: 220 kB of provider schemas, half a second to compile).
     */
    private compile(root: JsonSchema): ValidateFunction {
        const properties = root.properties as JsonSchema;
        if (properties.spec === undefined) {
            return this.ajv.compile(root);
        }
        const id = `spec-${crypto.createHash("sha256").update(JSON.stringify(properties.spec)).digest("hex")}`;
        if (!this.ajv.getSchema(id)) {
            this.ajv.addSchema(properties.spec as JsonSchema, id);
        }
        return this.ajv.compile({ ...root, properties: { ...properties, spec: { $ref: id } } });
    }

    /**
     * Problems of `obj` against its CRD, one line each (`<kind>/<name> <path>: <message>`); empty when valid.
     * Throws when no CRD defines the object's apiVersion and kind.
     */
    validate(obj: { apiVersion?: unknown; kind?: unknown; metadata?: unknown; spec?: unknown }): string[] {
        const apiVersion = String(obj.apiVersion);
        const kind = String(obj.kind);
        const crd = this.crds.get(key(apiVersion, kind));
        if (!crd) {
            const sameKind = this.known().filter((k) => k.endsWith(` ${kind}`));
            throw new Error(
                `no CRD for ${apiVersion} ${kind} under ${this.dir}` +
                    (sameKind.length ? `; known: ${sameKind.join(", ")}` : ""),
            );
        }
        const label = `${kind}/${(obj.metadata as { name?: string } | undefined)?.name ?? "(unnamed)"}`;
        if (!crd.served) {
            return [`${label}: ${apiVersion} is not served by ${path.basename(crd.file)}`];
        }
        let validate = this.compiled.get(key(apiVersion, kind));
        if (!validate) {
            validate = this.compile(rootSchema(crd.schema));
            this.compiled.set(key(apiVersion, kind), validate);
        }
        const subject: Record<string, unknown> = { apiVersion: obj.apiVersion, kind: obj.kind, metadata: obj.metadata };
        if (obj.spec !== undefined) {
            subject.spec = obj.spec;
        }
        return validate(subject)
            ? []
            : (validate.errors ?? []).map((e) => `${label} ${e.instancePath || "/"}: ${describe(e)}`);
    }
}

function describe(error: ErrorObject): string {
    const params = error.params as Record<string, unknown>;
    if (error.keyword === "additionalProperties") {
        return `unknown field ${JSON.stringify(params.additionalProperty)}`;
    }
    if (error.keyword === "enum") {
        return `${error.message}: ${JSON.stringify(params.allowedValues)}`;
    }
    return error.message ?? error.keyword;
}

let shared: CrdValidator | undefined;

/** The validator of the default schemas dir, loaded once per process (parsing the CRDs takes most of a second). */
export function sharedCrdValidator(): CrdValidator {
    shared ??= new CrdValidator();
    return shared;
}

/** `validate` with the default schemas dir. */
export function validateAgainstCrd(obj: {
    apiVersion?: unknown;
    kind?: unknown;
    metadata?: unknown;
    spec?: unknown;
}): string[] {
    return sharedCrdValidator().validate(obj);
}
