/**
 * Secret access boundaries: which namespace can read which Key Vault secret through External Secrets, who can write
 * ExternalSecrets, the principals role assignments name, a public vault's firewall, and who in the cluster can get at
 * the platform's Secrets.
 */
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { LOGIN_JOB_SECRET_PATTERN, SENTINEL_CLIENT_SECRET_PATTERN } from "../lib/contract";
import { TYPES, objectRef, podTemplateOf, secretsOf } from "../lib/k8s";
import { SECRET_REVEALING, aggregatedRoles, grantedOf, grantsIn } from "../lib/rbac";
import { GraphResource, WHOLE_VAULT, secretReach } from "../lib/secretReach";
import { AZURE_TYPES } from "./azure";

const SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6";
const VAULT_SCOPE = /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.KeyVault\/vaults\/[^/]+$/i;

export const secretReachDisjoint: StackValidationPolicy = {
    name: "eso-secret-reach-disjoint",
    description:
        "Through External Secrets no Key Vault secret is readable from two namespaces (the stores usable in each, their identities' role assignments), but a Redis group's Sentinel client password, which every application of the group holds; a role on the whole vault is keyvault-secret-reader-per-secret's.",
    enforcementLevel: "mandatory",
    severity: "critical",
    validateStack: (args, report) => {
        const reach = secretReach(args.resources);
        const readers = new Map<string, string[]>();
        for (const [namespace, secrets] of reach) {
            for (const secret of secrets) {
                readers.set(secret, [...(readers.get(secret) ?? []), namespace]);
            }
        }
        for (const [secret, namespaces] of readers) {
            // The Sentinels' client password is in every application's Secret of its group (REDIS_SENTINEL_PASSWORD):
            // a tenant stack's applications read it from the platform's secret (components/redis/tenant.ts), which
            // gives no namespace more than its own Secret holds.
            if (secret !== WHOLE_VAULT && namespaces.length > 1 && !SENTINEL_CLIENT_SECRET_PATTERN.test(secret)) {
                report(
                    `Key Vault secret ${secret} is readable through External Secrets from namespaces ${namespaces.join(", ")}; each namespace's store reads only its own.`,
                );
            }
        }
    },
};

export const secretReaderPerSecret: ResourceValidationPolicy = {
    name: "keyvault-secret-reader-per-secret",
    description:
        "Key Vault Secrets User is assigned on one secret (…/vaults/<vault>/secrets/<name>), not on the whole vault: an identity reads exactly what its store syncs (wider scopes are keyvault-role-assignment-scope's).",
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: (args, report) => {
        if (args.type !== AZURE_TYPES.roleAssignment) {
            args.notApplicable(`only applies to ${AZURE_TYPES.roleAssignment}`);
        }
        const ra = args.props as { roleDefinitionId?: string; scope?: string };
        if (
            !String(ra.roleDefinitionId ?? "")
                .toLowerCase()
                .endsWith(SECRETS_USER)
        ) {
            args.notApplicable("not Key Vault Secrets User");
        }
        if (VAULT_SCOPE.test(String(ra.scope ?? ""))) {
            report(
                `Role assignment ${args.name} grants Key Vault Secrets User on "${ra.scope}"; scope it to one secret.`,
            );
        }
    },
};

export const esoNotAggregatedToEdit: ResourceValidationPolicy = {
    name: "eso-not-aggregated-to-edit",
    description:
        "The External Secrets chart does not add ExternalSecret and store write rights to the built-in edit and admin roles (rbac.aggregateToEdit and aggregateToAdmin false).",
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: (args, report) => {
        if (args.type !== "kubernetes:helm.sh/v3:Release" || args.props.chart !== "external-secrets") {
            args.notApplicable("not the External Secrets chart");
        }
        const rbac = args.props.values?.rbac ?? {};
        // The chart's defaults (2.9.0 values.yaml) are true for both.
        const on = ["aggregateToEdit", "aggregateToAdmin"].filter((k) => rbac[k] !== false);
        if (on.length > 0) {
            report(
                `External Secrets release ${args.name} leaves rbac.${on.join(", rbac.")} on: anyone with edit in a namespace could create ExternalSecrets against its store.`,
            );
        }
    },
};

