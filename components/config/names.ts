/** Naming rules that Azure and Kubernetes enforce, checked in config before anything is registered. */

/** RFC 1123 label: Kubernetes namespaces, most object names, Service names. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** An application name: a DNS label short enough for every derived name (`<app>-data`, Key Vault secrets). */
export const APP_NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/**
 * A named PostgreSQL server or Redis group: lower-case letters and digits, no dash, so `<service>-<name>-<object>`
 * cannot read as another instance's object name (the words the default instance's own names use are refused by the
 * service's config rules).
 */
export const INSTANCE_NAME = /^[a-z][a-z0-9]*$/;
export const INSTANCE_NAME_MAX_LENGTH = 16;
export const INSTANCE_NAME_ALLOWED = `a name of 1 to ${INSTANCE_NAME_MAX_LENGTH} lower-case letters and digits, starting with a letter`;

/** A PostgreSQL identifier we are willing to emit unquoted. */
export const PG_IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
/** A PostgreSQL extension name as `CREATE EXTENSION` and Azure's `azure.extensions` take it (`uuid-ossp` has a dash). */
export const EXTENSION_NAME = /^[a-z][a-z0-9_-]{0,62}$/;

/** Azure resource group names. */
export const RESOURCE_GROUP = /^[-\w._()]+$/;

/** Key Vault names: 3-24 characters, letters, digits and single dashes, starting with a letter. */
export const KEY_VAULT_NAME = /^(?=.{3,24}$)[a-zA-Z](?!.*--)[a-zA-Z0-9-]*[a-zA-Z0-9]$/;

/** A key of a Kubernetes Secret's data (and of an ExternalSecret's `secretKey`): letters, digits, `-`, `_`, `.`. */
export const SECRET_DATA_KEY = /^[-._a-zA-Z0-9]+$/;

/** Key Vault secret names: 1-127 letters, digits and dashes. */
export const KEY_VAULT_SECRET_NAME = /^[0-9a-zA-Z-]{1,127}$/;

/** An IPv4 address. */
export const IPV4 = /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** An IPv4 address or CIDR range. */
export const IPV4_CIDR =
    /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\/(3[0-2]|[12]?\d))?$/;

/** A Kubernetes quantity as used for memory and storage (e.g. `512Mi`, `20Gi`). */
export const BYTES_QUANTITY = /^[0-9]+(\.[0-9]+)?(Mi|Gi|Ti)$/;

/** The bytes a `BYTES_QUANTITY` stands for (binary suffixes); undefined for any other text. */
export function quantityBytes(quantity: string): number | undefined {
    const match = BYTES_QUANTITY.exec(quantity);
    return match ? Number(quantity.slice(0, -2)) * 1024 ** (["Mi", "Gi", "Ti"].indexOf(match[2]) + 2) : undefined;
}

/** A Kubernetes CPU quantity (e.g. `250m`, `2`). */
export const CPU_QUANTITY = /^[1-9][0-9]*m?$/;

/** A Go duration as ESO and cert-manager accept it (e.g. `1h`, `15m`, `30s`). */
export const DURATION = /^([0-9]+(h|m|s))+$/;

/**
 * A container image pinned to a tag other than `latest`, optionally with a digest. Repository path components may hold
 * `.`, `_`, `__` and `-` between lower-case alphanumerics (distribution/reference grammar: `oliver006/redis_exporter`).
 */
export const PINNED_IMAGE = /^[a-z0-9._\-/:]+:(?!latest(@|$))[A-Za-z0-9._-]+(@sha256:[a-f0-9]{64})?$/;

/** One or more PEM certificates (a CA or a chain of CAs), as `openssl x509 -outform PEM` writes them. */
export const PEM_CERTIFICATES =
    /^\s*(-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\s*)+$/;
