/**
 * The package as a library: the components, the service catalog and the program's builder, for a Pulumi program of
 * one's own. Importing it builds nothing; `index.ts` is the program that builds a stack.
 */
export { buildPlatform } from "./components/platform";
export type { PlatformOutputs } from "./components/platform";
export { ConfigError, loadConfig, parseConfig } from "./components/config";
export type { LoadedConfig, PlatformConfig } from "./components/config";
export { SERVICES } from "./components/services";
export { AppData } from "./components/appData";
export { ClusterAccess } from "./components/cluster";
export { DataNamespace } from "./components/namespace";
export { Credentials, ExternalSecretsIdentity, KeyVault } from "./components/vault";
export { SecretSync } from "./components/secretSync";
