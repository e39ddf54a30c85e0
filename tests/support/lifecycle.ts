/**
 * Lifecycle scenarios for the tests: stack files edited the way a platform team would edit them (written to a temp
 * directory), their plans (cached per file), and one harness run whose failures become the assertion message.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { stackFile } from "../../offline/stackConfig";
import { Lifecycle, LifecycleOptions } from "../../testbed/harness";
import type { TimelineEvent } from "../../testbed/timeline";
import { StackPlan, assertSameStack, loadPlan, tenantPlanOf } from "../../testbed/plan";
import { processTempDir } from "./tempDir";

type StackDoc = { config: Record<string, any> };

const dir = processTempDir("dp-lifecycle-stacks-");
let files = 0;

/** A copy of the stack's file with `edit` applied to its `config:` block; returns the new file's path. */
export function stackVariant(stack: string, edit: (config: Record<string, any>) => void = () => undefined): string {
    const doc = YAML.parse(fs.readFileSync(stackFile(stack), "utf8")) as StackDoc;
    edit(doc.config);
    const file = path.join(dir, `${stack}-${++files}.yaml`);
    fs.writeFileSync(file, YAML.stringify(doc));
    return file;
}

/**
 * The config's `data-platform:keyVault.rotations` with `id` rotated to `value`: by default the first rotation of a
 * stack that never rotated (generation 0 raised by one, README "PostgreSQL: alternating logins" and "Redis: previous
 * passwords"), the only step that keeps the previous password working.
 */
export function rotate(id: string, value = "1") {
    return (config: Record<string, any>) => {
        const kv = (config["data-platform:keyVault"] ??= {});
        kv.rotations = { ...(kv.rotations ?? {}), [id]: value };
    };
}

/** The config with application `name`'s entry edited (e.g. `retired: true`, `import: [...]`). */
export function editApp(name: string, edit: (app: Record<string, any>) => void) {
    return (config: Record<string, any>) => {
        const app = config["data-platform:apps"].find((a: { name: string }) => a.name === name);
        if (!app) {
            throw new Error(`the stack has no application ${name}`);
        }
        edit(app);
    };
}

/** The config without application `name`'s entry. */
export function dropApp(name: string) {
    return (config: Record<string, any>) => {
        config["data-platform:apps"] = config["data-platform:apps"].filter((a: { name: string }) => a.name !== name);
    };
}

/** A subscription id for the stack (`azure-native:subscriptionId`), which importing Azure resources needs. */
export function withSubscription(config: Record<string, any>): void {
    config["azure-native:subscriptionId"] = "00000000-0000-0000-0000-000000000000";
}

/** The config's `data-platform:redis` section with `changes` applied. */
export function redisSettings(changes: Record<string, unknown>) {
    return (config: Record<string, any>) => {
        config["data-platform:redis"] = { ...config["data-platform:redis"], ...changes };
    };
}

/** The stack with a second Redis group `b` (`redis.groups.b`, servers of its own) of the default group's settings. */
export function redisGroupVariant(
    stack: string,
    edit: (config: Record<string, any>) => void = () => undefined,
): string {
    return stackVariant(stack, (c) => {
        const { groups: _named, ...own } = c["data-platform:redis"];
        c["data-platform:redis"] = { ...own, groups: { b: own } };
        edit(c);
    });
}

