/**
 * The policy pack against the real program: every rule over the recorded resources of dev and prod
 * (no mandatory violation), and over broken variants, one or more per rule, each of which must trip
 * exactly the rule it targets. Variants edit the recorded graph (or add one offending object to it); a
 * variant whose resource kind the program no longer registers fails rather than passing vacuously.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import type { RecordedResource, RunResult } from "../../../offline/mockEngine";
import { allPolicies } from "../../../policy/policies";
import { credentialIn, isCredentialName } from "../../../policy/lib/k8s";
import { isProduction } from "../../../policy/lib/settings";
import {
    CONNECTION_DEMAND_ANNOTATION,
    POSTGRES_SERVER_ANNOTATION,
    POSTGRES_SERVER_TAG,
} from "../../../components/labels";
import { isProductionStack } from "../../../offline/stacks";
import * as packContract from "../../../policy/lib/contract";
import { postgresNames } from "../../../components/postgres/servers";
import { redisRoleCredentials } from "../../../components/redis/credentials";
import { prefixedSecretName } from "../../../components/vault/secretNames";
import { Secret, Vault } from "@pulumi/azure-native/keyvault";
import {
    PackConfig,
    Violation,
    describe as describeViolations,
    packConfig,
    packConfigProblems,
    settingsIn,
    resourceArgs,
    runPolicies,
    stackResources,
} from "../../support/policyHarness";
import { STACKS, runStack } from "../../support/program";

type Stack = (typeof STACKS)[number];

type Props = Record<string, any>;

// ---- editing a recorded graph ----

function clone(result: RunResult): { -readonly [K in keyof RunResult]: RunResult[K] } {
    return structuredClone(result) as any;
}

/** Applies `edit` to the inputs (what resource policies see) and outputs (stack policies) of matching resources. */
function edit(
    result: RunResult,
    match: (r: RecordedResource) => boolean,
    change: (props: Props, r: RecordedResource) => void,
    limit = 1,
): RunResult {
    const copy = clone(result);
    const hits = copy.resources.filter(match).slice(0, limit);
    if (hits.length === 0) {
        throw new Error("variant matched no recorded resource");
    }
    for (const r of hits) {
        change(r.inputs, r);
        change(r.outputs, r);
    }
    return copy;
}

function remove(result: RunResult, match: (r: RecordedResource) => boolean): RunResult {
    const copy = clone(result);
    const before = copy.resources.length;
    copy.resources = copy.resources.filter((r) => !match(r));
    if (copy.resources.length === before) {
        throw new Error("variant removed nothing");
    }
    return copy;
}

function add(result: RunResult, ...resources: RecordedResource[]): RunResult {
    const copy = clone(result);
    copy.resources = [...copy.resources, ...resources];
    return copy;
}

const ofType = (type: string) => (r: RecordedResource) => r.type === type;

/** An extra registration carrying `props`, as the mock engine would record it. */
function recorded(result: RunResult, type: string, name: string, props: Props): RecordedResource {
    const urn = `urn:pulumi:${result.stack}::data-platform::${type}::${name}`;
    return {
        urn,
        type,
        name,
        custom: true,
        dependencies: [],
        propertyDependencies: {},
        dependsOn: [],
        options: { ignoreChanges: [], replaceOnChanges: [], additionalSecretOutputs: [], aliases: [] },
        inputs: structuredClone(props),
        secretPaths: [],
        unknownPaths: [],
        id: name,
        outputs: structuredClone(props),
    };
}

/** An RBAC object as the mock engine would record it, namespaced when `namespace` is given. */
function rbacObject(result: RunResult, kind: string, name: string, namespace: string | undefined, props: Props) {
    return recorded(result, `kubernetes:rbac.authorization.k8s.io/v1:${kind}`, name, {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind,
        metadata: namespace === undefined ? { name } : { name, namespace },
        ...props,
    });
}

/** A Role in `namespace` (a ClusterRole without one) with these rules. */
const role = (result: RunResult, name: string, namespace: string | undefined, rules: Props[]) =>
    rbacObject(result, namespace === undefined ? "ClusterRole" : "Role", name, namespace, { rules });

/** A RoleBinding in `namespace` (a ClusterRoleBinding without one) of `roleRef` to one subject. */
const binding = (result: RunResult, name: string, namespace: string | undefined, roleRef: string, subject: Props) => {
    const [kind, roleName] = roleRef.split("/");
    return rbacObject(result, namespace === undefined ? "ClusterRoleBinding" : "RoleBinding", name, namespace, {
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind, name: roleName },
        subjects: [subject],
    });
};

const WORKLOAD_TYPES = ["kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:Job"];
const isWorkload = (r: RecordedResource) => WORKLOAD_TYPES.includes(r.type);
const isSentinel = (r: RecordedResource) =>
    r.type === "kubernetes:apps/v1:StatefulSet" && r.inputs.metadata?.name === "redis-sentinel";

// ---- the variants ----

interface Variant {
    readonly name: string;
    readonly policy: string;
    readonly stack: Stack;
    readonly breakIt: (r: RunResult) => RunResult;
    readonly config?: PackConfig;
    readonly message: RegExp;
}

const firstContainer = (p: Props) => p.spec.template.spec.containers[0];

