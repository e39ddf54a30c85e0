/**
 * The login Job of both modes: a Key Vault secret with every login's SCRAM verifier (computed here from the passwords,
 * see scram.ts), a synced Secret with the admin's password and those verifiers, a ConfigMap with the psql script and
 * its entrypoint, the Job's own service account, and a Job (renamed whenever what it applies changes)
 * that runs them.
 * Created as direct children of the calling service component, so their names and parents are those of before.
 */
import * as crypto from "crypto";
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
    TENANT_KEY_SECRET_KEY,
    expectedDigests,
    jobLogins,
    jobSecretFilesOf,
    loginSecretKey,
    loginVerifierParts,
    loginVerifiers,
    tenantJobSecretFiles,
} from "./sql";
import type { SecretStoreRef } from "../interfaces";
import { postgresNames } from "./servers";
import { partSecretName } from "../vault/parts";
import { credentialSecretName, prefixedSecretName } from "../vault/secretNames";

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
    /**
     * A tenant stack's Job (`sqlOptions.tenant` is its stack): its objects carry `tenantLoginSuffix`, its digests and
     * salts are keyed by credential `keyId` (its own), and the admin's password reaches its Secret through `store`
     * (the platform's, which already reads it) without this stack ever reading it.
     */
    readonly tenant?: { readonly keyId: string; readonly store: SecretStoreRef };
}

/**
 * Suffix of a tenant's login Job objects and verifier secrets (one per tenant stack on each server; Kubernetes and Key
 * Vault names allow no `/` or `.`, and every name stays short): a digest of the stack's name.
 */
export function tenantLoginSuffix(stack: string): string {
    return `t${crypto.createHash("sha256").update(stack).digest("hex").slice(0, 8)}`;
}

/** Creates the login Job's objects under `parent` (named `${name}-logins*`); the Job completes once every login works. */
export function createLoginJob(parent: pulumi.Resource, name: string, args: LoginJobArgs): k8s.batch.v1.Job {
    const { config, credentials, secretSync, namespace, logins, tenant } = args;
    const names = postgresNames(config.postgres);
    const admin = names.credentials.admin;
    const suffix = args.sqlOptions.tenant === undefined ? "" : `-${tenantLoginSuffix(args.sqlOptions.tenant)}`;
    const objectName = `${names.logins}${suffix}`;
    // What keys the digests and salts: the admin's password, or a tenant's own key (its stack never reads the admin's).
    const key = tenant?.keyId ?? admin;
    // That key's and every login's password, by credential id, once all are known.
    const ids = [key, ...jobLogins(logins, args.sqlOptions).map((login) => login.credentialId)];
    const passwords = pulumi
        .all(ids.map((id) => credentials.password(id)))
        .apply((values) => Object.fromEntries(ids.map((id, i) => [id, values[i]])));
    // PBKDF2 once per login: the Key Vault parts and the Job's expected files are the same verifiers.
    const verifiers = passwords.apply((p) =>
        loginVerifiers(p[key], logins, (login) => p[login.credentialId], args.sqlOptions),
    );
    const files = pulumi.secret(
        pulumi
            .all([passwords, verifiers])
            .apply(([p, v]) => (tenant ? tenantJobSecretFiles(p[key], v) : jobSecretFilesOf(p[admin], v))),
    );
    // In parts, each under Key Vault's 25 KB (`loginVerifierParts`); each login's key is read from its part.
    const parts = loginVerifierParts(logins, args.sqlOptions);
    parts.forEach((part, i) =>
        args.vault.writeSecret(
            i === 0 ? `${name}-login-verifiers` : `${name}-login-verifiers-${i}`,
            {
                secretName: partSecretName(`${names.loginVerifiers}${suffix}`, i),
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
            secretName: objectName,
            ...(tenant ? { store: tenant.store } : {}),
            data: [
                // The platform's admin credential: a tenant's Credentials do not hold it, its vault name is known.
                {
                    secretKey: ADMIN_SECRET_KEY,
                    remoteKey: tenant
                        ? prefixedSecretName(config.keyVault.secretPrefix ?? "", credentialSecretName(admin))
                        : credentials.secretName(admin),
                },
                ...(tenant
                    ? [{ secretKey: TENANT_KEY_SECRET_KEY, remoteKey: credentials.secretName(tenant.keyId) }]
                    : []),
                ...parts.flatMap((part, i) =>
                    part.map((login) => ({
                        secretKey: loginSecretKey(login),
                        remoteKey: partSecretName(`${names.loginVerifiers}${suffix}`, i),
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
        { metadata: { name: objectName, namespace }, data: jobFiles },
        { parent },
    );

    const account = new k8s.core.v1.ServiceAccount(`${name}-logins-sa`, loginJobServiceAccount(namespace, objectName), {
        parent,
    });

    // Keyed by the admin password (or tenant key) and secret in state: the digests reveal nothing about any password or verifier.
    const digests = pulumi.secret(pulumi.all([passwords, files]).apply(([p, f]) => expectedDigests(p[key], f)));
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
            .apply(([host, expected]) => loginJobName({ ...input, host, expectedDigests: expected }, objectName)),
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
            spec: loginJobSpec<pulumi.Input<string>>(input, objectName),
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
