/**
 * The upload container's script (components/backup/scripts/upload-blob.sh, rendered) run by the real sh and curl
 * against a loopback model of the two services it calls, each checking what the documentation asks of a request:
 * Microsoft identity platform's token endpoint (client credentials with a federated client assertion: the projected
 * service account token, scope https://storage.azure.com/.default) and Blob Storage's REST API (Put Blob with
 * `x-ms-blob-type: BlockBlob`, List Blobs with `restype=container&comp=list&prefix=`, Delete Blob; a bearer token and
 * `x-ms-version` on each), refusing a path outside the writer's prefix as the role assignment's condition does. The
 * model is this test's; no Azure and no emulator is reachable here.
 */
import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import type { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { BLOB_API_VERSION, renderUploadScript } from "../../../components/backup/spec";

const TENANT = "11111111-2222-3333-4444-555555555555";
const CLIENT_ID = "66666666-7777-8888-9999-000000000000";
const SA_TOKEN = "eyJhbGciOiJSUzI1NiJ9.service-account-token.signature";
const ACCESS_TOKEN = "storage-access-token-for-the-writer";

interface Model {
    readonly url: string;
    readonly blobs: Map<string, Buffer>;
    readonly requests: string[];
    /** The prefix the writer's role assignment condition allows. */
    allowedPrefix: string;
    failToken: boolean;
    close(): Promise<void>;
}

async function startModel(container: string): Promise<Model> {
    const blobs = new Map<string, Buffer>();
    const requests: string[] = [];
    const model = { blobs, requests, allowedPrefix: "", failToken: false } as Model & { url: string };
    const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c) => chunks.push(c));
        req.on("end", () => {
            const body = Buffer.concat(chunks);
            const url = new URL(req.url ?? "/", "http://model");
            requests.push(`${req.method} ${url.pathname}${url.search}`);
            const reply = (status: number, text = "") => {
                res.writeHead(status, { "Content-Type": "application/xml" });
                res.end(text);
            };
            if (url.pathname === `/${TENANT}/oauth2/v2.0/token`) {
                const form = new URLSearchParams(body.toString());
                const ok =
                    !model.failToken &&
                    req.method === "POST" &&
                    form.get("grant_type") === "client_credentials" &&
                    form.get("client_id") === CLIENT_ID &&
                    form.get("scope") === "https://storage.azure.com/.default" &&
                    form.get("client_assertion_type") === "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" &&
                    form.get("client_assertion") === SA_TOKEN;
                res.writeHead(ok ? 200 : 400, { "Content-Type": "application/json" });
                res.end(
                    ok
                        ? JSON.stringify({ token_type: "Bearer", expires_in: 3599, access_token: ACCESS_TOKEN })
                        : JSON.stringify({ error: "invalid_client", error_description: "AADSTS700213: no match" }),
                );
                return;
            }
            if (
                req.headers.authorization !== `Bearer ${ACCESS_TOKEN}` ||
                req.headers["x-ms-version"] !== BLOB_API_VERSION
            ) {
                return reply(403, "<Error><Code>AuthenticationFailed</Code></Error>");
            }
            const prefix = `/${container}/`;
            if (url.pathname === `/${container}` && url.searchParams.get("comp") === "list") {
                const listed = url.searchParams.get("prefix") ?? "";
                if (url.searchParams.get("restype") !== "container" || !listed.startsWith(model.allowedPrefix)) {
                    return reply(403, "<Error><Code>AuthorizationPermissionMismatch</Code></Error>");
                }
                const names = [...blobs.keys()].filter((n) => n.startsWith(listed)).sort();
                return reply(
                    200,
                    `<?xml version="1.0" encoding="utf-8"?><EnumerationResults ContainerName="${container}"><Prefix>${listed}</Prefix><Blobs>` +
                        names.map((n) => `<Blob><Name>${n}</Name><Properties></Properties></Blob>`).join("") +
                        "</Blobs><NextMarker /></EnumerationResults>",
                );
            }
            if (!url.pathname.startsWith(prefix)) {
                return reply(404, "<Error><Code>ContainerNotFound</Code></Error>");
            }
            const name = decodeURIComponent(url.pathname.slice(prefix.length));
            if (!name.startsWith(model.allowedPrefix)) {
                return reply(403, "<Error><Code>AuthorizationPermissionMismatch</Code></Error>");
            }
            if (req.method === "PUT") {
                if (req.headers["x-ms-blob-type"] !== "BlockBlob") {
                    return reply(400, "<Error><Code>MissingRequiredHeader</Code></Error>");
                }
                blobs.set(name, body);
                return reply(201);
            }
            if (req.method === "DELETE") {
                return blobs.delete(name) ? reply(202) : reply(404, "<Error><Code>BlobNotFound</Code></Error>");
            }
            return reply(405);
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    model.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    model.close = () => new Promise((resolve) => server.close(() => resolve()));
    return model;
}

function upload(env: Record<string, string>): Promise<{ status: number | null; out: string }> {
    return new Promise((resolve) => {
        const child = spawn("sh", ["-c", renderUploadScript()], { env: { PATH: process.env.PATH, ...env } });
        let out = "";
        child.stdout.on("data", (d) => (out += d));
        child.stderr.on("data", (d) => (out += d));
        child.on("close", (status) => resolve({ status, out }));
    });
}

describe("upload-blob.sh: the backup's upload as a workload identity, with retention", function () {
    this.timeout(30_000);
    const container = "exports";
    let model: Model;
    let dir: string;
    let env: Record<string, string>;
    beforeEach(async () => {
        model = await startModel(container);
        model.allowedPrefix = "postgres/orders/";
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "dp-upload-"));
        fs.writeFileSync(path.join(dir, "token"), SA_TOKEN);
        fs.writeFileSync(path.join(dir, "export.dump"), Buffer.from("PGDMP dump bytes \u0000\u0001\u0002"));
        env = {
            FILE: path.join(dir, "export.dump"),
            BLOB_ENDPOINT: model.url,
            CONTAINER: container,
            PREFIX: "postgres/orders/",
            SUFFIX: ".dump",
            KEEP: "3",
            AZURE_CLIENT_ID: CLIENT_ID,
            AZURE_TENANT_ID: TENANT,
            AZURE_FEDERATED_TOKEN_FILE: path.join(dir, "token"),
            // As the webhook sets it: with its trailing slash.
            AZURE_AUTHORITY_HOST: `${model.url}/`,
        };
    });
    afterEach(async () => {
        await model.close();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("exchanges the service account token, uploads the file byte for byte under the prefix with a UTC time stamp", async () => {
        const r = await upload(env);
        assert.equal(r.status, 0, r.out);
        const names = [...model.blobs.keys()];
        assert.equal(names.length, 1);
        assert.match(names[0], /^postgres\/orders\/\d{8}T\d{6}Z\.dump$/);
        assert.deepEqual(model.blobs.get(names[0]), fs.readFileSync(env.FILE));
        assert.match(model.requests[0], new RegExp(`^POST /${TENANT}/oauth2/v2.0/token$`));
    });

    it("keeps the newest KEEP under its prefix, deleting the older ones and nothing of another prefix", async () => {
        for (const stamp of ["20260101T030000Z", "20260102T030000Z", "20260103T030000Z", "20260104T030000Z"]) {
            model.blobs.set(`postgres/orders/${stamp}.dump`, Buffer.from("old"));
        }
        model.blobs.set("postgres/billing/20250101T030000Z.dump", Buffer.from("another writer's"));
        const r = await upload(env);
        assert.equal(r.status, 0, r.out);
        const kept = [...model.blobs.keys()].filter((n) => n.startsWith("postgres/orders/")).sort();
        assert.equal(kept.length, 3);
        assert.deepEqual(kept.slice(0, 2), [
            "postgres/orders/20260103T030000Z.dump",
            "postgres/orders/20260104T030000Z.dump",
        ]);
        assert.ok(model.blobs.has("postgres/billing/20250101T030000Z.dump"));
        assert.match(r.out, /deleted exports\/postgres\/orders\/20260101T030000Z\.dump \(keeping 3\)/);
    });

    it("fails, uploading nothing, when the token exchange is refused", async () => {
        model.failToken = true;
        const r = await upload(env);
        assert.notEqual(r.status, 0);
        assert.match(r.out, /AADSTS700213/);
        assert.equal(model.blobs.size, 0);
    });

    it("fails when the writer's condition refuses the path (another prefix)", async () => {
        const r = await upload({ ...env, PREFIX: "postgres/billing/" });
        assert.notEqual(r.status, 0);
        assert.match(r.out, /AuthorizationPermissionMismatch/);
        assert.equal(model.blobs.size, 0);
    });

    it("refuses an empty file (a dump that wrote nothing) without uploading", async () => {
        fs.writeFileSync(env.FILE, "");
        const r = await upload(env);
        assert.notEqual(r.status, 0);
        assert.match(r.out, /is empty: nothing uploaded/);
        assert.equal(model.requests.length, 0);
    });
});
