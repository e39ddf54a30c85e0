/**
 * PgBouncer on loopback in front of a local PostgreSQL, set up as StackGres sets up its sidecar: the rendered
 * SGPoolingConfig's `pgbouncer.ini` settings, `auth_user=authenticator` with StackGres' `auth_query` (its
 * pgbouncer-default-values.properties), the server reached over its Unix socket, clients over TLS. Debian 12's
 * PgBouncer (1.18) runs it as the `postgres` OS user (PgBouncer refuses root).
 */
import * as fs from "fs";
import * as path from "path";
import type { LocalServer } from "./postgres";
import * as net from "net";
import { LOOPBACK, Supervisor, freePorts, requireCommands, waitFor } from "./processes";

export const PGBOUNCER = "/usr/sbin/pgbouncer";

/** StackGres' PgBouncer login (`auth_user`) and the query it looks passwords up with. */
export const AUTH_USER = "authenticator";
const AUTH_QUERY = "SELECT usename, passwd FROM pg_shadow WHERE usename=$1";

/**
 * Settings PgBouncer 1.18 does not know and refuses to start with ("unknown parameter"): `max_prepared_statements`
 * came in 1.21 (StackGres 1.18 and Azure run 1.25). It changes prepared statements, not pool sizes.
 */
const NEWER_THAN_1_18 = ["max_prepared_statements"];

/** Fails loudly (never skips) when PgBouncer is not installed. */
export function requirePgBouncer(): void {
    requireCommands([PGBOUNCER], "apt-get install pgbouncer; the pooler tests need it (.ci/install.sh)");
}

export interface LocalPooler {
    readonly port: number;
    /** PgBouncer's log. */
    log(): string;
    /**
     * Rewrites its pgbouncer.ini with these `[pgbouncer]` settings and sends it SIGHUP: what StackGres' cluster-controller
     * does when the SGPoolingConfig changes (ongres/stackgres PgBouncerReconciliator: a changed config file, then
     * `kill -s HUP` of the pgbouncer process).
     */
    reload(settings: Readonly<Record<string, string>>): Promise<void>;
}

/**
 * Starts PgBouncer as process `name` of `supervisor` with `settings` (a rendered `[pgbouncer]` section) in front of
 * `server`; `authPassword` is the `authenticator` role's (created by the caller as StackGres does, a superuser).
 */
export async function startLocalPooler(
    supervisor: Supervisor,
    name: string,
    server: LocalServer,
    settings: Readonly<Record<string, string>>,
    authPassword: string,
): Promise<LocalPooler> {
    requirePgBouncer();
    const [port] = await freePorts(1);
    const dir = path.join(server.dir, name);
    fs.mkdirSync(dir, { recursive: true });
    const authFile = path.join(dir, "userlist.txt");
    fs.writeFileSync(authFile, `"${AUTH_USER}" "${authPassword}"\n`);
    const logFile = path.join(dir, "pgbouncer.log");
    const ini = (settings: Readonly<Record<string, string>>) =>
        [
            "[databases]",
            `* = host=${server.socketDir} port=${server.port}`,
            "[pgbouncer]",
            `listen_addr = ${LOOPBACK}`,
            `listen_port = ${port}`,
            `unix_socket_dir = ${dir}`,
            `logfile = ${logFile}`,
            "auth_type = md5",
            `auth_file = ${authFile}`,
            `auth_user = ${AUTH_USER}`,
            `auth_query = ${AUTH_QUERY}`,
            `client_tls_cert_file = ${path.join(server.dir, "server.crt")}`,
            `client_tls_key_file = ${path.join(server.dir, "server.key")}`,
            ...Object.entries(settings)
                .filter(([key]) => !NEWER_THAN_1_18.includes(key))
                .map(([key, value]) => `${key} = ${value}`),
            "",
        ].join("\n");
    const iniFile = path.join(dir, "pgbouncer.ini");
    fs.writeFileSync(iniFile, ini(settings));
    // The server user's (its directory's owner: `postgres` when we are root), who PgBouncer runs as.
    const { uid, gid } = fs.statSync(server.dir);
    for (const f of [dir, authFile, iniFile]) {
        fs.chownSync(f, uid, gid);
    }
    const asRoot = process.getuid?.() === 0;
    supervisor.start(name, PGBOUNCER, asRoot ? ["-u", "postgres", iniFile] : [iniFile], {});
    await waitFor(`PgBouncer ${name} listening on ${port} (its log: ${logFile})`, 15_000, async () =>
        (await accepts(port)) ? true : undefined,
    );
    const log = () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8") : supervisor.log(name));
    return {
        port,
        log,
        reload: async (changed) => {
            const reloads = (log().match(/got SIGHUP, re-reading config/g) ?? []).length;
            fs.writeFileSync(iniFile, ini(changed));
            supervisor.signal(name, "SIGHUP");
            await waitFor(`PgBouncer ${name} reloaded (its log: ${logFile})`, 15_000, async () =>
                (log().match(/got SIGHUP, re-reading config/g) ?? []).length > reloads ? true : undefined,
            );
        },
    };
}

function accepts(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const socket = net.connect({ host: LOOPBACK, port });
        socket.once("connect", () => {
            socket.destroy();
            resolve(true);
        });
        socket.once("error", () => resolve(false));
    });
}
