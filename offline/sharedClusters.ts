/**
 * Stacks on one cluster: what two stacks deploying to the same AKS cluster must not share. A program run sees one
 * stack, so the repository checks its stack files (`npm run stacks`, which CI's matrices come from, and the tests).
 * Stacks given a kubeconfig instead of `cluster.aks` are not compared: their cluster is inside a secret.
 */
import { ConfigError, PlatformConfig, parseConfig } from "../components/config";
import { PROJECT } from "../components/config/types";
import { STORE_NAME } from "../components/secretSync/spec";
import { loadStackConfig } from "./stackConfig";
import { stackNames } from "./stacks";

export interface StackOnCluster {
    readonly stack: string;
    readonly config: PlatformConfig;
}

/** One line per collision between two stacks on one cluster, naming both, what they share and the key to change. */
export function clusterSharingProblems(stacks: readonly StackOnCluster[]): string[] {
    const problems: string[] = [];
    stacks.forEach((a, i) => {
        for (const b of stacks.slice(i + 1)) {
            const cluster = clusterOf(a.config);
            if (cluster !== undefined && cluster === clusterOf(b.config)) {
                problems.push(
                    ...pairProblems(a, b, `stacks ${a.stack} and ${b.stack} on AKS cluster ${cluster}: both`),
                );
            }
        }
    });
    return problems;
}

/**
 * The problems among the repository's stack files. A stack whose configuration is invalid is left out: its own
 * preview and plan report that, and the others are still compared.
 */
export function repositorySharingProblems(): string[] {
    const stacks = stackNames().flatMap((stack): StackOnCluster[] => {
        const { config, secretKeys } = loadStackConfig(stack);
        try {
            return [{ stack, config: parseConfig(config, stack, secretKeys) }];
        } catch (err) {
            if (err instanceof ConfigError) {
                return [];
            }
            throw err;
        }
    });
    return clusterSharingProblems(stacks);
}

function clusterOf(config: PlatformConfig): string | undefined {
    const aks = config.cluster.aks;
    return aks && `${aks.resourceGroupName}/${aks.name}`;
}

function pairProblems(a: StackOnCluster, b: StackOnCluster, both: string): string[] {
    const [ca, cb] = [a.config.cluster, b.config.cluster];
    const [ea, eb] = [ca.externalSecrets, cb.externalSecrets];
    const problems: string[] = [];
    if (ca.platformNamespace === cb.platformNamespace) {
        problems.push(
            `${both} use platform namespace ${ca.platformNamespace}; give one another ${PROJECT}:cluster.platformNamespace`,
        );
    }
    // A store of its own is named after the platform namespace, so only two stores without one can share a name.
    if (!ea.storePerStack && !eb.storePerStack) {
        problems.push(
            `${both} use ClusterSecretStore ${STORE_NAME} (and the operator's service account, which names one ` +
                `identity); set ${PROJECT}:cluster.externalSecrets.storePerStack: true in one of them`,
        );
    }
    if (ea.install && eb.install && ea.namespace === eb.namespace) {
        problems.push(
            `${both} install External Secrets Operator into namespace ${ea.namespace}; set ` +
                `${PROJECT}:cluster.externalSecrets.install: false in one of them`,
        );
    }
    // The stack whose store reads as the operator's account annotates it (as chart values, or patched when the
    // operator is installed elsewhere): another stack's chart would set that annotation to its own identity.
    for (const [installer, patcher] of [
        [a, b],
        [b, a],
    ]) {
        const [ei, ep] = [installer.config.cluster.externalSecrets, patcher.config.cluster.externalSecrets];
        if (ei.install && ei.storePerStack && !ep.install && !ep.storePerStack && ei.namespace === ep.namespace) {
            problems.push(
                `${both} annotate the operator's service account (${installer.stack}'s chart, ${patcher.stack}'s ` +
                    `patch); let ${patcher.stack} install the operator and not ${installer.stack} ` +
                    `(${PROJECT}:cluster.externalSecrets.install)`,
            );
        }
    }
    // An application's namespace is neither another stack's application namespace nor its platform namespace.
    const claimed = (stack: StackOnCluster) => [
        ...stack.config.apps.map((app) => app.namespace),
        stack.config.cluster.platformNamespace,
    ];
    const inB = new Set(claimed(b));
    const appNamespaces = new Set([...a.config.apps, ...b.config.apps].map((app) => app.namespace));
    for (const ns of new Set(claimed(a).filter((n) => inB.has(n) && appNamespaces.has(n)))) {
        problems.push(`${both} use namespace ${ns}; an application namespace belongs to one stack`);
    }
    return problems;
}
