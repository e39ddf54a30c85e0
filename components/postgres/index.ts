/** PostgreSQL for the platform: one contract, two implementations chosen by `postgres.mode`. */
import type * as pulumi from "@pulumi/pulumi";
import { AzurePostgres } from "./azure";
import { PostgresArgs, PostgresService } from "./service";
import { StackGresPostgres } from "./stackgres";

export type { PostgresArgs, PostgresService } from "./service";

/** Builds the implementation the configuration asks for. */
export function createPostgres(
    name: string,
    args: PostgresArgs,
    opts?: pulumi.ComponentResourceOptions,
): PostgresService & pulumi.ComponentResource {
    return args.config.postgres.mode === "azure"
        ? new AzurePostgres(name, args, opts)
        : new StackGresPostgres(name, args, opts);
}
