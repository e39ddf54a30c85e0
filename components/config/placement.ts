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
    /** An application being moved: the instance it moves from, and whether its old copy is being dropped. */
    readonly move?: (app: AppConfig) => Move | undefined;
}

/** `apps[].<service>.movedFrom` and `retireOld` as given. */
export interface Move {
    readonly from?: string;
    readonly retireOld?: boolean;
}

/** The move an application's section (`apps[].postgres`, `apps[].redis`) states; undefined when it is not moving. */
export function sectionMove(section: Move | undefined): Move | undefined {
    return section?.from === undefined && section?.retireOld === undefined
        ? undefined
        : { from: section.from, retireOld: section.retireOld };
}

/** How to move an application (`appKey`: `postgres.server`, `redis.group`), for the messages refusing another way. */
export function howToMove(appKey: string, from: string, to: string): string {
    const section = appKey.split(".")[0];
    return (
        `to move it from ${from} to ${to} with its data, set ${section}.movedFrom: ${from} beside ${appKey}: ${to} ` +
        `(README "Moving an application"); without it the new instance starts empty`
    );
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
        checkMove(app, i, instance, instances, placement, ctx);
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

/** A move names an existing instance other than the application's own; `retireOld` only with it. */
function checkMove(
    app: AppConfig,
    i: number,
    instance: string,
    instances: readonly string[],
    placement: Placement,
    ctx: ParseContext,
): void {
    const move = placement.move?.(app);
    const section = placement.appKey.split(".")[0];
    const key = `${PROJECT}:apps[${i}].${section}`;
    if (move?.from === undefined) {
        if (move?.retireOld !== undefined) {
            report(
                ctx,
                `${key}.retireOld`,
                move.retireOld,
                `only with ${section}.movedFrom (the ${placement.kind} of the old copy)`,
            );
        }
        return;
    }
    if (!instances.includes(move.from)) {
        report(ctx, `${key}.movedFrom`, move.from, `one of ${instances.join(", ")} (${placement.mapKey})`);
    } else if (move.from === instance) {
        report(
            ctx,
            `${key}.movedFrom`,
            move.from,
            `a ${placement.kind} other than its own ${placement.appKey} (${instance}): the one it moves from`,
        );
    }
}
