/**
 * Lifecycle scenario on real servers (dev: StackGres-shaped PostgreSQL, standalone Redis): a tenant stack beside its
 * platform stack in one cluster (issue 26 item 7), each stack's `up` diffing only against its own previous plan.
 * (a) The platform admits the tenant (`data-platform:tenants`): its Redis data pods roll once to project the tenant's
 * optional users Secret, and keep their data. (b) The tenant's first `up` (`pulumi up -s team-a`, 2 applications): its
 * own login Job creates their logins and databases on the platform's PostgreSQL, its ACL sync Job sees its users loaded
 * on the platform's group, and both connect with their Secrets while the platform's applications keep working.
 * (c) A platform change (an application added, one's PostgreSQL password rotated) keeps the tenant's applications
 * working. (d) The tenant drops an application (its logins turned off, its Redis user gone, the other stays), then
 * `pulumi destroy -s team-a` removes the tenant's Redis users and objects only. (e) The platform stops admitting it: its
 * login Job turns off the destroyed tenant's PostgreSQL logins (no Job of the tenant is left to); data pods roll back.
 */
import { strict as assert } from "assert";
import Redis from "ioredis";
import type { Lifecycle } from "../../testbed/harness";
import { redisOptions } from "../../testbed/clients";
import { waitFor } from "../../testbed/servers/processes";
import { WATCH_SECONDS } from "../../components/redis/files";
import {
    admitTenant,
    assertNoFailures,
    baseline,
    plan,
    rotate,
    scenario,
    stackVariant,
    tenantPlan,
    tenantStackVariant,
    withLifecycle,
    TENANT_STACK,
} from "../support/lifecycle";

const { name: TENANT, quota: QUOTA } = TENANT_STACK;
const [SHOP, CART] = TENANT_STACK.apps;
const PLATFORM_APPS = ["orders", "billing"];
/** A few of the reload sidecar's watch periods (components/redis/files.ts). */
const SIDECAR_WAIT_MS = 4 * WATCH_SECONDS * 1000;

/** Every application's access (PostgreSQL and Redis) with its last Secret: `undefined` fields where accepted. */
async function access(l: Lifecycle, apps: readonly string[]): Promise<Record<string, unknown>> {
    return Object.fromEntries(await Promise.all(apps.map(async (app) => [app, await l.appAccess(app)] as const)));
}

const OK = (apps: readonly string[]) =>
    Object.fromEntries(apps.map((app) => [app, { postgres: undefined, redis: undefined }]));

/** Runs `f` with a Redis client of application `app` (its last Secret; dev's group has no TLS). */
async function asRedisApp<T>(l: Lifecycle, app: string, f: (client: Redis) => Promise<T>): Promise<T> {
    const client = new Redis({ ...redisOptions(l.lastEnv(app), l.endpoints, ""), lazyConnect: true });
    try {
        await client.connect();
        return await f(client);
    } finally {
        client.disconnect();
    }
}

