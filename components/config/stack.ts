/**
 * Every `data-platform:<key>` of a stack with its schema, built once per profile (the profile chooses defaults).
 * The order is the README's.
 */
import { z } from "zod";
import { PROFILES, Profile } from "./fields";
import { backupsSchema } from "./backups";
import { keyVaultSchema } from "./keyVault";
import { appsSchema, azureSchema, clusterSchema, importsSchema, profileSchema, protectSchema } from "./platform";
import { SERVICES, type Service } from "../services";
import { tenantsSchema } from "./tenant";

/** Each data service's section (`data-platform:<service>`), in catalog order. */
function serviceSections(profile: Profile) {
    return Object.fromEntries(SERVICES.map((service) => [service.name, service.configSchema(profile)])) as {
        [S in Service as S["name"]]: ReturnType<S["configSchema"]>;
    };
}

function stackSchema(profile: Profile) {
    return z.object({
        profile: profileSchema.describe(
            "Chooses defaults for sizes, HA, TLS and protection, and (CI) the production environment with its approval.",
        ),
        protect: protectSchema(profile).describe("Protect stateful resources (they are always retained on delete)."),
        azure: azureSchema.describe("Azure placement."),
        cluster: clusterSchema(profile).prefault({}).describe("Cluster access and cluster-level operators."),
        keyVault: keyVaultSchema(profile).prefault({}).describe("Key Vault and generated credentials."),
        ...serviceSections(profile),
        backups: backupsSchema
            .optional()
            .describe(
                "Where scheduled exports go (`apps[].backup`, `redis.backup`): a Blob container written through workload identity; unset: no exports.",
            ),
        apps: appsSchema.describe("The applications, one namespace each."),
        tenants: tenantsSchema
            .default({})
            .describe(
                "Tenant stacks this platform stack admits (README: Placing applications, tenant stacks), each with its quotas per PostgreSQL server, counted as the server's budget counts applications: `connections` reaching PostgreSQL (through PgBouncer, its pools'), `clients` into its PgBouncer. The budgets of the platform's servers hold these quotas; each tenant's applications must fit its own.",
            ),
        imports: importsSchema
            .default({})
            .describe(
                "Existing objects to take over instead of creating them (README: Teardown and re-creation, Importing existing resources): the name of a resource the stack retains on delete (plan.json `name`; `npm run imports` prints them for a stack) to its id (an ARM resource id, or a Kubernetes object's `[namespace/]name`). Once imported, an entry changes nothing; remove it at leisure.",
            ),
    });
}

export const STACK_SCHEMAS = Object.fromEntries(PROFILES.map((p) => [p, stackSchema(p)])) as Record<
    Profile,
    ReturnType<typeof stackSchema>
>;

/** Keys read as secrets; they are not part of `PlatformConfig`. */
export const SECRET_KEYS = ["kubeconfig"] as const;
