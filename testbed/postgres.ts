/**
 * PostgreSQL for the lifecycle harness: one real server on loopback playing the stack's mode. Azure: the server admin
 * (NOSUPERUSER, CREATEROLE, in `azure_pg_admin`) with the password ARM sets, databases created by ARM, server
 * parameters as Azure applies them (static ones at a restart). StackGres: the superuser `postgres` with the password
 * the SGCluster's credentials Secret gives it; the login Job runs as it.
 */
import { Client, QueryResult } from "pg";
import { sqlLiteral } from "../components/postgres/sql";
import { LocalServer, restartLocalServer, startLocalServer, superuserSql } from "./servers/postgres";
import { createAzureAdmin, createAzureDatabase, prepareStackGresLikeServer } from "./servers/postgresLogins";

export class LifecyclePostgres {
    private constructor(
        readonly server: LocalServer,
        readonly mode: "azure" | "stackgres",
        private readonly adminLogin: string | undefined,
    ) {}

    /** Azure: the server as ARM creates it; StackGres: a fresh cluster. */
    static async start(options: {
        mode: "azure" | "stackgres";
        maxConnections: number;
        adminLogin?: string;
        adminPassword?: string;
    }): Promise<LifecyclePostgres> {
        const server = await startLocalServer({ maxConnections: options.maxConnections });
        const pg = new LifecyclePostgres(server, options.mode, options.adminLogin);
        if (options.mode === "azure") {
            if (!options.adminLogin || options.adminPassword === undefined) {
                await server.stop();
                throw new Error("azure mode needs the server's admin login and password");
            }
            try {
                await createAzureAdmin(server, options.adminLogin, options.adminPassword);
            } catch (err) {
                await server.stop();
                throw err;
            }
        }
        return pg;
    }

    get port(): number {
        return this.server.port;
    }

    get caFile(): string {
        return this.server.caFile;
    }

    /** ARM's update of `administratorLoginPassword`: effective at once. */
    async setAdminPassword(password: string): Promise<void> {
        await superuserSql(this.server, `ALTER ROLE "${this.adminLogin}" PASSWORD ${sqlLiteral(password)};`);
    }

    async hasDatabase(name: string): Promise<boolean> {
        const existing = await this.query(`SELECT 1 FROM pg_database WHERE datname = ${sqlLiteral(name)}`);
        return (existing.rowCount ?? 0) > 0;
    }

    /** ARM's database create (see `createAzureDatabase`); a database that exists is kept. */
    async createDatabase(name: string): Promise<boolean> {
        if (await this.hasDatabase(name)) {
            return false;
        }
        await createAzureDatabase(this.server, name);
        return true;
    }

    /** `sql` as the superuser, in `database` (what an operator on the server would see). */
    async query(sql: string, database = "postgres"): Promise<QueryResult> {
        const client = new Client({
            host: this.server.socketDir,
            port: this.server.port,
            user: "postgres",
            database,
        });
        await client.connect();
        try {
            return await client.query(sql);
        } finally {
            await client.end();
        }
    }

    /** A server parameter; a static one (max_connections) only takes effect at the restart this performs. */
    async setParameter(name: string, value: string, restart: boolean): Promise<void> {
        await superuserSql(this.server, `ALTER SYSTEM SET ${name} = ${sqlLiteral(value)};`);
        if (restart) {
            restartLocalServer(this.server);
        } else {
            await superuserSql(this.server, "SELECT pg_reload_conf();");
        }
    }

    async show(name: string): Promise<string> {
        return String((await this.query(`SHOW ${name}`)).rows[0][name]);
    }

    /** StackGres creating its superuser with the password of the SGCluster's credentials Secret. */
    setSuperuserPassword(password: string): Promise<void> {
        return prepareStackGresLikeServer(this.server, password);
    }

    stop(): Promise<void> {
        return this.server.stop();
    }
}
