/** Key Vault and credential generation settings. */
import { IPV4_CIDR, KEY_VAULT_NAME, KEY_VAULT_SECRET_NAME } from "./names";
import { bool, int, list, object, oneOf, record, str, FROM_FIELDS } from "./schema";

/** Characters a generated password may contain besides letters and digits. Safe in config files and shells, and
 *  covering every character with a meaning in URLs, so that encoding is always exercised. */
export const SAFE_SPECIAL_CHARACTERS = "!#%&*+-./:=?@^_~";

export interface PasswordPolicy {
    /** Length of every generated password. */
    readonly length: number;
    /** Special characters the generator may use (a subset of the safe set). */
    readonly special: string;
}

/** A private endpoint for the vault, so the cluster reaches it while public access is off. */
export interface PrivateEndpointConfig {
    /** Subnet the endpoint's network interface is placed in (reachable from the cluster). */
    readonly subnetId: string;
    /** The `privatelink.vaultcore.azure.net` zone linked to the cluster's VNet. */
    readonly privateDnsZoneId: string;
}

export interface KeyVaultConfig {
    /** Vault name; default derived from project, stack and resource group. */
    readonly name?: string;
    /** Adopt an existing vault by resource id instead of creating one. */
    readonly existingVaultId?: string;
    readonly sku: "standard" | "premium";
    readonly softDeleteRetentionDays: number;
    readonly purgeProtection: boolean;
    /** Allow public network access (with `allowedIpRanges` as a default-deny ACL). */
    readonly publicNetworkAccess: boolean;
    /** Addresses admitted when public access is on (the deploying runner, office ranges). */
    readonly allowedIpRanges: string[];
    readonly privateEndpoint?: PrivateEndpointConfig;
    readonly passwords: PasswordPolicy;
    /** Per-credential rotation value: change it to generate that credential anew. */
    readonly rotations: Record<string, string>;
}

export const MIN_PASSWORD_LENGTH = 32;

export const keyVaultSchema = object<KeyVaultConfig>({
    name: {
        schema: str({
            pattern: KEY_VAULT_NAME,
            allowed: "3-24 letters, digits and single dashes, starting with a letter, ending with a letter or digit",
        }),
        optional: true,
        doc: "Vault name (globally unique); default derived from project, stack and resource group.",
    },
    existingVaultId: {
        schema: str({
            pattern: /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.KeyVault\/vaults\/[^/]+$/i,
            allowed: "a Key Vault resource id",
            check: (v) =>
                KEY_VAULT_NAME.test(v.slice(v.lastIndexOf("/") + 1))
                    ? undefined
                    : "its vault name breaks Azure's naming rule",
        }),
        optional: true,
        doc: "Adopt this existing vault (RBAC authorization on, same subscription) instead of creating one; `name` is then unused.",
    },
    sku: { schema: oneOf(["standard", "premium"] as const), default: "standard", doc: "Vault SKU." },
    softDeleteRetentionDays: {
        schema: int(7, 90),
        default: { production: 90, development: 7 },
        doc: "Soft-delete retention in days (Azure fixes it when the vault is created).",
    },
    purgeProtection: { schema: bool(), default: true, doc: "Purge protection (irreversible once on)." },
    publicNetworkAccess: {
        schema: bool(),
        default: { production: false, development: true },
        doc: "Public network access; when on, only `allowedIpRanges` are admitted (default deny).",
    },
    allowedIpRanges: {
        schema: list(str({ pattern: IPV4_CIDR, allowed: "an IPv4 address or CIDR range" })),
        default: [],
        doc: "Addresses admitted through the vault firewall.",
    },
    privateEndpoint: {
        schema: object<PrivateEndpointConfig>({
            subnetId: {
                schema: str({
                    pattern:
                        /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Network\/virtualNetworks\/[^/]+\/subnets\/[^/]+$/i,
                    allowed: "a subnet resource id",
                }),
                doc: "Subnet of the endpoint.",
            },
            privateDnsZoneId: {
                schema: str({
                    pattern:
                        /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Network\/privateDnsZones\/privatelink\.vaultcore\.azure\.net$/i,
                    allowed: "the resource id of a privatelink.vaultcore.azure.net zone",
                }),
                doc: "Private DNS zone the endpoint registers in.",
            },
        }),
        optional: true,
        doc: "Private endpoint for the vault; required for a created vault without public access (the cluster could not reach it otherwise).",
    },
    passwords: {
        schema: object<PasswordPolicy>({
            length: {
                schema: int(MIN_PASSWORD_LENGTH, 128),
                default: 40,
                doc: "Generated password length; changing it regenerates every password.",
            },
            special: {
                schema: str({
                    minLength: 1,
                    allowed: `a non-empty subset of ${JSON.stringify(SAFE_SPECIAL_CHARACTERS)}`,
                    check: (v) =>
                        [...v].every((c) => SAFE_SPECIAL_CHARACTERS.includes(c))
                            ? undefined
                            : "contains a character outside the safe set",
                }),
                default: SAFE_SPECIAL_CHARACTERS,
                doc: "Special characters passwords may contain; changing them regenerates every password.",
            },
        }),
        default: FROM_FIELDS,
        doc: "Password generation.",
    },
    rotations: {
        schema: record(
            str({ pattern: KEY_VAULT_SECRET_NAME, allowed: "a credential id" }),
            str({ minLength: 1, maxLength: 64 }),
        ),
        default: FROM_FIELDS,
        doc: "Rotation value per credential id; change one to rotate that credential only.",
    },
});
