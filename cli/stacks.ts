/**
 * `npm run stacks [-- --github-output | --codeowners]`: the stacks (one per Pulumi.<stack>.yaml) with the GitHub
 * environments their jobs run in, as the workflow matrices use them. With --github-output it appends `all`,
 * `production` and `nonProduction` (platform stacks) and `tenants` (tenant stacks, deployed after every platform
 * stack; matrix `include` lists as JSON) to $GITHUB_OUTPUT. --codeowners prints the CODEOWNERS lines that give each
 * tenant stack's file (and its policy configuration) to the teams its `tenant.owners` names. It refuses stacks that
 * collide on a cluster, and stacks of one subscription (a platform and its tenants) past Azure's role assignments or
 * identities per resource group together, and prints their headroom (stderr).
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { ROOT, stackFile } from "../offline/stackConfig";
import { repositorySharingProblems } from "../offline/sharedClusters";
import { isProductionStack, stackNames } from "../offline/stacks";
import { tenantCollisionProblems } from "../offline/tenantStacks";
import { environmentUseLine, repositoryFootprints } from "../offline/environmentLimits";
import { environmentLimitProblems, environmentUse } from "../components/limits";

export interface StackEntry {
    readonly stack: string;
    readonly production: boolean;
    /** Where `up` runs: `production` (required reviewers, main only) for production stacks, else the stack name. */
    readonly environment: string;
    /** Where previews run, with read-only credentials. */
    readonly previewEnvironment: string;
    /** The stack reaches an Entra-ID AKS cluster through kubelogin (`cluster.aks.login` other than `admin`). */
    readonly kubelogin: boolean;
    /** A tenant stack's platform stack (`tenant.platformStack`, its last part); unset: a platform stack. */
    readonly platformStack?: string;
    /** A tenant stack's owners (`tenant.owners`). */
    readonly owners?: readonly string[];
}

export const PRODUCTION_ENVIRONMENT = "production";

function stackDoc(stack: string, dir: string): any {
    return YAML.parse(fs.readFileSync(path.join(dir, path.basename(stackFile(stack))), "utf8")) ?? {};
}

/** A tenant stack's `data-platform:tenant`, or undefined for a platform stack. */
function tenantOf(stack: string, dir: string): { platformStack: string; owners: string[] } | undefined {
    const tenant = stackDoc(stack, dir).config?.["data-platform:tenant"];
    return tenant === undefined
        ? undefined
        : { platformStack: String(tenant.platformStack).split("/").pop() as string, owners: tenant.owners ?? [] };
}

/** Whether the stack (a tenant: its platform) reaches its cluster through kubelogin. */
function usesKubelogin(stack: string, dir: string): boolean {
    const cluster = tenantOf(stack, dir)?.platformStack ?? stack;
    const login = stackDoc(cluster, dir).config?.["data-platform:cluster"]?.aks?.login;
    return login !== undefined && login !== "admin";
}

export function stackEntries(dir: string = ROOT): StackEntry[] {
    return stackNames(dir).map((stack) => {
        const production = isProductionStack(stack, path.join(dir, path.basename(stackFile(stack))));
        const tenant = tenantOf(stack, dir);
        // A tenant's deploys are its team's: an environment of its own (production ones under the production prefix,
        // so only production credentials' rules apply), whose reviewers are its owners.
        const environment = tenant
            ? production
                ? `${PRODUCTION_ENVIRONMENT}-${stack}`
                : stack
            : production
              ? PRODUCTION_ENVIRONMENT
              : stack;
        return {
            stack,
            production,
            environment,
            previewEnvironment: `${environment}-preview`,
            kubelogin: usesKubelogin(stack, dir),
            ...(tenant ? { platformStack: tenant.platformStack, owners: tenant.owners } : {}),
        };
    });
}

/** CODEOWNERS lines: each tenant stack's file and policy configuration, owned by its teams. */
export function codeowners(entries: readonly StackEntry[]): string[] {
    return entries
        .filter((e) => e.platformStack !== undefined)
        .flatMap((e) => [
            `/Pulumi.${e.stack}.yaml ${(e.owners ?? []).join(" ")}`,
            `/policy/config/${e.stack}.json ${(e.owners ?? []).join(" ")}`,
        ]);
}

function main(argv: readonly string[]): void {
    const unknown = argv.filter((a) => a !== "--github-output" && a !== "--codeowners");
    if (unknown.length > 0) {
        throw new Error(
            `unknown arguments ${unknown.join(" ")}; usage: npm run stacks [-- --github-output | --codeowners]`,
        );
    }
    if (argv.includes("--codeowners")) {
        console.log(codeowners(stackEntries()).join("\n"));
        return;
    }
    // Stacks on one cluster must not share names there; nothing deploys while two would.
    const sharing = [...repositorySharingProblems(), ...tenantCollisionProblems()];
    if (sharing.length > 0) {
        throw new Error(`stacks that share a cluster collide:\n${sharing.map((p) => `  ${p}`).join("\n")}`);
    }
    // Stacks of one subscription share Azure's counted limits, which each stack's own check cannot sum.
    const footprints = repositoryFootprints();
    const limits = environmentLimitProblems(footprints);
    if (limits.length > 0) {
        throw new Error(
            `stacks that share a subscription pass Azure's limits:\n${limits.map((p) => `  ${p}`).join("\n")}`,
        );
    }
    console.error(environmentUse(footprints).map(environmentUseLine).join("\n"));
    const entries = stackEntries();
    const platforms = entries.filter((e) => e.platformStack === undefined);
    const outputs = {
        all: entries,
        production: platforms.filter((e) => e.production),
        nonProduction: platforms.filter((e) => !e.production),
        tenants: entries.filter((e) => e.platformStack !== undefined),
    };
    if (argv.includes("--github-output")) {
        const file = process.env.GITHUB_OUTPUT;
        if (!file) {
            throw new Error("--github-output needs $GITHUB_OUTPUT");
        }
        fs.appendFileSync(
            file,
            Object.entries(outputs)
                .map(([k, v]) => `${k}=${JSON.stringify(v)}\n`)
                .join(""),
        );
    }
    console.log(JSON.stringify(outputs, null, 2));
}

if (require.main === module) {
    main(process.argv.slice(2));
}
