/**
 * The restricted Pod Security standard (Kubernetes docs, "Pod Security Standards": non-root, no privilege escalation,
 * all capabilities dropped, the runtime's seccomp profile), as every pod of the program runs: the pod's part and the
 * container's.
 */

/** A container's part: a read-only root file system besides, so a script writes only where a volume lets it. */
export const RESTRICTED_CONTAINER = {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ["ALL"] },
};

/** A pod's part, running as `uid`; with `fsGroup` its volumes are writable by that group. */
export function restrictedPod(uid: number, { fsGroup = true } = {}) {
    return {
        runAsNonRoot: true,
        runAsUser: uid,
        runAsGroup: uid,
        ...(fsGroup ? { fsGroup: uid } : {}),
        seccompProfile: { type: "RuntimeDefault" },
    };
}
