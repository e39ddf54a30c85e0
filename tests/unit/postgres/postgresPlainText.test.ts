/**
 * An application whose client code can neither verify a StackGres issuer's CA nor skip verification
 * (`apps[].postgres.tls: false`, seed 003's hand-built URL under node-postgres): its contract says `sslmode=disable`,
 * the server's pg_hba admits its own logins to its own database without TLS (and nobody else), its PgBouncer takes
 * plain clients; refused where that would open a shared server in production, on Azure and in tenant stacks.
 */
import { strict as assert } from "assert";
import type { RunResult } from "../../../offline/mockEngine";
import { postgresEnv } from "../../../components/postgres/env";
import { PG_HBA_MAX_BYTES, pgHbaBytes, stackGresManifests } from "../../../components/postgres/stackgresSpec";
import { LIMITS } from "../../../components/limits";
import { parseServer } from "../../support/config";
import { parseStack, problemLines, sectionOverride } from "../../support/config";
import { byName, runStack } from "../../support/program";

const LEGACY = { name: "legacy", namespace: "legacy", redisDb: 7, poolSize: 2, replicas: 1 };

function withLegacy(stack: string, postgres: Record<string, unknown> = { tls: false }) {
    const apps = parseStack(stack).apps.map(({ name, namespace, redisDb }) => ({ name, namespace, redisDb }));
    return { "data-platform:apps": [...apps, { ...LEGACY, postgres }] };
}

function pooler(run: RunResult, name = "postgres-sgpoolingconfig") {
    return byName(run, "kubernetes:stackgres.io/v1:SGPoolingConfig", name).inputs.spec.pgBouncer["pgbouncer.ini"]
        .pgbouncer;
}

function pgHba(run: RunResult, name = "postgres-sgcluster"): string[] {
    return byName(run, "kubernetes:stackgres.io/v1:SGCluster", name).inputs.spec.configurations.patroni.dynamicConfig
        .postgresql.pg_hba;
}

