/** The master endpoint of a Sentinel group (HAProxy) as registered for prod, and its rendered haproxy.cfg. */
import { strict as assert } from "assert";
import { Deployment } from "kubernetes-models/apps/v1";
import { ConfigMap, Service } from "kubernetes-models/v1";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import type { RecordedResource, RunResult } from "../../../offline/mockEngine";
import { SAFE_SPECIAL_CHARACTERS } from "../../../components/config/keyVault";
import { CONSUMER_LABEL } from "../../../components/labels";
import { MASTER_ENDPOINT_TYPE } from "../../../components/redis/endpoint";
import { ENDPOINT_CHECK_COMMANDS, ENDPOINT_PASSWORD_ENV } from "../../../components/redis/endpointConfig";
import {
    ENDPOINT_IMAGE,
    MONITOR_PASSWORD_VERSION_ANNOTATION,
    endpointConfigData,
} from "../../../components/redis/endpointSpec";
import { redisEnv } from "../../../components/redis/env";
import { REDIS_COMPONENT_TYPE, kubernetesLayout } from "../../../components/redis/layout";
import { byName, runStack } from "../../support/program";
import { keyVaultOverride, parseStack } from "../../support/config";

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";

function endpointResources(run: RunResult): RecordedResource[] {
    const component = run.resources.find((r) => r.type === MASTER_ENDPOINT_TYPE);
    assert.ok(component, "no master endpoint");
    const redis = run.resources.find((r) => r.type === REDIS_COMPONENT_TYPE);
    assert.equal(component.parent, redis?.urn, "a child of the Redis component");
    return run.resources.filter((r) => r.parent === component.urn);
}

