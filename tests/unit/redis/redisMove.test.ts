/**
 * Moving an application's Redis databases between groups (`apps[].redis.movedFrom`, `retireOld`): what the config
 * refuses, and what the move Job copies and freezes (`components/redis/moveSpec.ts`).
 */
import { strict as assert } from "assert";
import { isDeepStrictEqual } from "util";
import type { ConfigIssue } from "../../../components/config/issues";
import { redisConfigRules } from "../../../components/redis/configRules";
import { freezeUsers, renderCopyList } from "../../../components/redis/moveSpec";
import { MOVE_JOB_LABELS } from "../../../components/redis/spec";
import type { RecordedResource, RunResult } from "../../../offline/mockEngine";
import { toPlan } from "../../../offline/plan";
import { diffPlans } from "../../../offline/planDiff/diff";
import { parseStack, problemLines } from "../../support/config";
import { runStack } from "../../support/program";
import { runProblems } from "../../support/programChecks";

const APPS = (redis: Record<string, unknown>) => ({
    "data-platform:redis": { mode: "standalone", groups: { b: { mode: "standalone" } } },
    "data-platform:apps": [{ name: "orders", namespace: "orders", redisDb: 1, redis }],
});

describe("Redis move: config and what the Job copies", () => {
    it("refuses a move from an unknown group, from its own group, retireOld alone, and a move in a tenant stack", () => {
        assert.deepEqual(problemLines("dev", APPS({ group: "b", movedFrom: "nope" })), [
            'data-platform:apps[0].redis.movedFrom: given "nope"; allowed: one of default, b (redis.groups)',
        ]);
        assert.deepEqual(problemLines("dev", APPS({ group: "b", movedFrom: "b" })), [
            'data-platform:apps[0].redis.movedFrom: given "b"; allowed: a group other than its own redis.group (b): the one it moves from',
        ]);
        assert.deepEqual(problemLines("dev", APPS({ group: "b", retireOld: true })), [
            "data-platform:apps[0].redis.retireOld: given true; allowed: only with redis.movedFrom (the group of the old copy)",
        ]);
        const ctx = { issues: [] as ConfigIssue[] };
        redisConfigRules(
            { ...parseStack("dev", APPS({ group: "b", movedFrom: "default" })), tenantStack: "shop" },
            ctx,
        );
        assert.deepEqual(
            ctx.issues.map((i) => `${i.path}: ${i.allowed}`),
            [
                "data-platform:apps[0].redis.movedFrom: nothing in a tenant stack: its platform stack moves applications between groups (the copy Job runs as both groups' admins)",
            ],
        );
        assert.equal(parseStack("dev", APPS({ group: "b", movedFrom: "default" })).apps[0].redis?.movedFrom, "default");
    });

    it("refuses a move from a dedicated group to a shared one: its unprefixed keys would land where other tenants' patterns reach (ACLs do not check databases)", () => {
        const stack = (to: Record<string, unknown>) => ({
            "data-platform:redis": {
                mode: "standalone",
                groups: { solo: { mode: "standalone", dedicated: true }, b: { mode: "standalone", ...to } },
            },
            "data-platform:apps": [
                { name: "orders", namespace: "orders", redisDb: 1, redis: { group: "b", movedFrom: "solo" } },
            ],
        });
        assert.deepEqual(problemLines("dev", stack({})), [
            'data-platform:apps[0].redis.group: given "b"; allowed: a dedicated group: orders moves from dedicated group solo, whose keys need not match its key patterns (copied whole, they would sit in a shared group where another application\'s patterns may reach them: ACLs do not check databases)',
        ]);
        assert.equal(parseStack("dev", stack({ dedicated: true })).apps[0].redis?.movedFrom, "solo");
    });

    it("copies its patterns on a shared group, whole databases on a dedicated one; freezes its users (and default when it stands for it)", () => {
        const app = {
            ...parseStack("dev", APPS({})).apps[0],
            redisExtraDatabases: [{ name: "cache", db: 5, keyPatterns: [] }],
        } as ReturnType<typeof parseStack>["apps"][number];
        assert.equal(renderCopyList({ dedicated: false }, app), "1 orders:*\n5 orders:*\n");
        assert.equal(renderCopyList({ dedicated: true }, app), "1 *\n5 *\n");
        assert.deepEqual(freezeUsers({ dedicated: false }, app), ["orders", "orders-cache"]);
        const sessions = { ...app, redis: { clients: ["sessions" as const] } };
        assert.deepEqual(freezeUsers({ dedicated: true }, sessions), ["orders", "orders-cache", "default"]);
        assert.deepEqual(freezeUsers({ dedicated: false }, sessions), ["orders", "orders-cache"]);
    });

    it("copies before the bundle switches; the old group keeps the users off until retireOld deletes them", async function () {
        this.timeout(120_000);
        const stackWith = (move: Record<string, unknown>) => ({
            "data-platform:redis": { ...parseStack("dev").redis, groups: { b: { mode: "standalone" } } },
            "data-platform:apps": parseStack("dev").apps.map(({ name, namespace, redisDb }, i) => ({
                name,
                namespace,
                redisDb,
                ...(i === 0 ? { redis: { group: "b", ...move } } : {}),
            })),
        });
        const [moving, retiring, unmoved] = await Promise.all([
            runStack("dev", stackWith({ movedFrom: "default" })),
            runStack("dev", stackWith({ movedFrom: "default", retireOld: true })),
            runStack("dev", stackWith({})),
        ]);
        const app = parseStack("dev").apps[0].name;
        const named = (run: RunResult, name: string, type = ""): RecordedResource => {
            const found = run.resources.find((r) => r.name === name && r.type.includes(type));
            assert.ok(found, name);
            return found;
        };
        const job = named(moving, `redis-b-move-${app}`, "Job");
        const env = (name: string) =>
            job.inputs.spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === name).value;
        assert.equal(env("SOURCE_GROUP"), "default");
        assert.match(env("SOURCE_NODES"), /^redis-0\.redis-headless\.[a-z0-9-]+\.svc\.cluster\.local:6379$/);
        assert.match(env("TARGET_NODES"), /^redis-b-0\./);
        // The copy waits for the new group's ACL sync; the application's bundle waits for the copy, no other's does.
        assert.ok(job.dependencies.includes(named(moving, "redis-b-acl-sync", "Job").urn));
        const bundle = (name: string) => {
            const found = moving.resources.find(
                (r) => r.type === "azure-native:keyvault:Secret" && r.inputs.secretName === `app-${name}-env`,
            );
            assert.ok(found, `the bundle of ${name}`);
            return found;
        };
        assert.ok(bundle(app).dependencies.includes(job.urn), "the bundle waits for the copy Job");
        const other = parseStack("dev").apps[1].name;
        assert.ok(!bundle(other).dependencies.includes(job.urn), "another application's does not");
        // Both groups' data nodes let the Job in; without a move neither does.
        for (const netpol of ["redis-data-netpol", "redis-b-data-netpol"]) {
            const letsIn = (run: RunResult) =>
                named(run, netpol).inputs.spec.ingress[0].from.some((f: { podSelector?: { matchLabels: object } }) =>
                    isDeepStrictEqual(f.podSelector?.matchLabels, MOVE_JOB_LABELS),
                );
            assert.ok(letsIn(moving), netpol);
            assert.ok(!letsIn(unmoved), netpol);
        }
        // The old group's users file: the application's user stays, off, while moving; retireOld deletes it.
        const users = (run: RunResult, name: string) => String(named(run, name).inputs.properties.value);
        assert.match(users(moving, "redis-acl-data"), new RegExp(`^user ${app} off #`, "m"));
        assert.match(users(moving, "redis-b-acl-data"), new RegExp(`^user ${app} on #`, "m"));
        assert.match(users(unmoved, "redis-b-acl-data"), new RegExp(`^user ${app} on #`, "m"));
        assert.doesNotMatch(users(unmoved, "redis-acl-data"), new RegExp(`^user ${app} `, "m"));
        assert.doesNotMatch(users(retiring, "redis-acl-data"), new RegExp(`^user ${app} `, "m"));
        assert.ok(named(retiring, `redis-b-move-${app}`, "Job"), "the copy Job stays until movedFrom goes");
    });

    it("retireOld: a Job of the old group deletes the old copy's keys (its patterns there), after that group's users file without the application; none before retireOld", async function () {
        this.timeout(120_000);
        const stackWith = (move: Record<string, unknown>, b: Record<string, unknown> = {}) => ({
            "data-platform:redis": { ...parseStack("dev").redis, groups: { b: { mode: "standalone", ...b } } },
            "data-platform:apps": parseStack("dev").apps.map(({ name, namespace, redisDb }, i) => ({
                name,
                namespace,
                redisDb,
                ...(i === 0 ? { redis: { group: "b", ...move } } : {}),
            })),
        });
        const [moving, retiring, cleaned, toDedicated] = await Promise.all([
            runStack("dev", stackWith({ movedFrom: "default" })),
            runStack("dev", stackWith({ movedFrom: "default", retireOld: true })),
            runStack("dev", stackWith({})),
            runStack("dev", stackWith({ movedFrom: "default", retireOld: true }, { dedicated: true })),
        ]);
        const app = parseStack("dev").apps[0];
        const jobs = (run: RunResult) =>
            run.resources.filter((r) => r.type === "kubernetes:batch/v1:Job" && r.name.includes(`-${app.name}`));
        assert.deepEqual(
            jobs(moving).map((r) => r.name),
            [`redis-b-move-${app.name}`],
        );
        assert.deepEqual(
            jobs(retiring)
                .map((r) => r.name)
                .sort(),
            [`redis-b-move-${app.name}`, `redis-retire-${app.name}`],
        );
        const job = jobs(retiring).find((r) => r.name === `redis-retire-${app.name}`)!;
        assert.match(job.inputs.metadata.name, new RegExp(`^redis-retire-${app.name}-[0-9a-f]{8}$`));
        const container = job.inputs.spec.template.spec.containers[0];
        assert.deepEqual(container.command, ["/bin/sh", "/etc/redis-move/job/retire.sh"]);
        const env = Object.fromEntries(container.env.map((e: { name: string; value: string }) => [e.name, e.value]));
        assert.equal(env.SOURCE_GROUP, "default");
        assert.match(env.SOURCE_NODES, /^redis-0\./);
        assert.match(env.TARGET_NODES, /^redis-b-0\./);
        assert.equal(env.FREEZE_USERS, app.name);
        // What it deletes: the application's patterns in its database, as the copy copied them.
        const configMap = retiring.resources.find(
            (r) => r.type === "kubernetes:core/v1:ConfigMap" && r.name === `redis-retire-${app.name}`,
        );
        assert.equal(configMap?.inputs.data["copy.list"], renderCopyList({ dedicated: false }, app));
        // From a shared group to a dedicated one: still only its patterns on the shared group, never `*`.
        const sharedToDedicated = toDedicated.resources.find(
            (r) => r.type === "kubernetes:core/v1:ConfigMap" && r.name === `redis-retire-${app.name}`,
        );
        assert.equal(sharedToDedicated?.inputs.data["copy.list"], renderCopyList({ dedicated: false }, app));
        assert.doesNotMatch(sharedToDedicated?.inputs.data["copy.list"], / \*$/m);
        // Its entrypoint and what it sources (the Redis steps' shell, the move Jobs' shell).
        assert.deepEqual(Object.keys(configMap?.inputs.data ?? {}).sort(), [
            "copy.list",
            "move-job.sh",
            "move-keys.sh",
            "retire.sh",
        ]);
        // After the old group's users file without the application (its ACL sync Job); the old group lets it in.
        const aclSync = retiring.resources.find((r) => r.name === "redis-acl-sync" && r.type.includes("Job"));
        assert.ok(aclSync && job.dependencies.includes(aclSync.urn));
        // Each step adds or drops Jobs and their ConfigMaps and Secrets only: nothing plan:diff warns of.
        assert.deepEqual(diffPlans(toPlan(moving), toPlan(retiring)).warnings, []);
        const cleanup = diffPlans(toPlan(retiring), toPlan(cleaned));
        assert.deepEqual(cleanup.warnings, []);
        assert.ok(cleanup.removed.some((r) => r.name === `redis-retire-${app.name}`));
        const netpol = retiring.resources.find((r) => r.name === "redis-data-netpol");
        assert.ok(
            netpol?.inputs.spec.ingress[0].from.some((f: { podSelector?: { matchLabels: object } }) =>
                isDeepStrictEqual(f.podSelector?.matchLabels, MOVE_JOB_LABELS),
            ),
        );
    });

    it("plan:diff refuses a group change without movedFrom (the databases would arrive empty), not a move", async function () {
        this.timeout(120_000);
        const stackWith = (redis?: Record<string, unknown>) => ({
            "data-platform:redis": { ...parseStack("dev").redis, groups: { b: { mode: "standalone" } } },
            "data-platform:apps": parseStack("dev").apps.map(({ name, namespace, redisDb }, i) => ({
                name,
                namespace,
                redisDb,
                ...(i === 0 && redis ? { redis } : {}),
            })),
        });
        const [before, after, marked] = await Promise.all([
            runStack("dev", stackWith()),
            runStack("dev", stackWith({ group: "b" })),
            runStack("dev", stackWith({ group: "b", movedFrom: "default" })),
        ]);
        const refusals = (a: RunResult, b: RunResult) =>
            diffPlans(toPlan(a), toPlan(b))
                .warnings.filter((w) => w.refusedBecause === "moved without its data")
                .map((w) => [w.resource.name, w.reasons]);
        const app = parseStack("dev").apps[0].name;
        assert.deepEqual(refusals(before, marked), [], "with the marker: a move");
        assert.deepEqual(refusals(before, after), [
            [
                `app-${app}-ns`,
                [
                    `application ${app}: to move it from default to b with its data, set redis.movedFrom: default beside redis.group: b (README "Moving an application"); without it the new instance starts empty`,
                ],
            ],
        ]);
    });

    it("prod (Sentinel, TLS): validates upstream, writes no password in clear, passes the policy pack at each step", async function () {
        this.timeout(120_000);
        const { groups: _none, ...own } = parseStack("prod").redis;
        const stackWith = (redis: Record<string, unknown>) => ({
            "data-platform:redis": { ...own, groups: { b: own } },
            "data-platform:apps": parseStack("prod").apps.map(
                ({ name, namespace, redisDb, poolSize, replicas }, i) => ({
                    name,
                    namespace,
                    redisDb,
                    poolSize,
                    replicas,
                    ...(i === 0 ? { redis } : {}),
                }),
            ),
        });
        for (const redis of [
            { group: "b", movedFrom: "default" },
            { group: "b", movedFrom: "default", retireOld: true },
        ]) {
            const run = await runStack("prod", stackWith(redis));
            assert.deepEqual(await runProblems("prod", run), []);
            const job = run.resources.find(
                (r) => r.name === `redis-b-move-${parseStack("prod").apps[0].name}` && r.type.includes("Job"),
            );
            assert.ok(job, "the copy Job");
            const env = Object.fromEntries(
                job.inputs.spec.template.spec.containers[0].env.map((e: { name: string; value: string }) => [
                    e.name,
                    e.value,
                ]),
            );
            // Three data nodes a side, each checked for the master; TLS against each group's CA.
            assert.equal(env.SOURCE_NODES.split(" ").length, 3);
            assert.equal(env.SOURCE_TLS_CA, "/etc/redis-move/job/source-ca.pem");
            assert.equal(env.TARGET_TLS_CA, "/etc/redis-move/job/target-ca.pem");
        }
    });
});
