/**
 * Pure parts the move Jobs of both services share (`<service>/moveSpec.ts`): where a copy Job finds its files, the two
 * admins' passwords and its work space, what its script is told of them, and the shell its script sources first.
 */
import * as fs from "fs";
import * as path from "path";
import { RESTRICTED_CONTAINER, restrictedPod } from "./podSecurity";

/** How long a move Job waits for its synced Secret and both sides' servers (its `activeDeadlineSeconds` adds an hour). */
export const MOVE_JOB_WAIT_SECONDS = 600;

/** The shell every move script sources first (`scripts/move-job.sh`: its deadline, the wait for its Secret). */
export const MOVE_JOB_LIB_FILE = "move-job.sh";

/** `MOVE_JOB_LIB_FILE` as a file of the Job's ConfigMap, beside the script that sources it. */
export function moveJobLibFiles(): Record<string, string> {
    return { [MOVE_JOB_LIB_FILE]: fs.readFileSync(path.join(__dirname, "scripts", MOVE_JOB_LIB_FILE), "utf8") };
}

/** The Job's mounts under `root`: its ConfigMap, its Secret (the admins' passwords as files), and its work space. */
export function moveJobMounts(root: string) {
    return { job: `${root}/job`, secrets: `${root}/secrets`, work: "/work" };
}

type MoveJobMounts = ReturnType<typeof moveJobMounts>;

/** What the script is told of its mounts and how long it waits for its Secret. */
export function moveJobEnv(mount: MoveJobMounts, waitSeconds: number) {
    return [
        { name: "SECRETS_DIR", value: mount.secrets },
        { name: "JOB_DIR", value: mount.job },
        { name: "WORK_DIR", value: mount.work },
        { name: "WAIT_SECONDS", value: String(waitSeconds) },
    ];
}

export function moveJobVolumeMounts(mount: MoveJobMounts) {
    return [
        { name: "job", mountPath: mount.job, readOnly: true },
        { name: "secrets", mountPath: mount.secrets, readOnly: true },
        { name: "work", mountPath: mount.work },
    ];
}

/** The volumes of Job `base`; the work space holds what is copied on its way (an emptyDir on the node's disk). */
export function moveJobVolumes(base: string) {
    return [
        { name: "job", configMap: { name: base } },
        { name: "secrets", secret: { secretName: base, defaultMode: 0o440 } },
        { name: "work", emptyDir: {} },
    ];
}

/** A move Job's one container, before the parts every move Job's has (its mounts' env, Pod Security, mounts). */
export interface MoveJobContainer {
    readonly name: string;
    readonly image: string;
    readonly command: string[];
    readonly env: { name: string; value: string }[];
    readonly resources: Record<string, Record<string, string>>;
}

/**
 * `spec` of move Job `base` around its one container: retried (each service's attempts are idempotent: its
 * moveSpec.ts says why), bounded by its wait and an hour, under restricted Pod Security as `pod.uid`, no service account
 * token, its ConfigMap, Secret and work space mounted under `mount`.
 */
export function moveJobSpecAround(
    base: string,
    mount: MoveJobMounts,
    pod: { readonly labels: Record<string, string>; readonly uid: number; readonly serviceAccountName?: string },
    container: MoveJobContainer,
) {
    return {
        backoffLimit: 4,
        activeDeadlineSeconds: MOVE_JOB_WAIT_SECONDS + 3600,
        template: {
            metadata: { labels: pod.labels },
            spec: {
                restartPolicy: "Never",
                ...(pod.serviceAccountName !== undefined ? { serviceAccountName: pod.serviceAccountName } : {}),
                automountServiceAccountToken: false,
                securityContext: restrictedPod(pod.uid),
                containers: [
                    {
                        ...container,
                        env: [...moveJobEnv(mount, MOVE_JOB_WAIT_SECONDS), ...container.env],
                        securityContext: RESTRICTED_CONTAINER,
                        volumeMounts: moveJobVolumeMounts(mount),
                    },
                ],
                volumes: moveJobVolumes(base),
            },
        },
    };
}
