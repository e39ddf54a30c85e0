/**
 * Every `data-platform:<key>` of a stack with its schema, built once per profile (the profile chooses defaults).
 * The order is the README's.
 */
import { z } from "zod";
import { PROFILES, Profile } from "./fields";
import { keyVaultSchema } from "./keyVault";
import { appsSchema, azureSchema, clusterSchema, profileSchema, protectSchema } from "./platform";
import { postgresSchema } from "./postgres";
import { redisSchema } from "./redis";

function stackSchema(profile: Profile) {
    return z.object({
        profile: profileSchema.default("production").describe("Chooses defaults for sizes, HA, TLS and protection."),
        protect: protectSchema(profile).describe("Protect stateful resources (they are always retained on delete)."),
        azure: azureSchema.describe("Azure placement."),
        cluster: clusterSchema(profile).prefault({}).describe("Cluster access and cluster-level operators."),
        keyVault: keyVaultSchema(profile).prefault({}).describe("Key Vault and generated credentials."),
        postgres: postgresSchema(profile).describe("PostgreSQL."),
        redis: redisSchema(profile).prefault({}).describe("Redis."),
        apps: appsSchema.describe("The applications, one namespace each."),
    });
}

export const STACK_SCHEMAS = Object.fromEntries(PROFILES.map((p) => [p, stackSchema(p)])) as Record<
    Profile,
    ReturnType<typeof stackSchema>
>;

/** Keys read as secrets; they are not part of `PlatformConfig`. */
export const SECRET_KEYS = ["kubeconfig"] as const;
