/** The naming rules of the APIs the program's objects go to (Kubernetes, Azure), for the property tests. */
import { DNS_LABEL, KEY_VAULT_NAME, KEY_VAULT_SECRET_NAME, RESOURCE_GROUP } from "../../components/config/names";

export const fitsLabel = (name: string): boolean => DNS_LABEL.test(name) && name.length <= 63;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const fitsSubdomain = (name: string) => DNS_SUBDOMAIN.test(name) && name.length <= 253;
/** A label value: at most 63 characters, alphanumerics at both ends, `-`, `_` and `.` between. */
export const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;
const KEY_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
/** A label or annotation key: an optional DNS-subdomain prefix and a name of at most 63 characters. */
export function fitsKey(key: string): boolean {
    const slash = key.indexOf("/");
    return slash < 0 ? KEY_NAME.test(key) : fitsSubdomain(key.slice(0, slash)) && KEY_NAME.test(key.slice(slash + 1));
}
/** Kinds whose names the API server checks as DNS labels rather than subdomains. */
export const LABEL_NAMED = new Set(["Namespace", "Service"]);

/** Azure name inputs and their rules (Azure's naming rules per resource provider). */
export const AZURE_NAMES: Readonly<Record<string, RegExp>> = {
    vaultName: KEY_VAULT_NAME,
    secretName: KEY_VAULT_SECRET_NAME,
    serverName: /^[a-z0-9][-a-z0-9]{1,61}[a-z0-9]$/,
    databaseName: /^(?=.{1,63}$)[a-z_][a-z0-9_]*$/,
    resourceGroupName: new RegExp(`^(?=.{1,90}$)${RESOURCE_GROUP.source.slice(1, -1)}(?<!\\.)$`),
    resourceName: /^[a-zA-Z0-9][-a-zA-Z0-9_]{2,127}$/,
    federatedIdentityCredentialResourceName: /^[a-zA-Z0-9][-a-zA-Z0-9_]{2,119}$/,
    roleAssignmentName: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    privateEndpointName: /^[a-zA-Z0-9]([-a-zA-Z0-9_.]{0,78}[a-zA-Z0-9_])?$/,
    privateDnsZoneGroupName: /^[a-zA-Z0-9]([-a-zA-Z0-9_.]{0,78}[a-zA-Z0-9_])?$/,
};