/** Waits until an application writer (`PostgresWriter`, `RedisWriter`) has `count` acknowledged writes. */
export async function waitForWrites(
    writer: { readonly acknowledged: readonly unknown[]; readonly failures: readonly { error: string }[] },
    count: number,
): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (writer.acknowledged.length < count) {
        if (Date.now() > deadline) {
            throw new Error(
                `the writer got ${writer.acknowledged.length} of ${count} writes acknowledged: ${writer.failures
                    .slice(-3)
                    .map((f) => f.error)
                    .join("; ")}`,
            );
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
}

const plans = new Map<string, Promise<StackPlan>>();

export function plan(stack: string, file: string): Promise<StackPlan> {
    let p = plans.get(file);
    if (!p) {
        p = loadPlan(stack, file);
        plans.set(file, p);
    }
    return p;
}

/** The platform's config admitting tenant stack `tenant` with `quota` (`data-platform:tenants.<tenant>`). */
export function admitTenant(tenant: string, quota: Record<string, unknown>) {
    return (config: Record<string, any>) => {
        config["data-platform:tenants"] = { ...(config["data-platform:tenants"] ?? {}), [tenant]: quota };
    };
}

/**
 * A tenant stack's file (`Pulumi.<stack>.yaml` of a tenant: its platform, owners and `apps`, the platform's profile);
 * returns the new file's path.
 */
export function tenantStackVariant(stack: string, platform: string, apps: readonly Record<string, unknown>[]): string {
    const doc = YAML.parse(fs.readFileSync(stackFile(platform), "utf8")) as StackDoc;
    const config = {
        "data-platform:profile": doc.config["data-platform:profile"],
        "data-platform:tenant": { platformStack: `acme/data-platform/${platform}`, owners: [`@acme/${stack}`] },
        "data-platform:apps": apps,
    };
    const file = path.join(dir, `${stack}-${++files}.yaml`);
    fs.writeFileSync(file, YAML.stringify({ config }));
    return file;
}

/** A tenant stack's plan beside `platform`'s (whose run answers its StackReference), cached per file. */
export function tenantPlan(stack: string, file: string, platform: StackPlan): Promise<StackPlan> {
    const key = `${file}\u0000${platform.file}`;
    let p = plans.get(key);
    if (!p) {
        p = tenantPlanOf(stack, file, platform);
        plans.set(key, p);
    }
    return p;
}

/** The stack's own file, unchanged (the "before" of most scenarios). */
export const baseline = (stack: string) => stackFile(stack);

/** Starts `from`, lets `scenario` drive the harness, and always stops the servers. */
export async function withLifecycle(
    stack: string,
    from: string,
    scenario: (lifecycle: Lifecycle) => Promise<void>,
    options: LifecycleOptions = {},
): Promise<Lifecycle> {
    const lifecycle = await Lifecycle.start(await plan(stack, from), options);
    try {
        await scenario(lifecycle);
    } finally {
        await lifecycle.stop();
    }
    return lifecycle;
}

/** Applies `to` to running `from` servers; the harness summary. */
export async function change(stack: string, from: string, to: string, then?: (l: Lifecycle) => Promise<void>) {
    const before = await plan(stack, from);
    const after = await plan(stack, to);
    assertSameStack(before, after);
    return withLifecycle(stack, from, async (l) => {
        await l.apply(after);
        await then?.(l);
    });
}

/** Fails with every failure the harness saw, each naming the event, the app or server, and the credential. */
export function assertNoFailures(lifecycle: Lifecycle, what: string): void {
    const s = lifecycle.summary();
    assert.ok(
        s.failures.length === 0,
        `${what}: ${s.failedConnections} failed connections, ${s.lostWrites} lost writes, ${s.otherFailures} other failures:\n` +
            s.failures.slice(0, 25).join("\n") +
            (s.failures.length > 25 ? `\n... and ${s.failures.length - 25} more` : ""),
    );
}

/**
 * The tenant stack of the tenant scenarios (lifecycleTenantStack*.test.ts): its name, the quota its platform admits it
 * with (its two applications' connections on the default server and clients into its PgBouncer: config/tenant.ts),
 * and its applications.
 */
export const TENANT_STACK = {
    name: "team-a",
    quota: { connections: { default: 8 }, clients: { default: 4 } },
    apps: [
        { name: "shop", namespace: "shop", redisDb: 5, poolSize: 1, replicas: 1 },
        { name: "cart", namespace: "cart", redisDb: 6, poolSize: 1, replicas: 1 },
    ],
} as const;

/**
 * A move scenario's figures from its writer: writes acknowledged (by the old instance: `onOld`), lost, failed
 * connections, the freeze (from the old instance's last acknowledged write to the new one's first) and the kinds of
 * failure.
 */
export function moveFigures(
    writer: { readonly acknowledged: readonly unknown[]; readonly failures: readonly { error: string }[] },
    onOld: readonly { at: number }[],
    firstNew: { at: number } | undefined,
    lost: number,
): Record<string, unknown> {
    const lastOld = onOld[onOld.length - 1];
    return {
        acknowledged: writer.acknowledged.length,
        acknowledgedByOld: onOld.length,
        lost,
        failedConnections: writer.failures.length,
        freezeSeconds: firstNew && lastOld ? (firstNew.at - lastOld.at) / 1000 : undefined,
        failureKinds: [...new Set(writer.failures.map((f) => f.error.replace(/"[^"]*"/g, '"…"')))],
    };
}

/**
 * A move scenario's check after every event: the instance the application's Secret names then holds every write
 * acknowledged until then. `named(l)` is that instance (undefined: none the harness runs) and whether it is the new one;
 * `missing(l, instance, ids)` the ids it lacks, or why it cannot tell. Pass `onEvent` to the lifecycle; `switched` is
 * the index of the event after which the Secret first named the new instance; `problems()` waits for every check (call
 * it before the servers stop: a check still connecting then would find none).
 */
export function movedDataChecks(
    writer: () => { readonly acknowledged: readonly { id: number }[] } | undefined,
    lifecycle: () => Lifecycle | undefined,
    named: (l: Lifecycle) => { instance: string | undefined; isNew: boolean },
    missing: (l: Lifecycle, instance: string, ids: readonly number[]) => Promise<number[] | string>,
) {
    const checks: Promise<string | undefined>[] = [];
    let switched: number | undefined;
    const onEvent = (e: TimelineEvent) => {
        const [w, l] = [writer(), lifecycle()];
        if (!w || !l) {
            return;
        }
        const acked = w.acknowledged.map((x) => x.id);
        const { instance, isNew } = named(l);
        if (switched === undefined && isNew) {
            // The timeline records the event before it tells of it.
            switched = l.timeline.events.length - 1;
        }
        checks.push(
            (async () => {
                const at = `+${e.at}s ${e.event}: the Secret names`;
                if (instance === undefined) {
                    return `${at} no instance the harness runs`;
                }
                const lacking = await missing(l, instance, acked);
                return typeof lacking === "string"
                    ? `${at} ${instance}, without the data: ${lacking}`
                    : lacking.length > 0
                      ? `${at} ${instance}, which lacks ${lacking.length} of ${acked.length} acknowledged writes`
                      : undefined;
            })(),
        );
    };
    return {
        onEvent,
        switched: () => switched,
        problems: async () => (await Promise.all(checks)).filter((p): p is string => p !== undefined),
    };
}

/**
 * A move scenario's failures besides the moving application's own frozen access (`frozen`, whose first group says
 * which version of its Secret was refused): its current Secret until the event `switchedAt` after which the Secret
 * names the new instance (the freeze), then the previous versions only (pods that read their Secret once at start
 * need a restart after a move). Also how many events saw the freeze.
 */
export function failuresBesidesFreeze(
    l: Lifecycle,
    switchedAt: number,
    frozen: RegExp,
): { other: string[]; freezeEvents: number } {
    const other = l.timeline.events.flatMap((e, i) =>
        e.failures
            .filter((f) => {
                const which = frozen.exec(f)?.[1];
                return which === undefined || i >= switchedAt !== which.startsWith("the previous version");
            })
            .map((f) => `+${e.at}s ${e.event}: ${f}`),
    );
    const freezeEvents = l.timeline.events.filter(
        (e, i) => i < switchedAt && e.failures.some((f) => /its current Secret/.test(f)),
    ).length;
    return { other, freezeEvents };
}

/** A scenario on real servers takes tens of seconds, and more on a loaded machine. */
const SCENARIO_TIMEOUT_MS = 240_000;

/**
 * One lifecycle scenario, in a file of its own: mocha's workers take whole files, so scenarios in separate files run
 * side by side.
 */
export function scenario(suite: string, title: string, test: () => Promise<void>): void {
    describe(suite, function () {
        this.timeout(SCENARIO_TIMEOUT_MS);
        it(title, test);
    });
}

/**
 * Rotating `ids` together (`what` names them) through `keyVault.rotations`, applied as `pulumi up`, ESO and the kubelet
 * would, must break no consumer: no client is handed a password before every server accepts it (a Redis change
 * reaches the servers through `redis-acl` and the ACL sync Job before `redis-auth` and the bundles get it), and a pod
 * that still holds the previous password keeps connecting.
 */
export function rotationScenario(what: string, ids: readonly string[]): void {
    scenario(
        "lifecycle on real servers: credential rotation (prod)",
        `rotating ${what} breaks no consumer`,
        async () => {
            const to = stackVariant("prod", (c) => ids.forEach((id) => rotate(id)(c)));
            const l = await change("prod", baseline("prod"), to);
            assertNoFailures(l, `rotating ${ids.join(", ")}`);
        },
    );
}