const VARIANTS: Variant[] = [
    {
        name: "a privileged container that may escalate",
        policy: "k8s-pod-security-restricted",
        stack: "dev",
        breakIt: (r) =>
            edit(r, isWorkload, (p) => {
                Object.assign(firstContainer(p).securityContext, { privileged: true, allowPrivilegeEscalation: true });
            }),
        message: /is privileged/,
    },
    {
        name: "a container without limits",
        policy: "k8s-container-resources",
        stack: "dev",
        breakIt: (r) =>
            edit(r, isWorkload, (p) => {
                delete firstContainer(p).resources.limits;
            }),
        message: /sets no resources\.limits\.cpu, resources\.limits\.memory/,
    },
    {
        name: "an image tagged latest",
        policy: "k8s-image-pinned",
        stack: "dev",
        breakIt: (r) =>
            edit(r, isWorkload, (p) => {
                firstContainer(p).image = "redis:latest";
            }),
        message: /uses image "redis:latest" tagged latest/,
    },
    {
        name: "dev declared production: images without digests",
        policy: "k8s-image-digest-in-production",
        stack: "dev",
        breakIt: (r) => r,
        config: { "k8s-image-digest-in-production": { environment: "production" } },
        message: /without a digest; production pins images/,
    },
    {
        name: "a password as an env literal",
        policy: "k8s-no-literal-credentials",
        stack: "dev",
        breakIt: (r) =>
            edit(r, isWorkload, (p) => {
                firstContainer(p).env = [
                    ...(firstContainer(p).env ?? []),
                    { name: "DB_PASSWORD", value: "s3cr3t-s3cr3t" },
                ];
            }),
        message: /env DB_PASSWORD holds a credential as a literal/,
    },
    {
        name: "a Redis password in a ConfigMap",
        policy: "k8s-no-literal-credentials",
        stack: "prod",
        breakIt: (r) =>
            add(
                r,
                recorded(r, "kubernetes:core/v1:ConfigMap", "leaky", {
                    metadata: { name: "leaky", namespace: "orders" },
                    data: { "redis.conf": "port 6379\nrequirepass hunter2hunter2\n" },
                }),
            ),
        message: /ConfigMap orders\/leaky key "redis.conf" holds a Redis requirepass/,
    },
    {
        name: "a Secret with literal data",
        policy: "k8s-no-literal-credentials",
        stack: "prod",
        breakIt: (r) =>
            add(
                r,
                recorded(r, "kubernetes:core/v1:Secret", "literal", {
                    metadata: { name: "orders-db", namespace: "orders" },
                    stringData: { DB_PASSWORD: "x" },
                }),
            ),
        message: /Secret orders\/orders-db carries literal data \(DB_PASSWORD\); create it with an ExternalSecret/,
    },
    {
        name: "a literal connection URL in an ExternalSecret template",
        policy: "k8s-no-literal-credentials",
        stack: "dev",
        breakIt: (r) =>
            edit(r, ofType("kubernetes:external-secrets.io/v1:ExternalSecret"), (p) => {
                p.spec.target = {
                    ...p.spec.target,
                    template: { data: { DATABASE_URL: "postgresql://orders:hunter2@db:5432/orders" } },
                };
            }),
        message: /spec.target.template.data.DATABASE_URL holds a URL with a password as a literal/,
    },
    {
        name: "an ExternalSecret on v1beta1",
        policy: "k8s-no-external-secrets-v1beta1",
        stack: "dev",
        breakIt: (r) =>
            edit(r, ofType("kubernetes:external-secrets.io/v1:ExternalSecret"), (p, rec) => {
                p.apiVersion = "external-secrets.io/v1beta1";
                (rec as { type: string }).type = "kubernetes:external-secrets.io/v1beta1:ExternalSecret";
            }),
        message: /uses external-secrets.io\/v1beta1; use external-secrets.io\/v1/,
    },
    {
        name: "no NetworkPolicy next to the data pods",
        policy: "k8s-network-policy-per-data-namespace",
        stack: "prod",
        breakIt: (r) => remove(r, ofType("kubernetes:networking.k8s.io/v1:NetworkPolicy")),
        message: /has no NetworkPolicy; data pods would accept traffic/,
    },
    {
        name: "a replicated StatefulSet without a PodDisruptionBudget",
        policy: "k8s-pdb-for-replicated-statefulset",
        stack: "prod",
        breakIt: (r) => remove(r, ofType("kubernetes:policy/v1:PodDisruptionBudget")),
        message: /runs 3 replicas without a PodDisruptionBudget/,
    },
    {
        name: "four Sentinels",
        policy: "redis-sentinel-quorum",
        stack: "prod",
        breakIt: (r) =>
            edit(r, isSentinel, (p) => {
                p.spec.replicas = 4;
            }),
        message: /4 Sentinel pod\(s\) in data-platform\/redis-sentinel; production needs an odd number of at least 3/,
    },
    {
        name: "a minority quorum",
        policy: "redis-sentinel-quorum",
        stack: "prod",
        breakIt: (r) =>
            edit(
                r,
                (x) =>
                    x.type === "kubernetes:core/v1:ConfigMap" && /QUORUM=\d+/.test(JSON.stringify(x.inputs.data ?? {})),
                (p) => {
                    for (const key of Object.keys(p.data)) {
                        p.data[key] = p.data[key].replace(/QUORUM=\d+/g, "QUORUM=1");
                    }
                },
            ),
        message:
            /Sentinel quorum 1 with 3 Sentinels in data-platform\/redis-sentinel; it must be a majority \(2 to 3\)/,
    },
    {
        name: "require_secure_transport off",
        policy: "postgres-tls-1-2",
        stack: "prod",
        breakIt: (r) =>
            edit(
                r,
                (x) =>
                    x.type === "azure-native:dbforpostgresql:Configuration" &&
                    x.inputs.configurationName === "require_secure_transport",
                (p) => {
                    p.value = "OFF";
                },
            ),
        message: /require_secure_transport=OFF allows unencrypted connections/,
    },
    {
        name: "StackGres accepting TLS 1.0",
        policy: "postgres-tls-1-2",
        stack: "dev",
        breakIt: (r) =>
            edit(r, ofType("kubernetes:stackgres.io/v1:SGPostgresConfig"), (p) => {
                p.spec["postgresql.conf"].ssl_min_protocol_version = "TLSv1";
            }),
        message: /ssl_min_protocol_version=TLSv1; the minimum is TLSv1.2/,
    },
    {
        name: "an allow-all firewall rule",
        policy: "postgres-no-allow-all-firewall",
        stack: "dev",
        breakIt: (r) =>
            add(
                r,
                recorded(r, "azure-native:dbforpostgresql:FirewallRule", "everyone", {
                    serverName: "pg",
                    startIpAddress: "0.0.0.0",
                    endIpAddress: "255.255.255.255",
                }),
            ),
        message: /admits the whole internet \(0.0.0.0-255.255.255.255\)/,
    },
    {
        name: "a public production server",
        policy: "postgres-private-in-production",
        stack: "prod",
        breakIt: (r) =>
            edit(r, ofType("azure-native:dbforpostgresql:Server"), (p) => {
                p.network = { publicNetworkAccess: "Enabled" };
            }),
        message: /allows public network access/,
    },
    {
        name: "a production server without HA",
        policy: "postgres-ha-in-production",
        stack: "prod",
        breakIt: (r) =>
            edit(r, ofType("azure-native:dbforpostgresql:Server"), (p) => {
                p.highAvailability = { mode: "Disabled" };
            }),
        message: /highAvailability.mode=Disabled; production needs ZoneRedundant/,
    },
    {
        name: "a production server with local backups only",
        policy: "postgres-geo-backup-in-production",
        stack: "prod",
        breakIt: (r) =>
            edit(r, ofType("azure-native:dbforpostgresql:Server"), (p) => {
                p.backup = { ...p.backup, geoRedundantBackup: "Disabled" };
            }),
        message: /geoRedundantBackup=Disabled; production needs Enabled/,
    },
    {
        name: "a week of backups in production",
        policy: "postgres-backup-retention",
        stack: "prod",
        breakIt: (r) =>
            edit(r, ofType("azure-native:dbforpostgresql:Server"), (p) => {
                p.backup = { ...p.backup, backupRetentionDays: 7 };
            }),
        message: /keeps backups 7 days; production requires at least 35/,
    },
    {
        name: "a vault with access policies",
        policy: "keyvault-rbac-authorization",
        stack: "dev",
        breakIt: (r) =>
            edit(r, ofType("azure-native:keyvault:Vault"), (p) => {
                p.properties.enableRbacAuthorization = false;
            }),
        message: /enableRbacAuthorization=false; set it to true/,
    },
    {
        name: "a vault without purge protection",
        policy: "keyvault-purge-protection",
        stack: "prod",
        breakIt: (r) =>
            edit(r, ofType("azure-native:keyvault:Vault"), (p) => {
                p.properties.enablePurgeProtection = false;
            }),
        message: /enablePurgeProtection=false; set it to true/,
    },
    {
        name: "a public production vault",
        policy: "keyvault-private-in-production",
        stack: "prod",
        breakIt: (r) =>
            edit(r, ofType("azure-native:keyvault:Vault"), (p) => {
                p.properties.publicNetworkAccess = "Enabled";
            }),
        message: /publicNetworkAccess=enabled; production vaults are reachable only privately/,
    },
    {
        name: "the secret reader on the resource group",
        policy: "keyvault-role-assignment-scope",
        stack: "prod",
        breakIt: (r) =>
            edit(
                r,
                (x) =>
                    x.type === "azure-native:authorization:RoleAssignment" &&
                    String(x.inputs.roleDefinitionId).endsWith("4633458b-17de-408a-b874-0445c86b69e6"),
                (p) => {
                    p.scope =
                        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-data-platform-prod";
                },
            ),
        message:
            /grants Key Vault Secrets User to .* on "\/subscriptions\/[^"]+\/resourceGroups\/rg-data-platform-prod"; scope it to the vault/,
    },
    {
        name: "the platform's store also usable in an application namespace",
        policy: "eso-secret-reach-disjoint",
        stack: "prod",
        breakIt: (r) =>
            edit(r, ofType("kubernetes:external-secrets.io/v1:ClusterSecretStore"), (p) => {
                p.spec.conditions = [{ namespaces: ["data-platform", "orders"] }];
            }),
        message: /Key Vault secret pg-admin is readable through External Secrets from namespaces data-platform, orders/,
    },
    {
        name: "an application's reader on the whole vault",
        policy: "keyvault-secret-reader-per-secret",
        stack: "dev",
        breakIt: (r) =>
            edit(
                r,
                (x) =>
                    x.type === "azure-native:authorization:RoleAssignment" && x.name.startsWith("eso-identity-orders"),
                (p) => {
                    p.scope = String(p.scope).replace(/\/secrets\/[^/]+$/, "");
                },
            ),
        message: /grants Key Vault Secrets User on "\/subscriptions\/.*\/vaults\/[^/"]+"; scope it to one secret/,
    },
    {
        name: "External Secrets write rights aggregated to edit",
        policy: "eso-not-aggregated-to-edit",
        stack: "dev",
        breakIt: (r) =>
            edit(
                r,
                (x) => x.type === "kubernetes:helm.sh/v3:Release" && x.inputs.chart === "external-secrets",
                (p) => {
                    p.values.rbac = { ...p.values.rbac, aggregateToEdit: true };
                },
            ),
        message: /leaves rbac\.aggregateToEdit on/,
    },
    {
        name: "a role assignment for a user (azure-native's default type)",
        policy: "role-assignment-service-principal",
        stack: "prod",
        breakIt: (r) =>
            edit(r, ofType("azure-native:authorization:RoleAssignment"), (p) => {
                p.principalType = "User";
            }),
        message: /has principalType "User"; only managed identities/,
    },
    {
        name: "a public dev vault that admits no one",
        policy: "keyvault-public-admits-cluster",
        stack: "dev",
        breakIt: (r) =>
            edit(r, ofType("azure-native:keyvault:Vault"), (p) => {
                p.properties.networkAcls.ipRules = [];
            }),
        message: /is public, denies by default and lists no address, network or private endpoint/,
    },
    {
        name: "the built-in edit role bound in the platform namespace",
        policy: "platform-secrets-no-rbac-access",
        stack: "prod",
        breakIt: (r) =>
            add(r, binding(r, "ops-edit", "data-platform", "ClusterRole/edit", { kind: "Group", name: "ops" })),
        message:
            /RoleBinding data-platform\/ops-edit lets Group ops get\/list\/watch core\/secrets, create core\/pods in "data-platform" \(ClusterRole edit\)/,
    },
    {
        name: "the login Job's account granted its own Secret by name",
        policy: "platform-secrets-no-rbac-access",
        stack: "dev",
        breakIt: (r) =>
            add(
                r,
                role(r, "postgres-logins-reader", "data-platform", [
                    { apiGroups: [""], resources: ["secrets"], resourceNames: ["postgres-logins"], verbs: ["get"] },
                ]),
                binding(r, "postgres-logins-reader", "data-platform", "Role/postgres-logins-reader", {
                    kind: "ServiceAccount",
                    name: "postgres-logins",
                    namespace: "data-platform",
                }),
            ),
        message: /lets ServiceAccount data-platform\/postgres-logins get core\/secrets in "data-platform"/,
    },
    {
        name: "a cluster-wide binding that may run jobs",
        policy: "platform-secrets-no-rbac-access",
        stack: "prod",
        breakIt: (r) =>
            add(
                r,
                role(r, "job-runner", undefined, [{ apiGroups: ["batch"], resources: ["*"], verbs: ["create"] }]),
                binding(r, "job-runner", undefined, "ClusterRole/job-runner", {
                    kind: "ServiceAccount",
                    name: "ci",
                    namespace: "orders",
                }),
            ),
        message:
            /ClusterRoleBinding job-runner lets ServiceAccount orders\/ci create batch\/jobs, create batch\/cronjobs in "data-platform"/,
    },
    {
        name: "a binding to a role the stack does not define",
        policy: "platform-secrets-no-rbac-access",
        stack: "dev",
        breakIt: (r) =>
            add(
                r,
                binding(r, "someone", "data-platform", "Role/elsewhere", { kind: "User", name: "someone@example.com" }),
            ),
        message: /binds Role elsewhere, which the stack does not define, to User someone@example.com/,
    },
    {
        name: "Secret reads aggregated into the built-in view role",
        policy: "platform-secrets-no-rbac-access",
        stack: "dev",
        breakIt: (r) =>
            add(
                r,
                rbacObject(r, "ClusterRole", "secret-viewer", undefined, {
                    metadata: {
                        name: "secret-viewer",
                        labels: { "rbac.authorization.k8s.io/aggregate-to-view": "true" },
                    },
                    rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["list"] }],
                }),
            ),
        message: /ClusterRole secret-viewer is aggregated into a built-in role and grants list core\/secrets/,
    },
    {
        name: "a Redis StatefulSet mounting the login Job's Secret",
        policy: "postgres-login-secret-job-only",
        stack: "prod",
        breakIt: (r) =>
            edit(r, ofType("kubernetes:apps/v1:StatefulSet"), (p) => {
                p.spec.template.spec.volumes.push({ name: "pg", secret: { secretName: "postgres-logins" } });
            }),
        message:
            /StatefulSet data-platform\/redis\S* reads Secret data-platform\/postgres-logins .* only the login Job/,
    },
    {
        name: "the login Job as the namespace's default service account (before)",
        policy: "postgres-login-secret-job-only",
        stack: "dev",
        breakIt: (r) =>
            edit(r, ofType("kubernetes:batch/v1:Job"), (p) => {
                delete p.spec.template.spec.serviceAccountName;
            }),
        message: /Job data-platform\/postgres-logins-[0-9a-f]{10} reads Secret data-platform\/postgres-logins/,
    },
    {
        name: "the login Job with an API token",
        policy: "postgres-login-secret-job-only",
        stack: "prod",
        breakIt: (r) =>
            edit(r, ofType("kubernetes:batch/v1:Job"), (p) => {
                p.spec.template.spec.automountServiceAccountToken = true;
            }),
        message: /mounts an API token; the login Job needs none/,
    },
    {
        name: "the login Job's Secret through a namespaced store",
        policy: "postgres-login-secret-job-only",
        stack: "prod",
        breakIt: (r) =>
            edit(
                r,
                (x) =>
                    x.type === "kubernetes:external-secrets.io/v1:ExternalSecret" &&
                    x.inputs.metadata.name === "postgres-logins",
                (p) => {
                    p.spec.secretStoreRef = { kind: "SecretStore", name: "azure-key-vault" };
                },
            ),
        message:
            /syncs the PostgreSQL admin's password through SecretStore azure-key-vault, not through the platform's/,
    },
    {
        name: "an unprotected production vault",
        policy: "stateful-resources-protected",
        stack: "prod",
        breakIt: (r) =>
            edit(r, ofType("azure-native:keyvault:Vault"), (_p, rec) => {
                (rec.options as { protect?: boolean }).protect = false;
            }),
        message: /azure-native:keyvault:Vault .* is not protected/,
    },
    {
        name: "an unprotected production StatefulSet whose delete takes its pods (no orphan propagation)",
        policy: "stateful-resources-protected",
        stack: "prod",
        breakIt: (r) =>
            edit(r, ofType("kubernetes:apps/v1:StatefulSet"), (p) => {
                delete p.metadata.annotations["pulumi.com/deletionPropagationPolicy"];
            }),
        message: /kubernetes:apps\/v1:StatefulSet redis-\S+ is not protected/,
    },
    {
        name: "an unprotected production StatefulSet whose delete takes its claims",
        policy: "stateful-resources-protected",
        stack: "prod",
        breakIt: (r) =>
            edit(r, ofType("kubernetes:apps/v1:StatefulSet"), (p) => {
                p.spec.persistentVolumeClaimRetentionPolicy = { whenDeleted: "Delete", whenScaled: "Retain" };
            }),
        message: /kubernetes:apps\/v1:StatefulSet redis-\S+ is not protected/,
    },
    {
        name: "a 16-character password",
        policy: "password-min-length",
        stack: "dev",
        breakIt: (r) =>
            edit(r, ofType("random:index/randomPassword:RandomPassword"), (p) => {
                p.length = 16;
            }),
        message: /is 16 characters long; the minimum is 32/,
    },
    {
        name: "applications opening more clients than Azure's PgBouncer takes (max_client_conn 5000)",
        policy: "postgres-connection-budget",
        stack: "prod",
        breakIt: (r) =>
            edit(
                r,
                ofType("kubernetes:core/v1:Namespace"),
                (p) => {
                    p.metadata.annotations = { ...p.metadata.annotations, [CONNECTION_DEMAND_ANNOTATION]: "2000" };
                },
                3,
            ),
        message:
            /Applications open 6000 client connections to the PgBouncer of server \S+ \(\S+ 2000, \S+ 2000, \S+ 2000\), but its max_client_conn is 5000/,
    },
    {
        name: "more connections through Azure's PgBouncer pools than max_connections",
        policy: "postgres-connection-budget",
        stack: "prod",
        // orders min(120, 2 x 50) + auth_query's pool 50 + 1 migration = 151, search 81, billing 61, login Job 1,
        // exporter 2, 15 reserved: 311.
        breakIt: (r) =>
            edit(
                r,
                (x) =>
                    x.type === "azure-native:dbforpostgresql:Configuration" &&
                    x.inputs.configurationName === "max_connections",
                (p) => {
                    p.value = "310";
                },
            ),
        message:
            /311 connections reach server \S+ \(applications: orders 151, search 81, billing 61; platform and reserved: postgres-logins 1, postgres-exporter 2, reserved 15\), but it allows 310/,
    },
    {
        name: "applications asking for more than StackGres's max_connections through its default pools",
        policy: "postgres-connection-budget",
        stack: "dev",
        // StackGres' default_pool_size 1000 caps nothing: 50 + auth_query's pool 50 + 1 migration each, login Job, 10
        // reserved.
        breakIt: (r) =>
            edit(
                r,
                ofType("kubernetes:core/v1:Namespace"),
                (p) => {
                    p.metadata.annotations = { ...p.metadata.annotations, [CONNECTION_DEMAND_ANNOTATION]: "50" };
                },
                2,
            ),
        message:
            /213 connections reach SGPostgresConfig \S+ \(applications: \S+ 101, \S+ 101; platform and reserved: postgres-logins 1, reserved 10\), but it allows 100/,
    },
    {
        name: "applications opening more clients than the SGPoolingConfig's max_client_conn",
        policy: "postgres-connection-budget",
        stack: "dev",
        breakIt: (r) =>
            edit(r, ofType("kubernetes:stackgres.io/v1:SGPoolingConfig"), (p) => {
                p.spec.pgBouncer["pgbouncer.ini"].pgbouncer.max_client_conn = "14";
            }),
        // dev: orders 2 x 5, billing 1 x 5.
        message:
            /Applications open 15 client connections to the PgBouncer of SGPostgresConfig \S+ \(\S+ 10, \S+ 5\), but its max_client_conn is 14/,
    },
    {
        name: "a production SGCluster without scheduled backups",
        policy: "stackgres-backups-in-production",
        stack: "dev",
        breakIt: (r) =>
            edit(r, ofType("kubernetes:stackgres.io/v1:SGCluster"), (p) => {
                p.spec.configurations.backups = [];
            }),
        config: { "stackgres-backups-in-production": { environment: "production" } },
        message: /SGCluster \S+ has no scheduled backups/,
    },
    {
        name: "a production SGCluster keeping StackGres' default 5 base backups",
        policy: "stackgres-backups-in-production",
        stack: "dev",
        breakIt: (r) =>
            edit(r, ofType("kubernetes:stackgres.io/v1:SGCluster"), (p) => {
                p.spec.configurations.backups = [{ sgObjectStorage: "postgres-backups", cronSchedule: "0 5 * * *" }];
            }),
        config: { "stackgres-backups-in-production": { environment: "production" } },
        message: /keeps 5 base backups \(postgres-backups\); production requires at least 7/,
    },
];

