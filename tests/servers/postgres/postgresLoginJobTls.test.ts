/**
 * The login Job verifies the server it sends the admin password and the logins' verifiers to (issue 29 item 18):
 * where the server's CA is known (Azure's public roots, the issuer's CA of `postgres.stackgres.tls`) it mounts that CA
 * and connects with `sslmode=verify-full`, so a server whose certificate chains to another CA, or names another host,
 * is refused before anything is sent. Run on a real PostgreSQL with TLS, under the host name each stack's Job is
 * rendered with. The check is libpq's, on the client: one server version is enough (`PG_BIN`'s).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { postgresCaCert } from "../../../components/postgres/contract";
import { PG_ADMIN_CREDENTIAL } from "../../../components/postgres/credentials";
import { LOGIN_JOB } from "../../../components/postgres/loginJobSpec";
import { bundleSecretName } from "../../../components/vault/secretNames";
import type { RecordedResource } from "../../../offline/mockEngine";
import { makeCa } from "../../../testbed/servers/certificates";
import { LocalServer, startLocalServer } from "../../../testbed/servers/postgres";
import { prepareAzureLikeServer, runLoginJob } from "../../../testbed/servers/postgresLogins";
import { Overrides, parseServer, parseStack, stackConfig } from "../../support/config";
import { byType, runStack } from "../../support/program";
import { postgresNames } from "../../../components/postgres/servers";
import { LOGINS, passwordsFor } from "../../support/postgres";

const ADMIN = "pgadmin";
const PASSWORDS = passwordsFor("1");

/** The stack's login Job as deployed: its container env by name, its ConfigMap's files, and an app's DB_CA_CERT. */
async function deployedJob(stack: string, overrides: Overrides = {}) {
    const run = await runStack(stack, overrides);
    const one = (type: string, match: (r: RecordedResource) => boolean) => {
        const found = byType(run, type).filter(match);
        assert.equal(found.length, 1, `one ${type} expected`);
        return found[0];
    };
    const job = one("kubernetes:batch/v1:Job", (r) =>
        r.inputs.metadata.name.startsWith(`${postgresNames({}).logins}-`),
    );
    const configMap = one("kubernetes:core/v1:ConfigMap", (r) => r.inputs.metadata.name === postgresNames({}).logins);
    const bundle = one(
        "azure-native:keyvault:Secret",
        (r) => r.inputs.secretName === bundleSecretName(parseStack(stack, overrides).apps[0].name),
    );
    const env: { name: string; value: string }[] = job.inputs.spec.template.spec.containers[0].env;
    return {
        env: Object.fromEntries(env.map((e) => [e.name, e.value])),
        files: configMap.inputs.data as Record<string, string>,
        appCa: JSON.parse(bundle.inputs.properties.value).DB_CA_CERT as string | undefined,
    };
}

/** Roles that may log in, besides the admin and the superuser: what a Job run created. */
async function loginRoles(server: LocalServer): Promise<string[]> {
    const client = new Client({ host: server.socketDir, port: server.port, user: "postgres", database: "postgres" });
    await client.connect();
    try {
        const { rows } = await client.query<{ rolname: string }>(
            "SELECT rolname FROM pg_roles WHERE rolcanlogin AND rolname NOT IN ('postgres', $1) ORDER BY rolname",
            [ADMIN],
        );
        return rows.map((r) => r.rolname);
    } finally {
        await client.end();
    }
}

describe("the login Job verifies the PostgreSQL server's certificate (verify-full where the CA is known)", function () {
    this.timeout(120000);
    const servers: LocalServer[] = [];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dp-login-tls-"));
    after(async () => {
        for (const s of servers) {
            await s.stop();
        }
        fs.rmSync(dir, { recursive: true, force: true });
    });
    /** A server as Azure provides it (the admin and ARM databases), its certificate for `names`. */
    const serverFor = async (names: string[]) => {
        const server = await startLocalServer({ certificateNames: names });
        servers.push(server);
        await prepareAzureLikeServer(server, ADMIN, PASSWORDS[PG_ADMIN_CREDENTIAL], LOGINS);
        return server;
    };

    for (const stack of ["prod", "dev"]) {
        it(`${stack}: the Job mounts the CA its applications get as DB_CA_CERT and connects with verify-full`, async () => {
            const { env, files, appCa } = await deployedJob(stack);
            const ca = postgresCaCert(parseServer(stack).postgres);
            assert.ok(ca, `${stack} has a known server CA`);
            assert.equal(files[LOGIN_JOB.caFile], ca);
            assert.equal(appCa, ca, "the Job trusts exactly the CA the applications are handed");
            assert.equal(env.PGSSLMODE, "verify-full");
            assert.ok(env.PGSSLROOTCERT.endsWith(`/${LOGIN_JOB.caFile}`), env.PGSSLROOTCERT);
        });
    }

    it("dev without postgres.stackgres.tls (the operator signs its own certificate): no CA to verify, sslmode require", async () => {
        const postgres = JSON.parse(String(stackConfig("dev").config["data-platform:postgres"]));
        delete postgres.stackgres.tls;
        const { env, files } = await deployedJob("dev", { "data-platform:postgres": postgres });
        assert.equal(env.PGSSLMODE, "require");
        assert.equal(env.PGSSLROOTCERT, undefined);
        assert.ok(!(LOGIN_JOB.caFile in files));
    });

    for (const stack of ["prod", "dev"]) {
        it(`${stack}: under its rendered host name the Job accepts the server's certificate and refuses another CA's or another host's`, async () => {
            const host = (await deployedJob(stack)).env.PGHOST;
            const job = (server: LocalServer, caCert: string) => () =>
                runLoginJob(server, {
                    adminLogin: ADMIN,
                    logins: LOGINS,
                    sqlOptions: { createDatabases: false, superuser: false, extensions: [] },
                    passwords: PASSWORDS,
                    caCert,
                    host,
                });

            // The certificate names the host the Job connects to and chains to the CA the Job mounts.
            const right = await serverFor([host]);
            job(right, fs.readFileSync(right.caFile, "utf8"))();
            assert.deepEqual(await loginRoles(right), LOGINS.flatMap((l) => l.logins.map((x) => x.name)).sort());

            // An impostor holding a valid certificate for the host from another CA: refused before anything is sent.
            const other = {
                cert: path.join(dir, `${stack}-other-ca.crt`),
                key: path.join(dir, `${stack}-other-ca.key`),
            };
            makeCa(other);
            const impostor = await serverFor([host]);
            assert.throws(job(impostor, fs.readFileSync(other.cert, "utf8")), /certificate verify failed/);
            assert.deepEqual(await loginRoles(impostor), [], "nothing was applied on the impostor");

            // A certificate from the right CA for another name (another server of the same issuer).
            const elsewhere = await serverFor(["other-server.example.internal"]);
            assert.throws(
                job(elsewhere, fs.readFileSync(elsewhere.caFile, "utf8")),
                /server certificate for "other-server\.example\.internal" does not match host name/,
            );
            assert.deepEqual(await loginRoles(elsewhere), [], "nothing was applied on the other host");
        });
    }
});