scenario(
    "lifecycle on real servers: a tenant stack beside its platform stack (dev)",
    "admitted, deployed, kept through a platform change, an application dropped, destroyed: only its own objects change",
    async () => {
        const changed = (c: Record<string, any>) => {
            rotate("pg-app-orders")(c);
            c["data-platform:apps"].push({ name: "payments", namespace: "payments", redisDb: 3 });
        };
        const platform = {
            admit: await plan("dev", stackVariant("dev", admitTenant(TENANT, QUOTA))),
            change: await plan(
                "dev",
                stackVariant("dev", (c) => {
                    admitTenant(TENANT, QUOTA)(c);
                    changed(c);
                }),
            ),
            release: await plan("dev", stackVariant("dev", changed)),
        };
        const tenant = {
            both: await tenantPlan(TENANT, tenantStackVariant(TENANT, "dev", [SHOP, CART]), platform.admit),
            shopOnly: await tenantPlan(TENANT, tenantStackVariant(TENANT, "dev", [SHOP]), platform.change),
        };
        const phases: Record<string, { events: number; failures: string[]; up: unknown }> = {};
        const figures: Record<string, number> = {};
        const phase = async (name: string, l: Lifecycle, f: () => Promise<void>) => {
            const from = l.timeline.events.length;
            await f();
            const events = l.timeline.events.slice(from);
            phases[name] = {
                up: events[0]?.detail,
                events: events.length,
                failures: events.flatMap((e) => e.failures.map((x) => `+${e.at}s ${e.event}: ${x}`)),
            };
        };
        const l = await withLifecycle("dev", baseline("dev"), async (l) => {
            // (a) Admitting the tenant rolls the data pod once (its ACL volume becomes projected); the data stays.
            const key = "billing:tenant-scenario";
            await asRedisApp(l, "billing", (c) => c.set(key, "kept"));
            await phase("admit", l, async () => {
                assert.deepEqual((await l.apply(platform.admit)).failedSteps, []);
            });
            assert.deepEqual(l.rolled("redis"), ["redis-0"], "admitting a tenant rolls the data pod once");
            assert.equal(await asRedisApp(l, "billing", (c) => c.get(key)), "kept", "a write before the roll");

            // (b) The tenant's first up: its Jobs on the platform's servers, its applications connect.
            await phase("tenant up", l, async () => {
                assert.deepEqual((await l.apply(tenant.both)).failedSteps, []);
            });
            assert.deepEqual(
                await access(l, ["shop", "cart", ...PLATFORM_APPS]),
                OK(["shop", "cart", ...PLATFORM_APPS]),
            );
            assert.ok(await l.hasDatabase("shop"), "the tenant's login Job created database shop");
            assert.ok(await l.hasDatabase("cart"), "the tenant's login Job created database cart");
            await l.queryAsApp("shop", "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)");
            assert.deepEqual(await l.queryAsApp("shop", "SELECT v FROM kept"), [{ v: 42 }], "shop owns its database");
            assert.deepEqual(l.rolled("redis"), ["redis-0"], "a tenant's up restarts no Redis pod");
            assert.deepEqual(phases["tenant up"].up, { create: 48, update: 0, delete: 0 }, "beside, not instead");

            // (c) A platform change: its own diff and deletes only; the tenant's applications keep working.
            await phase("platform change", l, async () => {
                assert.deepEqual((await l.apply(platform.change)).failedSteps, []);
            });
            const everyone = ["shop", "cart", ...PLATFORM_APPS, "payments"];
            assert.deepEqual(await access(l, everyone), OK(everyone));
            assert.equal((phases["platform change"].up as { delete: number }).delete, 0, "no tenant resource deleted");
            assert.deepEqual(l.rolled("redis"), ["redis-0"], "the platform's change restarts no Redis pod");

            // (d) The tenant drops cart: its logins off and its Redis user gone; shop stays.
            await phase("tenant drops cart", l, async () => {
                assert.deepEqual((await l.apply(tenant.shopOnly)).failedSteps, []);
            });
            const dropped = await l.appAccess("cart");
            assert.match(String(dropped.postgres), /not permitted to log in/, "cart's login is off");
            assert.match(String(dropped.redis), /WRONGPASS|NOAUTH/, `cart's Redis user is gone: ${dropped.redis}`);
            assert.deepEqual(
                await access(l, ["shop", ...PLATFORM_APPS, "payments"]),
                OK(["shop", ...PLATFORM_APPS, "payments"]),
            );
            assert.ok(await l.hasDatabase("cart"), "cart's database stays (data first)");

            // ... and the tenant stack destroyed: its Redis users go; the platform's applications are untouched.
            await phase("tenant destroy", l, async () => {
                assert.deepEqual((await l.destroy(TENANT)).failedSteps, []);
            });
            // No Job waits for a destroyed stack's users to go: the reload sidecar drops them within its watch period.
            const started = Date.now();
            const refused = await waitFor("shop's Redis user gone", SIDECAR_WAIT_MS, async () => {
                const { redis } = await l.appAccess("shop");
                return redis === undefined ? undefined : redis;
            }).catch((err: Error) => err.message);
            assert.match(refused, /WRONGPASS|NOAUTH/, "shop's Redis user is gone");
            figures.shopUserGoneMs = Date.now() - started;
            assert.deepEqual(await access(l, [...PLATFORM_APPS, "payments"]), OK([...PLATFORM_APPS, "payments"]));
            assert.ok(l.hasNamespace("shop"), "a destroyed tenant's namespaces are retained");
            assert.ok(await l.hasDatabase("shop"), "a destroyed tenant's databases are retained");

            // (e) The platform no longer admits it: its Job turns off the destroyed tenant's logins, whose own Job is gone.
            await phase("platform releases the tenant", l, async () => {
                assert.deepEqual((await l.apply(platform.release)).failedSteps, []);
            });
            assert.match(
                String((await l.appAccess("shop")).postgres),
                /not permitted to log in/,
                "shop's login is off",
            );
            assert.deepEqual(await access(l, [...PLATFORM_APPS, "payments"]), OK([...PLATFORM_APPS, "payments"]));
            assert.deepEqual(await l.queryAsApp("billing", "SELECT 1 AS one"), [{ one: 1 }]);
        });
        const s = l.summary();
        console.log(
            `      tenant stack beside dev: ${s.events} events, ${s.failedConnections} failed connections, ` +
                `${s.otherFailures} other failures; ${Object.entries(phases)
                    .map(([name, p]) => `${name}: ${p.events} events, ${p.failures.length} failures`)
                    .join("; ")}; the destroyed tenant's Redis user refused after ${figures.shopUserGoneMs} ms`,
        );
        assertNoFailures(l, "a tenant stack beside its platform stack");
    },
);
