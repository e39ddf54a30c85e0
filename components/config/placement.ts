/** Where applications are placed: the named instances of a service, and the checks every service runs on them. */
import { DEFAULT_INSTANCE } from "../instanceNames";
import { ParseContext, report } from "./issues";
import type { AppConfig } from "./platform";
import { PROJECT } from "./types";

/** A service's named instances as the config gives them. */
export interface Placement {
    /** What an instance is called in messages: `group`, `server`. */
    readonly kind: string;
    /** The map of named instances (`redis.groups`) and the application key naming one (`redis.group`). */
    readonly mapKey: string;
    readonly appKey: string;
    readonly named: Readonly<Record<string, { readonly dedicated: boolean }>>;
    /** Words of the default instance's own names, which a named one would collide with. */
    readonly reserved: readonly string[];
    /** The instance an application names (`DEFAULT_INSTANCE` when none). */
    readonly of: (app: AppConfig) => string;
}

/** Instance names that cannot collide, applications on existing instances, dedicated instances of one application. */
export function checkPlacement(apps: readonly AppConfig[], placement: Placement, ctx: ParseContext): void {
    const { kind, mapKey, appKey, named, reserved } = placement;
    for (const name of Object.keys(named)) {
        if (reserved.includes(name)) {
            report(
                ctx,
                `${PROJECT}:${mapKey}`,
                name,
                `a ${kind} name other than ${reserved.join(", ")} (words of the default ${kind}'s own names)`,
            );
        }
    }
    const instances = [DEFAULT_INSTANCE, ...Object.keys(named)];
    const tenants = new Map<string, number>();
    apps.forEach((app, i) => {
        const instance = placement.of(app);
        if (!instances.includes(instance)) {
            report(ctx, `${PROJECT}:apps[${i}].${appKey}`, instance, `one of ${instances.join(", ")} (${mapKey})`);
            return;
        }
        const first = tenants.get(instance);
        if (named[instance]?.dedicated && first !== undefined) {
            report(
                ctx,
                `${PROJECT}:apps[${i}].${appKey}`,
                instance,
                `a ${kind} not dedicated to another application (${mapKey}.${instance}.dedicated: apps[${first}] has it)`,
            );
        } else if (first === undefined) {
            tenants.set(instance, i);
        }
    });
}
