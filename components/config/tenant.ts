/**
 * The tenant role of a stack (issue 26 item 7): a stack whose file sets `data-platform:tenant` holds only its own
 * applications; everything else (servers, Redis groups, the vault, the stores, the cluster) is its platform stack's,
 * whose shared configuration it reads through a `pulumi.StackReference` (the platform's `tenancy` output). Its full
 * configuration is then the platform's with its own applications, validated by the same `parseConfig`.
 */
import { z } from "zod";
import { ConfigIssue, configIssues, report } from "./issues";
import { integer, listOf, mapOf, section, text } from "./fields";
import { profileSchema } from "./platform";
import { ConfigRule, PROJECT } from "./types";
import { appConnections, poolerLimits } from "../postgres/pooler";
import { postgresServerConfig, postgresServerSettings, postgresServers } from "../postgres/servers";
import { largestLines, quotaBudget } from "../../policy/lib/postgres";

/** The stack output a platform stack exports for its tenants (non-secret: names, endpoints, settings). */
export const TENANCY_OUTPUT = "tenancy";

/**
 * At most this many applications per tenant stack: at ~22 resources per application (prod, 100 apps: 2,267
 * resources), a tenant stays near 2,500 resources, under the sizes users report slow checkpoints at
 * (pulumi/pulumi#10960: ~600 resources, 10+ minutes with few changes).
 */
export const TENANT_MAX_APPS = 100;

/** Keys a tenant stack's file may set; every other `data-platform:` key belongs to its platform stack. */
export const TENANT_KEYS = ["profile", "tenant", "apps", "imports", "kubeconfig"] as const;

/** `pulumi.StackReference` names: `<stack>`, or `<organization>/<project>/<stack>`. */
const STACK_REFERENCE = /^([A-Za-z0-9][-A-Za-z0-9_.]*\/){0,2}[A-Za-z0-9][-A-Za-z0-9_.]*$/;

export const tenantSchema = section({
    platformStack: text({
        pattern: STACK_REFERENCE,
        maxLength: 200,
        allowed: "the platform stack, as pulumi.StackReference names it: <stack> or <organization>/<project>/<stack>",
    }),
    owners: listOf(
        text({
            pattern: /^@[A-Za-z0-9][-A-Za-z0-9_.]*(\/[A-Za-z0-9][-A-Za-z0-9_.]*)?$/,
            allowed: "a GitHub user or team (@user, @org/team)",
        }),
        { minItems: 1, maxItems: 10 },
    ),
});

export type TenantSection = z.infer<typeof tenantSchema>;

/** A tenant stack's own configuration, before its platform's is known. */
export interface TenantStackConfig {
    readonly stack: string;
    readonly profile: z.infer<typeof profileSchema>;
    readonly tenant: TenantSection;
    /** Its own `data-platform:*` values (apps, imports) as given, for `tenantRawConfig`. */
    readonly raw: Readonly<Record<string, unknown>>;
}

/** The platform's `tenancy` output: what a tenant stack reads (never a credential). */
export interface Tenancy {
    /** The platform's stack name: the names derived from it (servers, vault) are the platform's. */
    readonly stack: string;
    /** The platform's configuration without its applications, imports and secret keys, as given. */
    readonly config: Readonly<Record<string, unknown>>;
    /** The platform's vault, which tenant stacks write their applications' secrets into. */
    readonly keyVaultId: string;
}

/** Whether a stack's raw configuration is a tenant's. */
export function isTenantConfig(raw: Readonly<Record<string, unknown>>): boolean {
    return raw[`${PROJECT}:tenant`] !== undefined;
}

/**
 * Validates a tenant stack's own keys; the rest is validated once its platform's configuration is merged in
 * (`tenantRawConfig`, then `parseConfig`).
 */
