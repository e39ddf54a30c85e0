/**
 * PostgreSQL as a data service module: read this file to know what the service brings to a stack. It implements
 * `DataServiceModule` (`../serviceModule.ts`) and is listed in the catalog (`../services.ts`).
 */
import { postgresSchema } from "../config/postgres";
import { dataService } from "../serviceModule";
import { postgresConfigRules } from "./configRules";
import { postgresContract } from "./contract";
import { credentialRotations, postgresCredentialIds } from "./credentials";
import { createPostgres } from "./index";
import { TenantPostgres } from "./tenant";
import { createMoveJob, postgresMovesTo } from "./move";
import {
    postgresMoveOf,
    postgresServerConfig,
    postgresServerOf,
    postgresServerSettings,
    postgresServers,
} from "./servers";

export const postgresModule = dataService({
    name: "postgres",
    // Typed: the section's transform (maxConnections' default follows the SKU) would leave it inferred as unknown.
    configSchema: (profile): ReturnType<typeof postgresSchema> => postgresSchema(profile).describe("PostgreSQL."),
    configRules: postgresConfigRules,
    credentials: {
        // The admin (and StackGres' system roles), and two alternating logins per application.
        ids: postgresCredentialIds,
        // An application's logins alternate: their keepers follow its login generation.
        rotations: credentialRotations,
    },
    // `DB_*`, `DATABASE_URL`, `DATABASE_DIRECT_URL`; `DB_CA_CERT` where the server's CA is known.
    contract: postgresContract,
    // StackGres runs Patroni pods that the restricted profile refuses, so that mode enforces baseline (and warns).
    podSecurity: (config) =>
        postgresServers(config.postgres).some(
            (server) => postgresServerSettings(config.postgres, server).mode === "stackgres",
        )
            ? "baseline"
            : "restricted",
    // The section's own server (`default`) and each of `postgres.servers`; an application names its own.
    instances: (config) => postgresServers(config.postgres),
    instanceOf: postgresServerOf,
    // Azure Flexible Server or StackGres by the server's `mode`; applications wait for the login Job.
    // In a tenant stack, only its applications' databases and logins on its platform's server (`TenantPostgres`).
    // An application moving here (`apps[].postgres.movedFrom`, a platform stack's) gets a copy Job after this server's
    // login Job; its bundle waits for that too, so its Secret names this server only once its data is here.
    moveOf: postgresMoveOf,
    create: (name, server, args, opts) => {
        const serverArgs = { ...args, config: postgresServerConfig(args.config, server) };
        const postgres = args.tenant
            ? new TenantPostgres(name, { ...serverArgs, tenant: args.tenant }, opts)
            : createPostgres(name, serverArgs, opts);
        const copies = new Map(
            (args.tenant ? [] : postgresMovesTo(args.config, server)).map(({ app, from }) => [
                app.name,
                createMoveJob(postgres, name, args, { app, from, to: server }, postgres.ready),
            ]),
        );
        return {
            env: (app) => postgres.env(app),
            ready: postgres.ready,
            readyFor: (app) => [...postgres.ready, ...[copies.get(app.name) ?? []].flat()],
            outputs: { postgresHost: postgres.endpoint.host },
        };
    },
});