describe("postgres without TLS for one application (apps[].postgres.tls: false)", function () {
    this.timeout(60_000);

    it("admits its own logins to its own database without TLS, before the rejections, and PgBouncer plain clients", async () => {
        const run = await runStack("dev", withLegacy("dev"));
        const hba = pgHba(run);
        const own = hba.filter((l) => l.startsWith("hostnossl legacy "));
        assert.deepEqual(own, ["hostnossl legacy legacy,legacy_alt all scram-sha-256"]);
        assert.ok(hba.indexOf(own[0]) < hba.indexOf("hostnossl all all 0.0.0.0/0 reject"), hba.join("\n"));
        assert.equal(pooler(run).client_tls_sslmode, "prefer");
    });

    it("keeps TLS required everywhere while no application asks (dev's own stack)", async () => {
        const run = await runStack("dev");
        assert.equal(pooler(run).client_tls_sslmode, "require");
        assert.deepEqual(
            pgHba(run).filter((l) => !l.endsWith(" reject")),
            ["host all all 127.0.0.1/32 md5", "host all all ::1/128 md5"],
        );
    });

    it("hands out sslmode=disable in every key and URL of its contract", () => {
        const endpoint = { host: "db", port: 5433, poolerPort: 5432, sslMode: "require" as const, caCert: "PEM" };
        const login = { database: "legacy", user: "legacy", password: "p" };
        for (const urlFormat of ["libpq", "node-postgres"] as const) {
            const env = postgresEnv(endpoint, login, 1, { tls: false, urlFormat });
            assert.deepEqual([env.DB_SSL_MODE, env.PGSSLMODE], ["disable", "disable"]);
            assert.equal(env.DATABASE_URL, "postgresql://legacy:p@db:5432/legacy?sslmode=disable");
            assert.equal(env.DATABASE_DIRECT_URL, "postgresql://legacy:p@db:5433/legacy?sslmode=disable");
        }
    });

    it("goes back to TLS in two steps (retirePlain): the contract says TLS while its logins are still admitted without it, for pods started before", async () => {
        const run = await runStack("dev", withLegacy("dev", { tls: false, retirePlain: true }));
        assert.equal(pgHba(run).filter((l) => l.startsWith("hostnossl legacy ")).length, 1);
        assert.equal(pooler(run).client_tls_sslmode, "prefer");
        const endpoint = { host: "db", port: 5433, poolerPort: 5432, sslMode: "require" as const };
        const login = { database: "legacy", user: "legacy", password: "p" };
        const env = postgresEnv(endpoint, login, 1, { tls: false, retirePlain: true });
        assert.deepEqual([env.DB_SSL_MODE, env.PGSSLMODE], ["require", "require"]);
        assert.match(env.DATABASE_URL, /\?sslmode=require$/);
        assert.deepEqual(problemLines("dev", withLegacy("dev", { retirePlain: true })), [
            "data-platform:apps[2].postgres.retirePlain: given true; allowed: only with apps[2].postgres.tls: false (step 1 of going back to TLS; then remove both)",
        ]);
    });

    it("1,000 applications without TLS, names at their longest: refused by the size of their pg_hba rules, which Patroni keeps in Kubernetes' annotations; those that fit stay within", () => {
        const server = parseServer("dev");
        const apps = (count: number) =>
            Array.from({ length: count }, (_, i) => ({
                ...server.apps[0],
                name: `app-${i}`,
                // 59 characters: a database name leaves room for `_alt` (config rules).
                database: `app_${String(i).padStart(4, "0")}_`.padEnd(59, "x"),
                postgres: { tls: false },
            }));
        const at1000 = pgHbaBytes(apps(1000));
        console.log(
            `      pg_hba rules of 1,000 applications without TLS: ${at1000} bytes (at most ${PG_HBA_MAX_BYTES})`,
        );
        assert.ok(at1000 > PG_HBA_MAX_BYTES);
        // The config refuses them, naming the key (dev's server, its connection budget raised to hold them).
        const entries = apps(1000).map((a, i) => ({
            name: a.name,
            namespace: a.name,
            database: a.database,
            redisDb: 1 + (i % 15),
            poolSize: 1,
            replicas: 1,
            redis: { group: `g${Math.floor(i / 15)}` },
            postgres: { tls: false },
        }));
        const lines = problemLines("dev", {
            ...sectionOverride("dev", "postgres", { maxConnections: 5000 }),
            ...sectionOverride("dev", "redis", {
                groups: Object.fromEntries(Array.from({ length: 67 }, (_, g) => [`g${g}`, { mode: "standalone" }])),
            }),
            "data-platform:apps": entries,
        });
        assert.ok(
            lines.some((l) =>
                /^data-platform:apps: given "1000 applications without TLS \(pg_hba rules of \d+ bytes\)"; allowed: pg_hba rules of at most 131072 bytes on server postgres: /.test(
                    l,
                ),
            ),
            lines.join("\n"),
        );
        // As many as fit: the SGCluster's Patroni configuration within the annotations' limit.
        const fit = Math.floor(1000 * (PG_HBA_MAX_BYTES / at1000));
        const cluster = stackGresManifests({ ...server, apps: apps(fit) }).find((m) => m.kind === "SGCluster")!;
        const bytes = Buffer.byteLength(JSON.stringify((cluster.spec as any).configurations.patroni.dynamicConfig));
        assert.ok(bytes <= PG_HBA_MAX_BYTES + 1024, `${fit} applications: ${bytes} bytes`);
        assert.ok(bytes < LIMITS.kubernetesAnnotationsBytes.max);
    });

    it("refuses it on a shared server in production, on Azure, and in a tenant stack", () => {
        const why = "(its PgBouncer would take plain connections from every application's clients)";
        const stackgresProd = sectionOverride("prod", "postgres", {
            mode: "stackgres",
            stackgres: { instances: 3, tls: parseStack("dev").postgres.stackgres.tls },
            servers: { legacy: { mode: "stackgres", dedicated: true } },
        });
        assert.deepEqual(problemLines("prod", { ...stackgresProd, ...withLegacy("prod") }), [
            `data-platform:apps[3].postgres.tls: given false; allowed: true in production on a shared server, or the application on a dedicated one (postgres.servers.<name>.dedicated) ${why}`,
        ]);
        assert.equal(
            parseStack("prod", { ...stackgresProd, ...withLegacy("prod", { tls: false, server: "legacy" }) }).apps[3]
                .postgres?.tls,
            false,
        );
        assert.deepEqual(problemLines("prod", withLegacy("prod")), [
            "data-platform:apps[3].postgres.tls: given false; allowed: true with postgres mode azure (Azure requires TLS; its roots are public, which node-postgres verifies with apps[].postgres.urlFormat node-postgres)",
        ]);
    });
});
