/**
 * Lifecycle scenario on real servers (prod: Azure-like PostgreSQL with ARM databases, Sentinel Redis with TLS): the
 * platform admits a tenant stack, whose roll of the data pods (each handing over in its preStop) fails no connection,
 * and the tenant's first `up` beside it creates its applications' ARM databases, logins and Redis users on the
 * platform's servers, with nothing restarting. The whole life of a tenant (a change, a drop, a destroy) is
 * lifecycleTenantStack.test.ts, on dev.
 */
import { strict as assert } from "assert";
import {
    admitTenant,
    assertNoFailures,
    baseline,
    plan,
    scenario,
    stackVariant,
    tenantPlan,
    tenantStackVariant,
    withLifecycle,
    TENANT_STACK,
} from "../support/lifecycle";

const { name: TENANT, quota: QUOTA, apps: APPS } = TENANT_STACK;

scenario(
    "lifecycle on real servers: a tenant stack beside its platform stack (prod)",
    "admitting a tenant rolls the data pods without a failed connection; its first up connects its applications and restarts nothing",
    async () => {
        const admit = await plan("prod", stackVariant("prod", admitTenant(TENANT, QUOTA)));
        const tenant = await tenantPlan(TENANT, tenantStackVariant(TENANT, "prod", APPS), admit);
        let rolledByAdmit: string[] = [];
        const l = await withLifecycle("prod", baseline("prod"), async (l) => {
            assert.deepEqual((await l.apply(admit)).failedSteps, []);
            rolledByAdmit = l.rolled("redis");
            assert.deepEqual((await l.apply(tenant)).failedSteps, []);
            for (const app of APPS) {
                assert.deepEqual(await l.appAccess(app.name), { postgres: undefined, redis: undefined }, app.name);
                assert.ok(await l.hasDatabase(app.name), `ARM created database ${app.name}`);
            }
        });
        const s = l.summary();
        console.log(
            `      tenant stack beside prod: ${s.events} events, ${s.failedConnections} failed connections, ` +
                `${s.otherFailures} other failures`,
        );
        assert.deepEqual(rolledByAdmit, ["redis-2", "redis-1", "redis-0"], "admitting rolls each data pod once");
        assert.deepEqual(l.rolled("redis"), rolledByAdmit, "the tenant's up restarts no Redis pod");
        assertNoFailures(l, "a tenant stack beside prod");
    },
);