export function parseTenantConfig(
    raw: Readonly<Record<string, unknown>>,
    stack: string,
    decode: (value: unknown) => unknown,
): { config?: TenantStackConfig; issues: ConfigIssue[] } {
    const issues: ConfigIssue[] = [];
    const ctx = { issues };
    for (const key of Object.keys(raw)) {
        const [namespace, name] = key.split(":", 2);
        if (namespace === PROJECT && !(TENANT_KEYS as readonly string[]).includes(name)) {
            report(
                ctx,
                key,
                decode(raw[key]),
                `not in a tenant stack (data-platform:tenant is set): set it on the platform stack; a tenant stack sets ${TENANT_KEYS.map((k) => `${PROJECT}:${k}`).join(", ")}`,
            );
        }
    }
    const profile = profileSchema.safeParse(decode(raw[`${PROJECT}:profile`]), { reportInput: true });
    if (!profile.success) {
        issues.push(...configIssues(profile.error.issues, PROJECT, ["profile"]));
    }
    const tenant = tenantSchema.safeParse(decode(raw[`${PROJECT}:tenant`]), { reportInput: true });
    if (!tenant.success) {
        issues.push(...configIssues(tenant.error.issues, PROJECT, ["tenant"]));
    }
    const apps = decode(raw[`${PROJECT}:apps`]);
    if (!Array.isArray(apps) || apps.length === 0 || apps.length > TENANT_MAX_APPS) {
        report(
            ctx,
            `${PROJECT}:apps`,
            Array.isArray(apps) ? `${apps.length} applications` : apps,
            `a list of 1 to ${TENANT_MAX_APPS} applications per tenant stack (each stays near 2,500 resources; split the rest into another tenant stack)`,
        );
    }
    if (!profile.success || !tenant.success || issues.length > 0) {
        return { issues };
    }
    return { config: { stack, profile: profile.data, tenant: tenant.data, raw }, issues };
}

/** The keys of the platform's configuration a tenant reads (`Tenancy.config`). */
export function sharedRawConfig(
    raw: Readonly<Record<string, unknown>>,
    secretKeys: readonly string[],
): Record<string, unknown> {
    return Object.fromEntries(
        Object.entries(raw)
            .filter(([key]) => key.startsWith(`${PROJECT}:`) || key === "azure-native:subscriptionId")
            .filter(([key]) => ![`${PROJECT}:apps`, `${PROJECT}:imports`].includes(key) && !secretKeys.includes(key))
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    );
}

/**
 * The tenant's whole configuration as `parseConfig` takes it: the platform's shared keys with the tenant's own
 * applications, imports and kubeconfig. Problems name the tenant's profile when it is not its platform's.
 */
export function tenantRawConfig(
    tenant: TenantStackConfig,
    tenancy: Tenancy,
    decode: (value: unknown) => unknown,
): { raw?: Record<string, unknown>; issues: ConfigIssue[] } {
    const platformProfile = decode(tenancy.config[`${PROJECT}:profile`]);
    if (platformProfile !== tenant.profile) {
        return {
            issues: [
                {
                    path: `${PROJECT}:profile`,
                    given: JSON.stringify(tenant.profile),
                    allowed: `${JSON.stringify(platformProfile)}, the profile of platform stack ${tenant.tenant.platformStack}`,
                },
            ],
        };
    }
    const own = Object.fromEntries(
        Object.entries(tenant.raw).filter(([key]) =>
            [`${PROJECT}:apps`, `${PROJECT}:imports`, `${PROJECT}:kubeconfig`].includes(key),
        ),
    );
    return { raw: { ...tenancy.config, ...own }, issues: [] };
}

/**
 * `tenants` (platform stack): the tenant stacks it admits, each with its share of each PostgreSQL server. The platform
 * cannot see a tenant's applications when it plans, so each server's budget holds its own applications plus these
 * quotas as lines of their own, and each tenant checks its applications against its quota, counted the same way
 * (policy/lib/postgres.ts `connectionBudget`, `quotaBudget`). A quota is in server connections: PostgreSQL's
 * `max_connections` is what tenants share and exhaust for each other (static on Azure: a restart to raise), and behind
 * PgBouncer it is not their clients (a pool of 2 per login serves 30 clients with 7; Azure's default pools of 50 cost
 * 8 clients 17); their clients count apart, against the one PgBouncer's `max_client_conn`.
 */
