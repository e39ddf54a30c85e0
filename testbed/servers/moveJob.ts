/**
 * A move Job's container (PostgreSQL's or Redis's, components/moveJobSpec.ts) laid out here: its volumes `job`,
 * `secrets` and `work` as directories under a temporary one, the Job's files and the admins' passwords written in as
 * the pod mounts them, and its command's script and env with the mount paths translated.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

interface MoveJobContainer {
    readonly command: readonly string[];
    readonly env: readonly { readonly name: string; readonly value: string }[];
    readonly volumeMounts: readonly { readonly name: string; readonly mountPath: string }[];
}

/**
 * Runs `run` with the container's script and env laid out under a temporary directory (`prefix`), removed after.
 * `secrets`: the mounted Secret's files by name (none: the kubelet has not synced it yet).
 */
export async function withLocalMoveJob<T>(
    prefix: string,
    files: Readonly<Record<string, string>>,
    secrets: Readonly<Record<string, string>>,
    container: MoveJobContainer,
    run: (script: string, env: Record<string, string>) => T | Promise<T>,
): Promise<T> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    try {
        const volumes: Record<string, string> = {
            job: path.join(dir, "job"),
            secrets: path.join(dir, "secrets"),
            work: path.join(dir, "work"),
        };
        Object.values(volumes).forEach((v) => fs.mkdirSync(v));
        for (const [file, text] of Object.entries(files)) {
            fs.writeFileSync(path.join(volumes.job, file), text);
        }
        for (const [file, text] of Object.entries(secrets)) {
            fs.writeFileSync(path.join(volumes.secrets, file), text);
        }
        const local = (value: string) => {
            const mount = container.volumeMounts.find(
                (m) => value.startsWith(`${m.mountPath}/`) || value === m.mountPath,
            );
            return mount ? volumes[mount.name] + value.slice(mount.mountPath.length) : value;
        };
        return await run(
            local(container.command[1]),
            Object.fromEntries(container.env.map((e) => [e.name, local(e.value)])),
        );
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