describe("Redis master endpoint, prod (Sentinel, TLS)", () => {
    const prod = parseStack("prod");
    const ns = prod.cluster.platformNamespace;
    let run: RunResult;
    before(async () => {
        run = await runStack("prod");
    });

    it("registers a Deployment, its ConfigMap, a ClusterIP Service, a NetworkPolicy and a PDB, all named redis-master", () => {
        const objects = endpointResources(run);
        assert.deepEqual(objects.map((r) => `${r.type.split(":").pop()} ${r.inputs.metadata.name}`).sort(), [
            "ConfigMap redis-master",
            "Deployment redis-master",
            "NetworkPolicy redis-master",
            "PodDisruptionBudget redis-master",
            "Service redis-master",
        ]);
        const deployment = objects.find((r) => r.type === DEPLOYMENT)!.inputs;
        new Deployment(deployment).validate();
        new ConfigMap(objects.find((r) => r.type === "kubernetes:core/v1:ConfigMap")!.inputs).validate();
        const service = objects.find((r) => r.type === "kubernetes:core/v1:Service")!.inputs;
        new Service(service).validate();
        assert.equal(service.spec.clusterIP, undefined, "a ClusterIP Service");
        assert.deepEqual(service.spec.selector, deployment.spec.selector.matchLabels);
        assert.deepEqual(service.spec.ports, [{ name: "redis", port: 6379, targetPort: "redis" }]);
        const pdb = objects.find((r) => r.type === "kubernetes:policy/v1:PodDisruptionBudget")!.inputs;
        new PodDisruptionBudget(pdb).validate();
        assert.deepEqual(pdb.spec.selector.matchLabels, deployment.spec.selector.matchLabels);
        assert.equal(pdb.spec.maxUnavailable, 1);
        assert.equal(deployment.spec.replicas, 2);
        assert.deepEqual(deployment.spec.strategy.rollingUpdate, { maxUnavailable: 0, maxSurge: 1 });
    });

    it("runs the pinned official image, restricted, the monitor password only from redis-auth", () => {
        const objects = endpointResources(run);
        const deployment = objects.find((r) => r.type === DEPLOYMENT)!;
        const pod = deployment.inputs.spec.template.spec;
        const [haproxy] = pod.containers;
        assert.equal(haproxy.image, ENDPOINT_IMAGE);
        assert.match(ENDPOINT_IMAGE, /^haproxy:\d+\.\d+\.\d+$/);
        assert.equal(pod.automountServiceAccountToken, false);
        assert.equal(pod.securityContext.runAsNonRoot, true);
        assert.equal(haproxy.securityContext.readOnlyRootFilesystem, true);
        assert.deepEqual(haproxy.env, [
            {
                name: ENDPOINT_PASSWORD_ENV,
                valueFrom: { secretKeyRef: { name: "redis-auth", key: "monitor-password" } },
            },
        ]);
        // Started once redis-auth exists (the password) and the certificate is issued.
        const dependsOn = deployment.dependsOn.map((urn) => urn.split("::").pop());
        assert.ok(dependsOn.includes("redis-auth"), dependsOn.join(", "));
        assert.ok(dependsOn.includes("redis-cert"), dependsOn.join(", "));
        // No password in the ConfigMap or anywhere in the endpoint's plain inputs.
        const passwords = run.resources
            .filter((r) => r.type === "random:index/randomPassword:RandomPassword")
            .map((r) => String(r.outputs.result));
        for (const r of objects) {
            assert.deepEqual(r.secretPaths, [], `${r.type} ${r.name}`);
            assert.ok(
                passwords.every((p) => !JSON.stringify(r.inputs).includes(p)),
                `${r.type} ${r.name}`,
            );
        }
        const cfg: string = objects.find((r) => r.type === "kubernetes:core/v1:ConfigMap")!.inputs.data["haproxy.cfg"];
        assert.ok(cfg.includes(`\${${ENDPOINT_PASSWORD_ENV}}`));
        assert.match(cfg, new RegExp(`ca-file /etc/redis/tls/ca.crt`));
        assert.deepEqual(
            pod.volumes.find((v: any) => v.name === "tls").secret.items,
            [{ key: "ca.crt", path: "ca.crt" }],
            "the CA only",
        );
    });

    it("checks each data node by its pod name over TLS, verifying the name its certificate carries", () => {
        const cfg = endpointConfigData(prod.redis, kubernetesLayout(prod.redis, ns))["haproxy.cfg"];
        const servers = cfg.split("\n").filter((l) => l.trim().startsWith("server "));
        assert.equal(servers.length, prod.redis.replicas);
        servers.forEach((line, i) => {
            const host = `redis-${i}.redis-headless.${ns}.svc.cluster.local`;
            assert.equal(line.trim(), `server data-${i} ${host}:6379 verifyhost ${host}`);
        });
        assert.match(cfg, /default-server check .* check-ssl verify required ca-file \S+/);
        assert.match(cfg, /^resolvers cluster\n {4}parse-resolv-conf$/m);
        const plain = endpointConfigData({ ...prod.redis, tls: false }, kubernetesLayout(prod.redis, ns));
        assert.doesNotMatch(plain["haproxy.cfg"], /ssl|verifyhost/);
    });

    it("rolls the pods for a new monitor password (they read it once), not for another credential's", async () => {
        const template = (r: RunResult) => byName(r, DEPLOYMENT, "redis-master").inputs.spec.template.metadata;
        const rotated = await runStack("prod", keyVaultOverride("prod", { rotations: { "redis-monitor": 1 } }));
        const before = template(run).annotations;
        const after = template(rotated).annotations;
        assert.notEqual(after[MONITOR_PASSWORD_VERSION_ANNOTATION], before[MONITOR_PASSWORD_VERSION_ANNOTATION]);
        assert.equal(after["data-platform.io/config-checksum"], before["data-platform.io/config-checksum"]);
        const admin = await runStack("prod", keyVaultOverride("prod", { rotations: { "redis-admin": 1 } }));
        assert.deepEqual(template(admin).annotations, before, "another role's rotation leaves the pods alone");
    });

    it("admits consumer namespaces to HAProxy's port, and HAProxy (not the Sentinels) to the data nodes", () => {
        const policy = endpointResources(run).find((r) => r.type === "kubernetes:networking.k8s.io/v1:NetworkPolicy")!;
        new NetworkPolicy(policy.inputs).validate();
        assert.deepEqual(policy.inputs.spec.ingress, [
            {
                from: [{ namespaceSelector: { matchLabels: { [CONSUMER_LABEL]: "true" } } }],
                ports: [{ protocol: "TCP", port: 6379 }],
            },
        ]);
        const haproxyPods = { podSelector: { matchLabels: policy.inputs.spec.podSelector.matchLabels } };
        const data = byName(run, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "redis-data-netpol").inputs;
        assert.deepEqual(
            data.spec.ingress[0].from.filter((f: any) => JSON.stringify(f) === JSON.stringify(haproxyPods)),
            [haproxyPods],
        );
        const sentinel = byName(run, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "redis-sentinel-netpol").inputs;
        assert.ok(!JSON.stringify(sentinel).includes("master-endpoint"));
    });

    it("hands out REDIS_URL, REDIS_HOST and REDIS_PORT through the endpoint, a name the certificate carries", () => {
        const env = redisEnv({
            redis: prod.redis,
            layout: kubernetesLayout(prod.redis, ns),
            app: prod.apps[0],
            password: "p@ss",
            sentinelPassword: "s",
        });
        const host = `redis-master.${ns}.svc.cluster.local`;
        assert.equal(env.REDIS_URL, `rediss://orders:p%40ss@${host}:6379/${prod.apps[0].redisDb}`);
        assert.equal(env.REDIS_HOST, host);
        assert.equal(env.REDIS_PORT, "6379");
        const cert = byName(run, "kubernetes:cert-manager.io/v1:Certificate", "redis-cert").inputs;
        assert.ok(cert.spec.dnsNames.includes(host), cert.spec.dnsNames.join(", "));
    });

    it("gives every named group its own endpoint", async () => {
        const groups = await runStack("prod", {
            "data-platform:redis": {
                ...(prod.redis as object),
                groups: {
                    cache: { mode: "sentinel", tlsCaCert: prod.redis.tlsCaCert },
                    solo: { mode: "standalone", tlsCaCert: prod.redis.tlsCaCert },
                },
            },
        });
        const names = groups.resources.filter((r) => r.type === DEPLOYMENT).map((r) => r.inputs.metadata.name);
        assert.deepEqual(names.filter((n) => /^redis.*-master$/.test(n)).sort(), [
            "redis-cache-master",
            "redis-master",
        ]);
    });
});

