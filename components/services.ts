/**
 * The catalog of data services: one line per service, in the order their config sections, credentials, contract keys
 * and components come. A service is a folder whose `module.ts` implements `DataServiceModule` (`serviceModule.ts`);
 * the config loader, the credential registry, the env contract and `platform.ts` iterate this list.
 */
import { postgresModule } from "./postgres/module";
import { redisModule } from "./redis/module";
import type { AppConfig } from "./config/platform";
import type { PlatformConfig } from "./config/types";
import { DEFAULT_INSTANCE, instancePrefix } from "./serviceModule";

export type { ContractKey, DataServiceModule, ServiceArgs, ServiceContract, ServiceInstance } from "./serviceModule";
export { DEFAULT_INSTANCE } from "./serviceModule";

export const SERVICES = [postgresModule, redisModule] as const;

export type Service = (typeof SERVICES)[number];
export type ServiceName = Service["name"];

type UnionToIntersection<U> = (U extends unknown ? (part: U) => void : never) extends (part: infer I) => void
    ? I
    : never;
/** The stack's whole contract shape: every service's part side by side (`{ postgresCaCert, redisMode, ... }`). */
export type ContractShape = UnionToIntersection<Service["contract"]["shapes"][number]>;

/** The instances of a service in a stack (today the one `DEFAULT_INSTANCE`). */
export function instancesOf(service: Service, config: PlatformConfig): readonly string[] {
    return service.instances?.(config) ?? [DEFAULT_INSTANCE];
}

/** The instance of a service an application uses. */
export function instanceOf(service: Service, app: AppConfig): string {
    return service.instanceOf?.(app) ?? DEFAULT_INSTANCE;
}

/** The logical name of an instance's component (`instancePrefix`). */
export function instanceResourceName(service: Service, instance: string): string {
    return instancePrefix(service.name, instance);
}