const serverQuotas = (what: string) =>
    mapOf(text({ allowed: "a PostgreSQL server (default or postgres.servers)" }), integer(1, 100000))
        .default({})
        .describe(what);

export const tenantsSchema = mapOf(
    text({ pattern: /^[a-z0-9][a-z0-9-]*$/, maxLength: 100, allowed: "a tenant stack's name" }),
    section({
        connections: serverQuotas(
            "Server connections its applications may open on PostgreSQL, per server, counted as the server's budget counts them (through PgBouncer: min(replicas x poolSize, its pools) + auth_query's pool + 1 direct per application; without: replicas x poolSize + 1).",
        ),
        clients: serverQuotas(
            "Client connections (replicas x poolSize) its applications may open to each server's PgBouncer; only on servers with one.",
        ),
    }),
);

/** The quota keys of a tenant's share of a server, as errors name them. */
const QUOTA_SIDES = { client: "clients", server: "connections" } as const;

/**
 * Connection quotas of tenant stacks (the platform's budgets count them: components/postgres/pooler.ts
 * `tenantQuotas`). In the platform stack: each names a server, and client quotas only a server with PgBouncer. In a
 * tenant stack (`config.tenantStack`): its platform admits it, and its applications fit its quota on each server.
 */
export const tenantQuotaRules: ConfigRule = (config, ctx) => {
    const servers = postgresServers(config.postgres);
    for (const [tenant, quota] of Object.entries(config.tenants)) {
        for (const side of Object.values(QUOTA_SIDES)) {
            for (const [server, value] of Object.entries(quota[side])) {
                const key = `${PROJECT}:tenants.${tenant}.${side}.${server}`;
                if (!servers.includes(server)) {
                    report(ctx, key, server, `a server: ${servers.join(", ")}`);
                } else if (
                    side === "clients" &&
                    poolerLimits(postgresServerSettings(config.postgres, server)) === undefined
                ) {
                    report(
                        ctx,
                        key,
                        value,
                        `unset: server ${server} has no PgBouncer (its applications' clients are its server connections)`,
                    );
                }
            }
        }
    }
    if (config.tenantStack === undefined) {
        return;
    }
    const quota = config.tenants[config.tenantStack];
    if (quota === undefined) {
        report(
            ctx,
            `${PROJECT}:tenant.platformStack`,
            config.stack,
            `a platform stack that admits tenant ${config.tenantStack} (its data-platform:tenants.${config.tenantStack})`,
        );
        return;
    }
    for (const server of servers) {
        const own = postgresServerConfig(config, server);
        const pooler = poolerLimits(own.postgres);
        const apps = own.apps.map((app) => appConnections(app, pooler, config.backups !== undefined));
        const budget = quotaBudget(apps, pooler, {
            clients: quota.clients[server] ?? 0,
            connections: quota.connections[server] ?? 0,
        });
        const what = {
            client: `client connections into server ${server}'s PgBouncer`,
            server: `server connections on server ${server}`,
        };
        for (const side of ["server", "client"] as const) {
            const sum = budget[side];
            if (sum !== undefined && sum.sum > sum.limit) {
                report(
                    ctx,
                    `${PROJECT}:apps`,
                    `${sum.sum} ${what[side]}`,
                    `at most ${sum.limit}, this tenant's quota there (platform stack ${config.stack}: ` +
                        `data-platform:tenants.${config.tenantStack}.${QUOTA_SIDES[side]}.${server}); its applications ` +
                        `there: ${largestLines(sum.apps)}`,
                );
            }
        }
    }
};
