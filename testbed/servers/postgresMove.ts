/**
 * The move Job (`components/postgres/moveSpec.ts`) run here against two local servers: its entrypoint and files as
 * the Job mounts them, the env its spec renders (mount paths translated, each side's host the loopback address).
 */
import * as fs from "fs";
import { moveJobFiles, moveJobSpec } from "../../components/postgres/moveSpec";
import type { AppLogin } from "../../components/postgres/sql";
import { withLocalMoveJob } from "./moveJob";
import { LOOPBACK, runShellScript } from "./processes";
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
export async function runMoveJob(run: MoveJobRun): Promise<{ code: number; output: string }> {
    requirePostgresBinaries(PG_BIN, ["psql", "pg_isready", "pg_dump", "pg_restore"]);
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
    const secrets: Record<string, string> = run.noSecret
        ? {}
        : { "source-admin": run.source.password, "target-admin": run.target.password };
    const container = moveJobSpec({ ...input, files }, "postgres-move-test").template.spec.containers[0];
    return withLocalMoveJob("dp-move-job-", files, secrets, container, (script, env) =>
        runShellScript(script, {
            ...env,
            PATH: `${PG_BIN}:${process.env.PATH ?? "/usr/bin:/bin"}`,
            WAIT_SECONDS: "0",
        }),
    );
}