/** Compliant variants for rules the stacks as configured do not exercise. */
interface Passing {
    readonly name: string;
    readonly stack: Stack;
    readonly make: (r: RunResult) => RunResult;
    /** Policy config on top of the stack's own (e.g. a development stack's graph judged as production). */
    readonly config?: PackConfig;
}

const DIGEST = `sha256:${"0123456789abcdef".repeat(4)}`;

const PASSING: Passing[] = [
    {
        name: "applications above max_connections whose pools the SGPoolingConfig caps (default_pool_size 10)",
        stack: "dev",
        // 50 clients each, but 2 logins x 10 and auth_query's 10 reach PostgreSQL: 31 each, login Job, 10 reserved = 73.
        make: (r) =>
            edit(
                edit(
                    r,
                    ofType("kubernetes:core/v1:Namespace"),
                    (p) => {
                        p.metadata.annotations = { ...p.metadata.annotations, [CONNECTION_DEMAND_ANNOTATION]: "50" };
                    },
                    2,
                ),
                ofType("kubernetes:stackgres.io/v1:SGPoolingConfig"),
                (p) => {
                    p.spec.pgBouncer["pgbouncer.ini"].pgbouncer.default_pool_size = "10";
                },
            ),
    },
    {
        name: "a production SGCluster with scheduled backups",
        stack: "dev",
        make: (r) =>
            edit(r, ofType("kubernetes:stackgres.io/v1:SGCluster"), (p) => {
                p.spec.configurations.backups = [
                    { sgObjectStorage: "postgres-backups", cronSchedule: "0 5 * * *", retention: 7 },
                ];
            }),
        config: { "stackgres-backups-in-production": { environment: "production" } },
    },
    {
        name: "a firewall rule admitting one office range",
        stack: "prod",
        make: (r) =>
            add(
                r,
                recorded(r, "azure-native:dbforpostgresql:FirewallRule", "office", {
                    serverName: "pg",
                    startIpAddress: "203.0.113.10",
                    endIpAddress: "203.0.113.20",
                }),
            ),
    },
    {
        name: "every production image pinned by digest",
        stack: "prod",
        make: (r) =>
            edit(
                r,
                (x) => /^kubernetes:(apps|batch)\/v1:/.test(x.type),
                (p) => {
                    const spec = p.spec?.jobTemplate?.spec?.template?.spec ?? p.spec?.template?.spec ?? {};
                    for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
                        c.image = `${String(c.image).split("@")[0]}@${DIGEST}`;
                    }
                },
                Infinity,
            ),
    },
];