export const roleAssignmentServicePrincipal: ResourceValidationPolicy = {
    name: "role-assignment-service-principal",
    description:
        'Every role assignment names its principal type "ServicePrincipal" (the managed identities this program grants): azure-native fills "User" when unset, which ARM refuses for a service principal.',
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: (args, report) => {
        if (args.type !== AZURE_TYPES.roleAssignment) {
            args.notApplicable(`only applies to ${AZURE_TYPES.roleAssignment}`);
        }
        const type = args.props.principalType;
        if (type !== "ServicePrincipal") {
            report(
                `Role assignment ${args.name} has principalType ${JSON.stringify(type)}; only managed identities (ServicePrincipal) are granted here.`,
            );
        }
    },
};

export const publicVaultAdmitsSomeone: StackValidationPolicy = {
    name: "keyvault-public-admits-cluster",
    description:
        "A Key Vault with public access on admits some address or network (ipRules, virtualNetworkRules) or has a private endpoint: with default deny and nothing listed, External Secrets cannot read it.",
    enforcementLevel: "mandatory",
    severity: "high",
    validateStack: (args, report) => {
        const vaults = args.resources.filter((r) => r.type === AZURE_TYPES.vault);
        if (vaults.length === 0) {
            args.notApplicable("no Key Vault created");
        }
        const endpoints = args.resources.filter((r) => r.type === "azure-native:network:PrivateEndpoint");
        for (const vault of vaults) {
            const p = vault.props.properties ?? {};
            const name = vault.props.vaultName ?? vault.name;
            const publicAccess = String(p.publicNetworkAccess ?? "enabled").toLowerCase() !== "disabled";
            const acls = p.networkAcls ?? {};
            const listed = (acls.ipRules ?? []).length + (acls.virtualNetworkRules ?? []).length > 0;
            const privateWay = endpoints.some((e) =>
                (e.props.privateLinkServiceConnections ?? []).some((c: { privateLinkServiceId?: string }) =>
                    String(c.privateLinkServiceId ?? "")
                        .toLowerCase()
                        .endsWith(`/vaults/${String(name).toLowerCase()}`),
                ),
            );
            if (publicAccess && acls.defaultAction === "Deny" && !listed && !privateWay) {
                report(
                    `Key Vault ${name} is public, denies by default and lists no address, network or private endpoint: the cluster (External Secrets) cannot reach it; list the cluster's egress ranges.`,
                );
            }
        }
    },
};

const EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret";
const CLUSTER_STORE = "kubernetes:external-secrets.io/v1:ClusterSecretStore";

/** Namespaces the platform's ClusterSecretStore writes Secrets into (its ExternalSecrets'). */
function platformSecretNamespaces(resources: readonly GraphResource[]): string[] {
    const namespaces = resources
        .filter((r) => r.type === EXTERNAL_SECRET && r.props.spec?.secretStoreRef?.kind === "ClusterSecretStore")
        .map((r) => r.props.metadata?.namespace);
    return [...new Set(namespaces)].filter(Boolean).sort();
}

