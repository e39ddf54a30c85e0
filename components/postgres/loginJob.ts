/**
 * The login Job of both modes: a Key Vault secret with every login's SCRAM verifier (computed here from the passwords,
 * see scram.ts), a synced Secret with the admin's password and those verifiers, a ConfigMap with the psql script and
 * its entrypoint, the Job's own service account, and a Job (renamed whenever what it applies changes)
 * that runs them.
 * Created as direct children of the calling service component, so their names and parents are those of before.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { PLATFORM_NAME, REPLACE_UNREADY_ANNOTATION, recommendedLabels } from "../labels";
import {
    LOGIN_JOB_WAIT_SECONDS,
    loginJobFiles,
    loginJobName,
    loginJobServiceAccount,
    loginJobSpec,
} from "./loginJobSpec";
import type { PostgresArgs } from "./service";
import {
    ADMIN_SECRET_KEY,
    AppLogin,
    LoginSqlOptions,
    expectedDigests,
    jobLogins,
    jobSecretFilesOf,
    loginSecretKey,
    loginVerifierParts,
    loginVerifiers,
} from "./sql";
import { postgresNames } from "./servers";
import { partSecretName } from "../vault/parts";

export interface LoginJobArgs extends PostgresArgs {
    readonly logins: readonly AppLogin[];
    readonly sqlOptions: LoginSqlOptions;
    /** Where the Job connects: PostgreSQL itself (the host is known once the server exists). */
    readonly host: pulumi.Output<string>;
    readonly port: number;
    /** The Azure admin login or the StackGres superuser (its password is credential `pg-admin`). */
    readonly adminLogin: string;
    /** The CA(s) the server's certificate chains to (the endpoint's `caCert`); known, the Job verifies the server. */
    readonly caCert: string | undefined;
    /** What must exist before the Job runs (the server and its databases, or the SGCluster). */
    readonly after: pulumi.Input<pulumi.Resource>[];
}

/** Creates the login Job's objects under `parent` (named `${name}-logins*`); the Job completes once every login works. */
export function createLoginJob(parent: pulumi.Resource, name: string, args: LoginJobArgs): k8s.batch.v1.Job {
    const { config, credentials, secretSync, namespace, logins } = args;
    const names = postgresNames(config.postgres);
    const admin = names.credentials.admin;
    // The admin's password and every login's, by credential id, once all are known.
    const ids = [admin, ...jobLogins(logins, args.sqlOptions).map((login) => login.credentialId)];
    const passwords = pulumi
        .all(ids.map((id) => credentials.password(id)))
        .apply((values) => Object.fromEntries(ids.map((id, i) => [id, values[i]])));
    // PBKDF2 once per login: the Key Vault parts and the Job's expected files are the same verifiers.
    const verifiers = passwords.apply((p) =>
        loginVerifiers(p[admin], logins, (login) => p[login.credentialId], args.sqlOptions),
    );
    const files = pulumi.secret(pulumi.all([passwords, verifiers]).apply(([p, v]) => jobSecretFilesOf(p[admin], v)));
    // In parts, each under Key Vault's 25 KB (`loginVerifierParts`); each login's key is read from its part.
    const parts = loginVerifierParts(logins, args.sqlOptions);
    parts.forEach((part, i) =>
        args.vault.writeSecret(
            i === 0 ? `${name}-login-verifiers` : `${name}-login-verifiers-${i}`,
            {
                secretName: partSecretName(names.loginVerifiers, i),
                value: pulumi.secret(
                    verifiers.apply((v) =>
                        JSON.stringify(
                            Object.fromEntries(part.map((login) => [loginSecretKey(login), v[loginSecretKey(login)]])),
                        ),
                    ),
                ),
                contentType: "application/json",
            },
            { parent },
        ),
    );
    const synced = secretSync.syncSecret(
        `${name}-logins-secret`,
        {
            namespace,
            secretName: names.logins,
            data: [
                { secretKey: ADMIN_SECRET_KEY, remoteKey: credentials.secretName(admin) },
                ...parts.flatMap((part, i) =>
                    part.map((login) => ({
                        secretKey: loginSecretKey(login),
                        remoteKey: partSecretName(names.loginVerifiers, i),
                        property: loginSecretKey(login),
                    })),
                ),
            ],
            // The sync waits for the Key Vault secrets it reads and carries their versions (SecretSync does both): a
            // rotation re-syncs the Secret at once, so the Job never waits for External Secrets' refresh interval.
        },
        { parent },
    );
    const jobFiles = loginJobFiles(logins, args.sqlOptions, args.caCert);
    const configMap = new k8s.core.v1.ConfigMap(
        `${name}-logins-sql`,
        { metadata: { name: names.logins, namespace }, data: jobFiles },
        { parent },
    );

    const account = new k8s.core.v1.ServiceAccount(
        `${name}-logins-sa`,
        loginJobServiceAccount(namespace, names.logins),
        { parent },
    );

    // Keyed by the admin password and secret in state: the digests reveal nothing about any password or verifier.
    const digests = pulumi.secret(pulumi.all([passwords, files]).apply(([p, f]) => expectedDigests(p[admin], f)));
    const input = {
        files: jobFiles,
        image: config.postgres.clientImage,
        host: args.host,
        port: args.port,
        adminLogin: args.adminLogin,
        expectedDigests: digests,
    };
    // A hash of secret digests names nothing secret: unsecret, so the Job's name stays readable in plans.
    const jobName = pulumi.unsecret(
        pulumi
            .all([args.host, digests])
            .apply(([host, expected]) => loginJobName({ ...input, host, expectedDigests: expected }, names.logins)),
    );
    const timeout = `${Math.ceil((LOGIN_JOB_WAIT_SECONDS + 600) / 60)}m`;
    return new k8s.batch.v1.Job(
        `${name}-logins`,
        {
            metadata: {
                name: jobName,
                namespace,
                labels: recommendedLabels({ partOf: PLATFORM_NAME }),
                annotations: REPLACE_UNREADY_ANNOTATION,
            },
            spec: loginJobSpec<pulumi.Input<string>>(input, names.logins),
        },
        {
            parent,
            // Pods naming a service account that does not exist yet are refused at admission.
            dependsOn: [...args.after, synced, configMap, account],
            // The Job is awaited until it completes, which includes waiting for the synced Secret and the server.
            customTimeouts: { create: timeout, update: timeout },
        },
    );
}
