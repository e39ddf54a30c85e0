/**
 * The move Job (`components/postgres/moveSpec.ts`) run here against two local servers: its entrypoint and files as
 * the Job mounts them, the env its spec renders (mount paths translated, each side's host the loopback address).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { moveJobFiles, moveJobSpec } from "../../components/postgres/moveSpec";
import type { AppLogin } from "../../components/postgres/sql";
import { LOOPBACK } from "./processes";
import { LocalServer, PG_BIN, requirePostgresBinaries } from "./postgres";

export interface MoveJobRun {
    readonly login: AppLogin;
    readonly source: {
        readonly server: LocalServer;
        readonly name: string;
        readonly admin: string;
        readonly password: string;
    };
    /** The Secret not projected yet (the kubelet has not synced it): no admin password files. */
    readonly noSecret?: boolean;
    readonly target: {
        readonly server: LocalServer;
        readonly name: string;
        readonly admin: string;
        readonly password: string;
    };
}

/** Runs the move Job's entrypoint; its exit code and output. */
export function runMoveJob(run: MoveJobRun): { code: number | null; output: string } {
    requirePostgresBinaries(PG_BIN, ["psql", "pg_isready", "pg_dump", "pg_restore"]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dp-move-job-"));
    try {
        const volumes = {
            job: path.join(dir, "job"),
            secrets: path.join(dir, "secrets"),
            work: path.join(dir, "work"),
        };
        Object.values(volumes).forEach((v) => fs.mkdirSync(v));
        const side = (s: MoveJobRun["source"]) => ({
            server: s.name,
            host: LOOPBACK,
            port: s.server.port,
            adminLogin: s.admin,
            caCert: fs.readFileSync(s.server.caFile, "utf8"),
        });
        const input = {
            app: run.login.app,
            database: run.login.database,
            image: "(not run: the entrypoint runs here)",
            source: side(run.source),
            target: side(run.target),
        };
        const files = moveJobFiles(run.login, input.source, input.target);
        for (const [file, text] of Object.entries(files)) {
            fs.writeFileSync(path.join(volumes.job, file), text);
        }
        if (!run.noSecret) {
            fs.writeFileSync(path.join(volumes.secrets, "source-admin"), run.source.password);
            fs.writeFileSync(path.join(volumes.secrets, "target-admin"), run.target.password);
        }
        const container = moveJobSpec({ ...input, files }, "postgres-move-test").template.spec.containers[0];
        const local = (value: string) => {
            const mount = container.volumeMounts.find(
                (m) => value.startsWith(`${m.mountPath}/`) || value === m.mountPath,
            );
            return mount ? volumes[mount.name as keyof typeof volumes] + value.slice(mount.mountPath.length) : value;
        };
        const result = spawnSync("sh", [local(container.command[1])], {
            encoding: "utf8",
            env: {
                ...Object.fromEntries(container.env.map((e) => [e.name, local(e.value)])),
                PATH: `${PG_BIN}:${process.env.PATH ?? "/usr/bin:/bin"}`,
                WAIT_SECONDS: "0",
            },
        });
        return { code: result.status, output: `${result.stdout}${result.stderr}` };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
