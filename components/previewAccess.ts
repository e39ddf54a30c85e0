/**
 * What a preview identity may do in the cluster: read the kinds the program manages, and nothing else. No Secrets (the
 * platform namespace's hold the PostgreSQL admin's and Redis's passwords; reading a ServiceAccount token's Secret is
 * acting as that account) and no write verb.
 *
 * A preview needs none of it to run: pulumi-kubernetes 4.x computes a diff from the state's inputs without a read, and
 * where the server-side dry run of a create or update is Forbidden it falls back to a client-side preview
 * (`provider/pkg/provider/provider.go` Create and Update, `IsForbidden`; CHANGELOG 4.0.0, pulumi/pulumi-kubernetes#2419);
 * a Helm release is previewed from its inputs alone (`helm_release.go`). This role lets a preview with `--refresh`
 * see drift, except a Helm release's (Helm keeps a release in Secrets). README "Setting up the repository" binds it.
 */
import * as YAML from "yaml";
import { PLATFORM_NAME, recommendedLabels } from "./labels";

/** The ClusterRole's name, as the README's binding commands give it. */
export const PREVIEW_READER_ROLE = "data-platform-preview-reader";

/** The read verbs; `watch` lets a client follow an object, nothing more. */
export const READ_VERBS = ["get", "list", "watch"] as const;

/** Each API group the program writes to, with the resources (plural names) of the kinds it registers there. */
export const PREVIEW_READ_RESOURCES: Readonly<Record<string, readonly string[]>> = {
    "": ["configmaps", "namespaces", "persistentvolumeclaims", "serviceaccounts", "services"],
    apps: ["deployments", "statefulsets"],
    batch: ["cronjobs", "jobs"],
    "cert-manager.io": ["certificates"],
    "external-secrets.io": ["clustersecretstores", "externalsecrets", "secretstores"],
    "monitoring.coreos.com": ["prometheusrules", "servicemonitors"],
    "networking.k8s.io": ["networkpolicies"],
    policy: ["poddisruptionbudgets"],
    "rbac.authorization.k8s.io": ["rolebindings", "roles"],
    "stackgres.io": ["sgclusters", "sginstanceprofiles", "sgobjectstorages", "sgpoolingconfigs", "sgpostgresconfigs"],
};

/** The ClusterRole a preview identity is bound to (README "Setting up the repository"). */
export function previewReaderClusterRole() {
    return {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRole",
        metadata: { name: PREVIEW_READER_ROLE, labels: recommendedLabels({ partOf: PLATFORM_NAME }) },
        rules: Object.entries(PREVIEW_READ_RESOURCES).map(([group, resources]) => ({
            apiGroups: [group],
            resources: [...resources],
            verbs: [...READ_VERBS],
        })),
    };
}

/** The ClusterRole as the README shows it (`kubectl apply -f -`), one rule a line. */
export function renderPreviewReader(): string {
    const doc = new YAML.Document(previewReaderClusterRole());
    for (const rule of (doc.get("rules") as YAML.YAMLSeq<YAML.YAMLMap>).items) {
        rule.flow = true;
    }
    return ["```yaml", doc.toString({ lineWidth: 0 }).trimEnd(), "```"].join("\n");
}