function violated(violations: readonly Violation[]): Set<string> {
    return new Set(violations.map((v) => v.policy));
}

describe("policy pack", () => {
    after(() => {
        console.log(`      policy pack: ${allPolicies.length} rules, ${VARIANTS.length} broken variants`);
    });

    it("has unique names, descriptions and config defaults for every property", () => {
        const names = allPolicies.map((p) => p.name);
        assert.deepStrictEqual(
            names.filter((n, i) => names.indexOf(n) !== i),
            [],
        );
        for (const p of allPolicies) {
            assert.match(p.name, /^[a-z0-9-]+$/);
            assert.ok(p.description.length > 20, `${p.name} needs a description`);
            assert.ok(p.enforcementLevel, `${p.name} sets its enforcement level`);
            for (const [key, prop] of Object.entries(p.configSchema?.properties ?? {})) {
                assert.notStrictEqual(prop.default, undefined, `${p.name}.${key} has no default`);
            }
        }
    });

    it("constructs the PolicyPack only in policy/index.ts and has a versioned package.json", () => {
        const dir = path.resolve(__dirname, "..", "..", "..", "policy");
        const files = (d: string): string[] =>
            fs
                .readdirSync(d, { withFileTypes: true })
                .flatMap((e) =>
                    e.isDirectory()
                        ? e.name === "node_modules"
                            ? []
                            : files(path.join(d, e.name))
                        : [path.join(d, e.name)],
                );
        const constructing = files(dir).filter(
            (f) => f.endsWith(".ts") && /new PolicyPack\(/.test(fs.readFileSync(f, "utf8")),
        );
        assert.deepStrictEqual(
            constructing.map((f) => path.relative(dir, f)),
            ["index.ts"],
        );
        assert.match(JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")).version, /^\d+\.\d+\.\d+$/);
        assert.match(fs.readFileSync(path.join(dir, "PulumiPolicy.yaml"), "utf8"), /^runtime: nodejs$/m);
    });

    it("is self-contained: imports only its own files and declared dependencies, with a lockfile", () => {
        const dir = path.resolve(__dirname, "..", "..", "..", "policy");
        const manifest = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
        const declared = new Set(Object.keys({ ...manifest.dependencies, ...manifest.devDependencies }));
        const lock = JSON.parse(fs.readFileSync(path.join(dir, "package-lock.json"), "utf8"));
        assert.deepStrictEqual(
            [...declared].filter((d) => lock.packages[`node_modules/${d}`] === undefined),
            [],
            "every dependency is locked",
        );
        const problems: string[] = [];
        const visit = (d: string) => {
            for (const e of fs.readdirSync(d, { withFileTypes: true })) {
                const file = path.join(d, e.name);
                if (e.isDirectory()) {
                    if (e.name !== "node_modules") visit(file);
                } else if (e.name.endsWith(".ts")) {
                    for (const [, spec] of fs.readFileSync(file, "utf8").matchAll(/from "([^"]+)"/g)) {
                        if (spec.startsWith(".")) {
                            const target = path.resolve(path.dirname(file), spec);
                            if (!target.startsWith(`${dir}${path.sep}`))
                                problems.push(`${file}: ${spec} is outside policy/`);
                        } else {
                            const pkg = spec
                                .split("/")
                                .slice(0, spec.startsWith("@") ? 2 : 1)
                                .join("/");
                            if (!declared.has(pkg)) problems.push(`${file}: ${pkg} is not in policy/package.json`);
                        }
                    }
                }
            }
        };
        visit(dir);
        assert.deepStrictEqual(problems, []);
        assert.ok(!fs.readFileSync(path.join(dir, "tsconfig.json"), "utf8").includes("extends"), "own tsconfig");
    });

    it("shares the program's names by copy: each copied constant equals the program's", () => {
        const { LOGIN_JOB_SECRET_PATTERN, SENTINEL_CLIENT_SECRET_PATTERN, ...names } = packContract;
        assert.deepStrictEqual(names, {
            CONNECTION_DEMAND_ANNOTATION,
            POSTGRES_SERVER_ANNOTATION,
            POSTGRES_SERVER_TAG,
        });
        // Every server's login Job Secret, and nothing else the program names.
        for (const server of [undefined, "analytics", "b2"]) {
            assert.ok(LOGIN_JOB_SECRET_PATTERN.test(postgresNames({ server }).logins), `server ${server}`);
        }
        for (const other of ["postgres-logins-x", "redis-logins", "postgres-a-b-logins", "postgres-login-verifiers"]) {
            assert.ok(!LOGIN_JOB_SECRET_PATTERN.test(other), other);
        }
        // Every group's Sentinel client password, under a vault prefix too, and none of its other credentials.
        for (const group of [undefined, "cache", "b2"]) {
            const ids = redisRoleCredentials({ group });
            for (const name of [ids.sentinelClient, prefixedSecretName("team", ids.sentinelClient)]) {
                assert.ok(SENTINEL_CLIENT_SECRET_PATTERN.test(name), name);
            }
            for (const [role, id] of Object.entries(ids).filter(([role]) => role !== "sentinelClient")) {
                assert.ok(!SENTINEL_CLIENT_SECRET_PATTERN.test(id), `${role}: ${id}`);
            }
        }
        assert.ok(!SENTINEL_CLIENT_SECRET_PATTERN.test("app-orders-env"));
    });

    it("has a policy config per stack that says explicitly whether the stack is production", () => {
        const aware = allPolicies.filter((p) => p.configSchema?.properties.environment !== undefined);
        for (const stack of STACKS) {
            const config = packConfig(stack);
            const expected = isProductionStack(stack) ? "production" : "non-production";
            assert.deepStrictEqual(
                aware.filter((p) => settingsIn(config, p.name).environment !== expected).map((p) => p.name),
                [],
                `policy/config/${stack}.json sets environment: ${expected} for every environment-aware policy`,
            );
            assert.deepStrictEqual(packConfigProblems(config, allPolicies), [], `policy/config/${stack}.json`);
        }
    });

    it("takes a pack config as the CLI does: `all` sets every policy's level, a policy's own entry wins", async () => {
        const allAdvisory: PackConfig = { all: "advisory" };
        assert.deepStrictEqual(packConfigProblems(allAdvisory, allPolicies), []);
        assert.deepStrictEqual(packConfigProblems({ all: "loud", "no-such-policy": {} }, allPolicies), [
            'all: "loud" is not an enforcement level (advisory, mandatory, remediate, disabled)',
            "no-such-policy: no such policy",
        ]);
        const broken = VARIANTS.find((v) => v.policy === "k8s-pod-security-restricted")!;
        const run = broken.breakIt(await runStack(broken.stack));
        const levels = async (config: PackConfig) =>
            new Set(
                (await runPolicies(allPolicies, run, { config })).violations
                    .filter((v) => v.policy === broken.policy)
                    .map((v) => v.enforcementLevel),
            );
        assert.deepStrictEqual(await levels(allAdvisory), new Set(["advisory"]));
        assert.deepStrictEqual(await levels({ all: "advisory", [broken.policy]: "mandatory" }), new Set(["mandatory"]));
    });

    for (const stack of STACKS) {
        it(`${stack}: no mandatory violation`, async () => {
            const run = await runPolicies(allPolicies, await runStack(stack), { config: packConfig(stack) });
            const mandatory = run.violations.filter((v) => v.enforcementLevel === "mandatory");
            assert.deepStrictEqual(
                mandatory,
                [],
                `mandatory violations in ${stack}:\n${describeViolations(mandatory)}`,
            );
        });
    }

    it('an input unknown during preview makes its rule advisory ("can\'t run during preview"), not a mandatory failure', async () => {
        const prod = await runStack("prod");
        const isReader = (x: RecordedResource) =>
            x.type === "azure-native:authorization:RoleAssignment" &&
            String(x.inputs.roleDefinitionId).endsWith("4633458b-17de-408a-b874-0445c86b69e6");
        // In a first preview the vault's id, and so the assignment's scope, is not known yet.
        const preview = edit(prod, isReader, (_p, r) => {
            (r as { unknownPaths: string[] }).unknownPaths = ["scope"];
        });
        const run = await runPolicies(allPolicies, preview);
        const scope = run.violations.filter((v) => v.policy === "keyvault-role-assignment-scope");
        assert.deepStrictEqual(
            scope.map((v) => v.enforcementLevel),
            ["advisory"],
            describeViolations(scope),
        );
        assert.match(
            scope[0].message,
            /can't run policy keyvault-role-assignment-scope during preview: string value at .scope/,
        );
    });

    it("harness: type checks by the SDK class, options from the registration, stack view with parents", async () => {
        const prod = await runStack("prod");
        const vault = prod.resources.find(ofType("azure-native:keyvault:Vault")) ?? assert.fail("no vault in prod");
        const args = resourceArgs(vault, "p", { config: { p: { enforcementLevel: "advisory", minimum: 3 } } });
        assert.deepStrictEqual(
            [args.isType(Vault), args.isType(Secret), args.asType(Vault)?.vaultName],
            [true, false, vault.inputs.vaultName],
        );
        assert.deepStrictEqual(
            [args.opts.protect, args.opts.parent, args.getConfig()],
            [true, vault.parent, { minimum: 3 }],
        );
        assert.throws(() => args.notApplicable("why"), /why/);
        const stack = stackResources(prod);
        assert.ok(!stack.some((r) => r.type.startsWith("pulumi:providers:")), "providers are not analyzed");
        assert.strictEqual(stack.find((r) => r.urn === vault.urn)?.parent?.urn, vault.parent);
    });

    it("tells production apart: explicit setting, then the stack tag, then the stack name", () => {
        const source = (tags: Record<string, string>) => ({
            stackTags: new Map(Object.entries(tags)),
            getConfig: <T extends object>() => ({}) as T,
        });
        const auto = { environment: "auto" as const, productionStacks: ["prod"] };
        const urn = (stack: string) =>
            `urn:pulumi:${stack}::data-platform::random:index/randomPassword:RandomPassword::p`;
        assert.strictEqual(isProduction(source({}), auto, urn("prod")), true);
        assert.strictEqual(isProduction(source({}), auto, urn("dev")), false);
        assert.strictEqual(isProduction(source({ environment: "production" }), auto, urn("dev")), true);
        assert.strictEqual(isProduction(source({ environment: "staging" }), auto, urn("prod")), false);
        assert.strictEqual(isProduction(source({}), { ...auto, environment: "non-production" }, urn("prod")), false);
        assert.strictEqual(isProduction(source({}), { ...auto, productionStacks: ["live"] }, urn("live")), true);
    });

    it("recognises credentials in text and names, not references to them", () => {
        const found = [
            "postgresql://app:s3cret@db:5432/app",
            "-----BEGIN RSA PRIVATE KEY-----",
            "port 6379\nrequirepass hunter2",
            "sentinel auth-pass primary hunter2",
            "user app on >hunter2 ~* +@all",
            "CREATE ROLE app LOGIN PASSWORD 'hunter2'",
            "host=db password=hunter2",
        ];
        const clean = [
            "postgresql://app:$(DB_PASSWORD)@db/app",
            "redis://:${REDIS_PASSWORD}@redis:6379/0",
            'echo "masterauth $(cat /etc/redis/auth/replication)"',
            'masterauth "$REPLICATION_PASSWORD"',
            "# masteruser/masterauth are appended at start",
            "password_encryption = scram-sha-256",
            "user app on #5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8 ~*",
            "sentinel monitor primary redis-0 6379 2",
        ];
        assert.deepStrictEqual(
            found.filter((t) => credentialIn(t) === undefined),
            [],
        );
        assert.deepStrictEqual(
            clean.filter((t) => credentialIn(t) !== undefined),
            [],
        );
        assert.deepStrictEqual(
            ["DB_PASSWORD", "REDISCLI_AUTH", "api-key", "client_secret", "token"].filter((n) => !isCredentialName(n)),
            [],
        );
        assert.deepStrictEqual(
            ["DB_PASSWORD_FILE", "DB_USER", "TOKEN_PATH", "SECRET_NAME", "AUTHORITY_HOST", "DB_HOST"].filter(
                isCredentialName,
            ),
            [],
        );
    });

    it("every rule has a real passing case: it applies to something and finds nothing wrong", async () => {
        const cases = [
            ...STACKS.map((stack): Passing => ({ name: stack, stack, make: (r: RunResult) => r })),
            ...PASSING.map((p) => ({ ...p, name: `${p.stack}, ${p.name}` })),
        ];
        const passedBy = new Map<string, string[]>();
        for (const c of cases) {
            const graph = c.make(await runStack(c.stack));
            const run = await runPolicies(allPolicies, graph, {
                config: { ...packConfig(c.stack), ...c.config },
            });
            const analyzed = graph.resources.filter(
                (r) => !r.type.startsWith("pulumi:providers:") && r.type !== "pulumi:pulumi:Stack",
            ).length;
            for (const p of allPolicies) {
                const skipped = run.notApplicable.get(p.name)?.length ?? 0;
                const applied = "validateStack" in p ? skipped === 0 : skipped < analyzed;
                if (applied && !run.violations.some((v) => v.policy === p.name)) {
                    passedBy.set(p.name, [...(passedBy.get(p.name) ?? []), c.name]);
                }
            }
        }
        assert.deepStrictEqual(
            allPolicies.map((p) => p.name).filter((n) => !passedBy.has(n)),
            [],
        );
        for (const p of PASSING) {
            assert.ok(
                [...passedBy.values()].some((names) => names.includes(`${p.stack}, ${p.name}`)),
                `passing case "${p.name}" is the only pass of some rule, or is useless`,
            );
        }
    });

    it("every rule has a broken variant", () => {
        const targeted = new Set(VARIANTS.map((v) => v.policy));
        assert.deepStrictEqual(
            allPolicies.map((p) => p.name).filter((n) => !targeted.has(n)),
            [],
        );
    });

    it("rules about absent kinds are not applicable (dev: standalone Redis, StackGres instead of Azure)", async () => {
        const dev = await runStack("dev");
        assert.ok(!dev.resources.some(isSentinel), "dev runs standalone Redis");
        const run = await runPolicies(allPolicies, dev);
        assert.deepStrictEqual(run.notApplicable.get("redis-sentinel-quorum"), [
            "no Redis Sentinel in the stack (standalone Redis)",
        ]);
        assert.ok(
            run.notApplicable.get("postgres-ha-in-production")?.every((reason) => /only applies to/.test(reason)),
        );
    });

    for (const v of VARIANTS) {
        it(`${v.stack}, ${v.name}: trips exactly ${v.policy}`, async () => {
            const baselineGraph = await runStack(v.stack);
            const baseline = await runPolicies(allPolicies, baselineGraph);
            const before = violated(baseline.violations);
            assert.ok(
                !before.has(v.policy),
                `${v.policy} already fails before the change:\n${describeViolations(baseline.violations)}`,
            );
            const broken = await runPolicies(allPolicies, v.breakIt(baselineGraph), { config: v.config });
            const tripped = [...violated(broken.violations)].filter((p) => !before.has(p));
            assert.deepStrictEqual(
                tripped,
                [v.policy],
                `expected only ${v.policy} to trip:\n${describeViolations(broken.violations)}`,
            );
            const messages = broken.violations.filter((x) => x.policy === v.policy);
            assert.ok(
                messages.some((m) => v.message.test(m.message)),
                `no message matches ${v.message}:\n${describeViolations(messages)}`,
            );
        });
    }
});
