/**
 * Secret access boundaries: which namespace can read which Key Vault secret through External Secrets, who can write
 * ExternalSecrets, the principals role assignments name, and a public vault's firewall.
 */
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { WHOLE_VAULT, secretReach } from "../lib/secretReach";
import { AZURE_TYPES } from "./azure";

const SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6";
const VAULT_SCOPE = /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.KeyVault\/vaults\/[^/]+$/i;

export const secretReachDisjoint: StackValidationPolicy = {
    name: "eso-secret-reach-disjoint",
    description:
        "Through External Secrets no Key Vault secret is readable from two namespaces (the stores usable in each, their identities' role assignments); a role on the whole vault is keyvault-secret-reader-per-secret's.",
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
            if (secret !== WHOLE_VAULT && namespaces.length > 1) {
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

export const secretAccessPolicies = [
    secretReachDisjoint,
    secretReaderPerSecret,
    esoNotAggregatedToEdit,
    roleAssignmentServicePrincipal,
    publicVaultAdmitsSomeone,
];
