/**
 * The project's stacks: one per `Pulumi.<stack>.yaml` beside `Pulumi.yaml`. Tests, the workflow matrices and the
 * policy configuration are all derived from (or checked against) this list, so adding a stack is adding its file.
 */
import * as fs from "fs";
import * as YAML from "yaml";
import { PROFILES, PROFILE_DECIDES } from "../components/config/fields";
import { ROOT, stackFile } from "./stackConfig";

const STACK_FILE = /^Pulumi\.([a-z0-9][a-z0-9-]*)\.yaml$/;

/** Every stack with a `Pulumi.<stack>.yaml` in `dir`, sorted. */
export function stackNames(dir: string = ROOT): string[] {
    return fs
        .readdirSync(dir)
        .map((f) => STACK_FILE.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();
}

/** True when the stack's file sets `data-platform:profile: production`. */
export function isProductionStack(stack: string, file: string = stackFile(stack)): boolean {
    const doc = YAML.parse(fs.readFileSync(file, "utf8")) ?? {};
    const profile: unknown = doc.config?.["data-platform:profile"];
    if (!PROFILES.some((p) => p === profile)) {
        throw new Error(
            `${file}: data-platform:profile is ${JSON.stringify(profile) ?? "missing"}; set it to ` +
                `${PROFILES.map((p) => JSON.stringify(p)).join(" or ")}: ${PROFILE_DECIDES}`,
        );
    }
    return profile === "production";
}
