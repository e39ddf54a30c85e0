/**
 * `npm run stacks [-- --github-output]`: the stacks (one per Pulumi.<stack>.yaml) with the GitHub environments
 * their jobs run in, as the workflow matrices use them. With --github-output it appends `all`, `production` and
 * `nonProduction` (matrix `include` lists as JSON) to $GITHUB_OUTPUT.
 */
import * as fs from "fs";
import * as YAML from "yaml";
import { stackFile } from "../offline/stackConfig";
import { repositorySharingProblems } from "../offline/sharedClusters";
import { isProductionStack, stackNames } from "../offline/stacks";

export interface StackEntry {
    readonly stack: string;
    readonly production: boolean;
    /** Where `up` runs: `production` (required reviewers, main only) for production stacks, else the stack name. */
    readonly environment: string;
    /** Where previews run, with read-only credentials. */
    readonly previewEnvironment: string;
    /** The stack reaches an Entra-ID AKS cluster through kubelogin (`cluster.aks.login` other than `admin`). */
    readonly kubelogin: boolean;
}

export const PRODUCTION_ENVIRONMENT = "production";

function usesKubelogin(stack: string): boolean {
    const doc = YAML.parse(fs.readFileSync(stackFile(stack), "utf8")) ?? {};
    const login = doc.config?.["data-platform:cluster"]?.aks?.login;
    return login !== undefined && login !== "admin";
}

export function stackEntries(): StackEntry[] {
    return stackNames().map((stack) => {
        const production = isProductionStack(stack);
        const environment = production ? PRODUCTION_ENVIRONMENT : stack;
        return {
            stack,
            production,
            environment,
            previewEnvironment: `${environment}-preview`,
            kubelogin: usesKubelogin(stack),
        };
    });
}

function main(argv: readonly string[]): void {
    const unknown = argv.filter((a) => a !== "--github-output");
    if (unknown.length > 0) {
        throw new Error(`unknown arguments ${unknown.join(" ")}; usage: npm run stacks [-- --github-output]`);
    }
    // Stacks on one cluster must not share names there; nothing deploys while two would.
    const sharing = repositorySharingProblems();
    if (sharing.length > 0) {
        throw new Error(`stacks that share a cluster collide:\n${sharing.map((p) => `  ${p}`).join("\n")}`);
    }
    const entries = stackEntries();
    const outputs = {
        all: entries,
        production: entries.filter((e) => e.production),
        nonProduction: entries.filter((e) => !e.production),
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
