/** Key Vault and credential generation settings. */
import { z } from "zod";
import { IPV4_CIDR, KEY_VAULT_NAME, KEY_VAULT_SECRET_NAME } from "./names";
import { Profile, byProfile, choice, documented, flag, integer, listOf, mapOf, section, text } from "./fields";

/** Characters `passwords.special` may list besides letters and digits: safe in config files and shells. Those with a
 *  meaning in URLs (`#%&+/:=?@`) must be percent-encoded when a client builds a URL by hand. */
export const SAFE_SPECIAL_CHARACTERS = "!#%&*+-./:=?@^_~";

/** The default: RFC 3986's unreserved characters besides letters and digits, so a password pasted into a URL's
 *  userinfo unencoded still parses (RFC 3986 section 2.3: unreserved characters never need encoding). */
export const URL_SAFE_SPECIAL_CHARACTERS = "-._~";

export const MIN_PASSWORD_LENGTH = 32;

/** Default length: with the URL-safe alphabet, the shortest that keeps the entropy of the previous default (40
 *  characters of letters, digits and SAFE_SPECIAL_CHARACTERS); tests/unit/vault/credentials.test.ts computes both. */
export const DEFAULT_PASSWORD_LENGTH = 42;

/** The highest generation: nine digits (a login generation also names `<role>_alt` logins' keepers). */
const MAX_GENERATION = 999_999_999;
/** A generation as a string: decimal, no sign, no leading zeros, so that one number has one spelling (one keeper). */
const GENERATION_TEXT = /^(0|[1-9][0-9]{0,8})$/;

const ROTATION_ALLOWED =
    'a whole number from 0 to 999999999 (1 or "1"), raised by exactly one to rotate, or { generation: <number>, legacyValue: "<the free-form value it replaces>" }';

/** What to write instead of a refused rotation value, when the value says what was meant. */
function rotationAdvice(given: unknown): string {
    if (typeof given !== "string" || given === "") {
        return "";
    }
    const number = /^\s*\+?0*([0-9]{1,9})\s*$/.exec(given);
    if (number) {
        return `; write ${Number(number[1])}`;
    }
    // The previous release accepted any text, as the keeper of a single password: changing it replaced the password
    // in use with no previous one (components/vault/credentials.ts `rotationSlots`).
    const text = JSON.stringify(given);
    return `; a value that is not a number replaces the password in use with no previous one and locks out running clients: write { generation: 0, legacyValue: ${text} } to keep the current password, { generation: 1, legacyValue: ${text} } to rotate`;
}

/**
 * A credential's rotation value: its generation (see components/vault/credentials.ts `rotationSlots`), as YAML and
 * `pulumi config set --path` write it (a number) or as a decimal string; or, for a credential whose value was
 * free-form text, the generation with that text, which stays the keeper of generation 0 so its password is kept.
 */
function rotationValue() {
    // Every branch says the same, whichever one zod reports (it reports the only branch of the input's type).
    const refused = { error: (issue: { input?: unknown }) => `${ROTATION_ALLOWED}${rotationAdvice(issue.input)}` };
    const generation = z.union(
        [
            z.int(refused).min(0, refused).max(MAX_GENERATION, refused),
            z.string(refused).regex(GENERATION_TEXT, refused),
        ],
        refused,
    );
    const schema = z
        .union(
            [
                generation,
                z.strictObject(
                    { generation, legacyValue: z.string(refused).min(1, refused).max(64, refused) },
                    refused,
                ),
            ],
            refused,
        )
        .transform(
            (value): Rotation =>
                typeof value === "object"
                    ? { generation: Number(value.generation), legacyValue: value.legacyValue }
                    : { generation: Number(value) },
        );
    return documented(schema, { allowed: ROTATION_ALLOWED });
}

/** A credential's generation, and the free-form value that was its keeper before generations, when there was one. */
export interface Rotation {
    readonly generation: number;
    readonly legacyValue?: string;
}

/** `keyVault.rotations`: the rotation of each credential id that was ever rotated. */
export type Rotations = Readonly<Record<string, Rotation>>;

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
        recover: flag()
            .default(false)
            .describe(
                "Create the vault by recovering the soft-deleted vault of its name (`createMode: recover`), with its secrets: a deleted vault keeps its name for `softDeleteRetentionDays`, and purge protection forbids purging it (README: Teardown and re-creation). Counts only when the vault is created.",
            ),
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
                .default(DEFAULT_PASSWORD_LENGTH)
                .describe(
                    "Generated password length. A change applies to each password when it is next generated (a new credential, or its rotation), never to the existing ones.",
                ),
            special: text({
                minLength: 1,
                allowed: `a non-empty subset of ${JSON.stringify(SAFE_SPECIAL_CHARACTERS)}`,
                check: (v) =>
                    [...v].every((c) => SAFE_SPECIAL_CHARACTERS.includes(c))
                        ? undefined
                        : "contains a character outside the safe set",
            })
                .default(URL_SAFE_SPECIAL_CHARACTERS)
                .describe(
                    "Special characters passwords may contain (default URL-safe: a password pasted into a URL unencoded still parses). A change applies to each password when it is next generated (a new credential, or its rotation), never to the existing ones.",
                ),
        })
            .prefault({})
            .describe("Password generation."),
        rotations: mapOf(text({ pattern: KEY_VAULT_SECRET_NAME, allowed: "a credential id" }), rotationValue())
            .default({})
            .describe(
                "Rotation value per credential id: its generation, raised by exactly one to rotate that credential only (Redis users and application logins keep accepting the previous password until the next rotation).",
            ),
    });
}

/** Key Vault settings; `name` unset means derived from project, stack and resource group. */
export type KeyVaultConfig = z.output<ReturnType<typeof keyVaultSchema>>;
/** Length and special characters of every generated password. */
export type PasswordPolicy = KeyVaultConfig["passwords"];
/** A private endpoint for the vault, so the cluster reaches it while public access is off. */
export type PrivateEndpointConfig = NonNullable<KeyVaultConfig["privateEndpoint"]>;
