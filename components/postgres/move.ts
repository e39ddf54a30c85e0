/**
 * Moving an application's database to another server (`apps[].postgres.movedFrom`): the copy Job on the server it
 * moves to (`moveSpec.ts`), with the admins' passwords of both servers synced by External Secrets as the login Job's
 * are. The application's bundle waits for it (`readyFor`), so its Secret names the new server only once the data is
 * there. Created as children of the target server's component.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { PlatformConfig, ServerConfig } from "../config/types";
import { AppMove, createCopyJob, movesTo } from "../moveJob";
import type { ServiceArgs } from "../serviceModule";
import { azureEndpoint } from "./azure";
import { postgresCaCert } from "./contract";
import { loginJobServiceAccount } from "./loginJobSpec";
import { MOVE_JOB_WAIT_SECONDS } from "../moveJobSpec";
import { MoveSide, moveJobBase, moveJobFiles, moveJobName, moveJobSpec } from "./moveSpec";
import { postgresMoveOf, postgresNames, postgresServerConfig, postgresServerOf } from "./servers";
import { appLogins } from "./sql";
import { STACKGRES_DIRECT_PORT, STACKGRES_SUPERUSER, stackGresHost } from "./stackgresSpec";

/** Where a server's admin reaches PostgreSQL itself (as its login Job does), from the configuration alone. */
function adminSide(config: ServerConfig, server: string): MoveSide {
    const pg = config.postgres;
    const caCert = postgresCaCert(pg);
    // Azure: the host its name gives (the server's FQDN output says the same), PostgreSQL's own port.
    const azure = () => azureEndpoint(config, "");
    return pg.mode === "azure"
        ? { server, host: azure().host, port: azure().port, adminLogin: pg.azure.adminLogin, caCert }
        : {
              server,
              host: stackGresHost(pg.stackgres.clusterName, config.cluster.platformNamespace),
              port: STACKGRES_DIRECT_PORT,
              adminLogin: STACKGRES_SUPERUSER,
              caCert,
          };
}

/** The applications of `config` moving to `server`, each with the server it leaves. */
export function postgresMovesTo(config: PlatformConfig, server: string): AppMove[] {
    return movesTo(config.apps, server, postgresServerOf, (app) => postgresMoveOf(app)?.from);
}

/** The copy Job of `app` (and its ConfigMap, synced Secret, service account); it completes once the data is there. */
export function createMoveJob(
    parent: pulumi.Resource,
    name: string,
    args: ServiceArgs,
    move: AppMove & { to: string },
    after: pulumi.Input<pulumi.Resource>[],
): k8s.batch.v1.Job {
    const target = postgresServerConfig(args.config, move.to);
    const source = postgresServerConfig(args.config, move.from);
    const base = moveJobBase(postgresNames(target.postgres).prefix, move.app.name);
    const login = appLogins([move.app], args.config.keyVault.rotations)[0];
    const sides = { source: adminSide(source, move.from), target: adminSide(target, move.to) };
    const files = moveJobFiles(login, sides.source, sides.target);
    const input = {
        app: move.app.name,
        database: login.database,
        files,
        image: target.postgres.clientImage,
        ...sides,
    };
    const account = new k8s.core.v1.ServiceAccount(
        `${name}-move-${move.app.name}-sa`,
        loginJobServiceAccount(args.namespace, base),
        { parent },
    );
    return createCopyJob(parent, name, args, {
        app: move.app.name,
        base,
        jobName: moveJobName(input, base),
        files,
        adminSecrets: {
            source: postgresNames(source.postgres).credentials.admin,
            target: postgresNames(target.postgres).credentials.admin,
        },
        spec: moveJobSpec(input, base),
        waitSeconds: MOVE_JOB_WAIT_SECONDS,
        // The target's database and logins first (its login Job), then the freeze and the copy.
        after,
        needs: [account],
    });
}