export const platformSecretsNoRbacAccess: StackValidationPolicy = {
    name: "platform-secrets-no-rbac-access",
    description:
        "No binding the program creates lets anyone read Secrets, or create, change or enter pods, in a namespace the platform's ClusterSecretStore writes to (the PostgreSQL admin's and Redis's passwords), not even the login Job's own account: the kubelet mounts a pod's Secrets whatever its rights.",
    enforcementLevel: "mandatory",
    severity: "critical",
    validateStack: (args, report) => {
        const namespaces = platformSecretNamespaces(args.resources);
        if (namespaces.length === 0) {
            args.notApplicable("no Secret synced through a ClusterSecretStore");
        }
        for (const ns of namespaces) {
            for (const g of grantsIn(args.resources, ns, SECRET_REVEALING)) {
                const who = g.subjects.join(", ") || "no subject";
                if (g.granted === undefined) {
                    report(
                        `${g.binding} binds ${g.role}, which the stack does not define, to ${who} in "${ns}", where the platform's Secrets are: nothing bounds what it grants.`,
                    );
                } else if (g.granted.length > 0) {
                    report(
                        `${g.binding} lets ${who} ${g.granted.join(", ")} in "${ns}" (${g.role}), where the platform's Secrets are; leave those rights to the platform team.`,
                    );
                }
            }
        }
        for (const role of aggregatedRoles(args.resources)) {
            const granted = grantedOf(role.props.rules ?? [], SECRET_REVEALING);
            if (granted.length > 0) {
                report(
                    `ClusterRole ${objectRef(role.props, role.name)} is aggregated into a built-in role and grants ${granted.join(", ")}: whoever holds that role in "${namespaces.join('", "')}" gets them.`,
                );
            }
        }
    },
};

export const loginSecretJobOnly: StackValidationPolicy = {
    name: "postgres-login-secret-job-only",
    description:
        "The login Job's Secret (the PostgreSQL admin's password) comes through a ClusterSecretStore that names its namespace, and only the login Job reads it, as its own service account without an API token (who else may use that store is eso-secret-reach-disjoint's).",
    enforcementLevel: "mandatory",
    severity: "critical",
    validateStack: (args, report) => {
        const syncs = args.resources.filter(
            (r) =>
                r.type === EXTERNAL_SECRET &&
                LOGIN_JOB_SECRET_PATTERN.test(r.props.spec?.target?.name ?? r.props.metadata?.name ?? ""),
        );
        if (syncs.length === 0) {
            args.notApplicable(`no ExternalSecret writes a login Job Secret (${LOGIN_JOB_SECRET_PATTERN.source})`);
        }
        for (const es of syncs) {
            const ns: string = es.props.metadata?.namespace;
            // The server's login Job runs as the service account of the Secret's own name.
            const secret: string = es.props.spec?.target?.name ?? es.props.metadata?.name;
            const ref = es.props.spec?.secretStoreRef ?? {};
            const store = args.resources.find((r) => r.type === CLUSTER_STORE && r.props.metadata?.name === ref.name);
            const named = (store?.props.spec?.conditions ?? []).flatMap(
                (c: { namespaces?: string[] }) => c.namespaces ?? [],
            );
            if (ref.kind !== "ClusterSecretStore" || !named.includes(ns)) {
                report(
                    `ExternalSecret ${objectRef(es.props, es.name)} syncs the PostgreSQL admin's password through ${ref.kind ?? "SecretStore"} ${ref.name}, not through the platform's ClusterSecretStore naming "${ns}".`,
                );
            }
            // A pod can only mount Secrets of its own namespace: no other namespace can reference this one.
            for (const r of args.resources.filter((x) => x.props.metadata?.namespace === ns)) {
                const template = podTemplateOf(r.type, r.props);
                if (!template || !secretsOf(template.spec).has(secret)) {
                    continue;
                }
                const what = `${r.type.split(":").pop()} ${objectRef(r.props, r.name)}`;
                if (r.type !== TYPES.job || template.spec.serviceAccountName !== secret) {
                    report(
                        `${what} reads Secret ${ns}/${secret} (the PostgreSQL admin's password); only the login Job, running as service account ${secret}, may.`,
                    );
                } else if (template.spec.automountServiceAccountToken !== false) {
                    report(
                        `${what} mounts an API token; the login Job needs none (automountServiceAccountToken: false).`,
                    );
                }
            }
        }
    },
};

export const secretAccessPolicies = [
    secretReachDisjoint,
    secretReaderPerSecret,
    esoNotAggregatedToEdit,
    roleAssignmentServicePrincipal,
    publicVaultAdmitsSomeone,
    platformSecretsNoRbacAccess,
    loginSecretJobOnly,
];