describe("Redis master endpoint, dev (standalone)", () => {
    it("has no endpoint: REDIS_URL is the standalone pod's Service", async () => {
        const run = await runStack("dev");
        assert.equal(run.resources.filter((r) => r.type === MASTER_ENDPOINT_TYPE).length, 0);
        assert.equal(run.resources.filter((r) => r.type === DEPLOYMENT && /redis/.test(r.name)).length, 0);
    });
});

describe("the endpoint's haproxy.cfg", () => {
    it("holds no password: the check's AUTH expands the environment variable, every other $ escaped", () => {
        const prod = parseStack("prod");
        const cfg = endpointConfigData(prod.redis, kubernetesLayout(prod.redis, "ns"))["haproxy.cfg"];
        const sends = cfg.split("\n").filter((l) => l.includes("tcp-check send"));
        assert.deepEqual(sends, [
            `    tcp-check send "AUTH monitor \${${ENDPOINT_PASSWORD_ENV}}\\r\\n"`,
            '    tcp-check send "ROLE\\r\\n"',
        ]);
        assert.ok(cfg.includes('tcp-check expect min-recv 5 string "+OK\\r\\n"'), cfg);
        // The reply of a master: a regular expression whose `\*` and `\$` reach it escaped (`$` would name an
        // environment variable to HAProxy), concluded once the shortest such reply arrived.
        assert.ok(
            cfg.includes(
                'tcp-check expect min-recv 24 rstring "^\\\\*3\\r\\n\\\\\\$6\\r\\nmaster\\r\\n:[0-9]+\\r\\n\\\\*[1-9]"',
            ),
            cfg,
        );
    });

    it("passes a master with a replica online, not one without, nor a replica (ROLE replies of Redis 7)", () => {
        const role = ENDPOINT_CHECK_COMMANDS.find((c) => c.send === "ROLE")!;
        assert.ok("rstring" in role.expect);
        const pattern = new RegExp(role.expect.rstring);
        const master = (replicas: string[][], offset = 4711) =>
            `*3\r\n$6\r\nmaster\r\n:${offset}\r\n*${replicas.length}\r\n` +
            replicas.map((r) => `*3\r\n${r.map((f) => `$${f.length}\r\n${f}\r\n`).join("")}`).join("");
        assert.match(master([["10.0.0.2", "6379", "4711"]]), pattern);
        assert.match(
            master([
                ["10.0.0.2", "6379", "4711"],
                ["10.0.0.3", "6379", "4700"],
            ]),
            pattern,
        );
        assert.doesNotMatch(master([]), pattern);
        assert.equal(
            master([], 0).length,
            role.minLength,
            "the shortest master reply (offset 0) is as long as min-recv",
        );
        const replica = "*5\r\n$5\r\nslave\r\n$6\r\nmaster\r\n:6379\r\n$9\r\nconnected\r\n:4711\r\n";
        assert.doesNotMatch(replica, pattern);
    });

    it("sends AUTH in the inline protocol, which splits at spaces: generated passwords hold none", () => {
        assert.doesNotMatch(SAFE_SPECIAL_CHARACTERS, /\s|"|'|\\/);
        assert.deepEqual(
            ENDPOINT_CHECK_COMMANDS.map((c) => c.send.split(" ")[0]),
            ["AUTH", "ROLE"],
        );
    });
});
