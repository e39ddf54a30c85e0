/** Key Vault and credential generation settings. */
import type { z } from "zod";
import { IPV4_CIDR, KEY_VAULT_NAME, KEY_VAULT_SECRET_NAME } from "./names";
import { Profile, byProfile, choice, flag, integer, listOf, mapOf, section, text } from "./fields";

/** Characters a generated password may contain besides letters and digits. Safe in config files and shells, and
 *  covering every character with a meaning in URLs, so that encoding is always exercised. */
export const SAFE_SPECIAL_CHARACTERS = "!#%&*+-./:=?@^_~";

export const MIN_PASSWORD_LENGTH = 32;

export function keyVaultSchema(profile: Profile) {
    return section({
        name: text({
            pattern: KEY_VAULT_NAME,
            allowed: "3-24 letters, digits and single dashes, starting with a letter, ending with a letter or digit",
        })
            .optional()
            .describe("Vault name (globally unique); default derived from project, stack and resource group."),
        existingVaultId: text({
            pattern: /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.KeyVault\/vaults\/[^/]+$/i,
            allowed: "a Key Vault resource id",
            check: (v) =>
                KEY_VAULT_NAME.test(v.slice(v.lastIndexOf("/") + 1))
                    ? undefined
                    : "its vault name breaks Azure's naming rule",
        })
            .optional()
            .describe(
                "Adopt this existing vault (RBAC authorization on, same subscription) instead of creating one; `name` is then unused.",
            ),
        secretPrefix: text({
            pattern: /^([a-zA-Z][a-zA-Z0-9]*(-[a-zA-Z0-9]+)*)?$/,
            maxLength: 48,
            allowed: "letters, digits and single dashes, starting with a letter (or empty)",
        })
            .optional()
            .describe(
                "Prefix (`<prefix>-<name>`) of every secret this stack writes, so stacks sharing an adopted vault never overwrite each other's credentials. Required with `existingVaultId`; unset with a created vault (names unchanged). Changing it moves every secret to a new name.",
            ),
        sku: choice(["standard", "premium"]).default("standard").describe("Vault SKU."),
        softDeleteRetentionDays: integer(7, 90)
            .default(byProfile(profile, { production: 90, development: 7 }))
            .describe("Soft-delete retention in days (Azure fixes it when the vault is created)."),
        purgeProtection: flag().default(true).describe("Purge protection (irreversible once on)."),
        publicNetworkAccess: flag()
            .default(byProfile(profile, { production: false, development: true }))
            .describe(
                "Public network access; when on, only `cluster.egressIpRanges` and `allowedIpRanges` are admitted (default deny).",
            ),
        allowedIpRanges: listOf(text({ pattern: IPV4_CIDR, allowed: "an IPv4 address or CIDR range" }))
            .default([])
            .describe("Addresses admitted through the vault firewall besides the cluster's (operators, CI)."),
        privateEndpoint: section({
            subnetId: text({
                pattern:
                    /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Network\/virtualNetworks\/[^/]+\/subnets\/[^/]+$/i,
                allowed: "a subnet resource id",
            }).describe("Subnet of the endpoint."),
            privateDnsZoneId: text({
                pattern:
                    /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Network\/privateDnsZones\/privatelink\.vaultcore\.azure\.net$/i,
                allowed: "the resource id of a privatelink.vaultcore.azure.net zone",
            }).describe("Private DNS zone the endpoint registers in."),
        })
            .optional()
            .describe(
                "Private endpoint for the vault; required for a created vault without public access (the cluster could not reach it otherwise).",
            ),
        passwords: section({
            length: integer(MIN_PASSWORD_LENGTH, 128)
                .default(40)
                .describe("Generated password length; changing it regenerates every password."),
            special: text({
                minLength: 1,
                allowed: `a non-empty subset of ${JSON.stringify(SAFE_SPECIAL_CHARACTERS)}`,
                check: (v) =>
                    [...v].every((c) => SAFE_SPECIAL_CHARACTERS.includes(c))
                        ? undefined
                        : "contains a character outside the safe set",
            })
                .default(SAFE_SPECIAL_CHARACTERS)
                .describe("Special characters passwords may contain; changing them regenerates every password."),
        })
            .prefault({})
            .describe("Password generation."),
        rotations: mapOf(
            text({ pattern: KEY_VAULT_SECRET_NAME, allowed: "a credential id" }),
            text({ minLength: 1, maxLength: 64 }),
        )
            .default({})
            .describe("Rotation value per credential id; change one to rotate that credential only."),
    });
}

/** Key Vault settings; `name` unset means derived from project, stack and resource group. */
export type KeyVaultConfig = z.output<ReturnType<typeof keyVaultSchema>>;
/** Length and special characters of every generated password. */
export type PasswordPolicy = KeyVaultConfig["passwords"];
/** A private endpoint for the vault, so the cluster reaches it while public access is off. */
export type PrivateEndpointConfig = NonNullable<KeyVaultConfig["privateEndpoint"]>;
