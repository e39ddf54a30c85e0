/** The Redis component as registered for dev (standalone) and prod (Sentinel), checked on the recorded graph. */
import { strict as assert } from "assert";
import { StatefulSet } from "kubernetes-models/apps/v1";
import { ConfigMap, PersistentVolumeClaim, Service } from "kubernetes-models/v1";
import { keepsPodsAndVolumes } from "../../../policy/lib/k8s";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import type { RecordedResource, RunResult } from "../../../offline/mockEngine";
import { contractShape } from "../../../components/envContract";
import { redisContract } from "../../../components/redis/contract";
import { CONSUMER_LABEL } from "../../../components/labels";
import { appRules, renderDataAcl, sha256Hex } from "../../../components/redis/acl";
import { redisEnv, redisUrl } from "../../../components/redis/env";
import { redisCredentialIds } from "../../../components/redis/credentials";
import {
    FILES,
    PRESTOP_WAIT_SECONDS,
    SENTINEL_MEMORY_MIB,
    maxmemoryMiB,
    mebibytes,
    renderFiles,
} from "../../../components/redis/files";
import { REDIS_COMPONENT_TYPE, kubernetesLayout } from "../../../components/redis/layout";
import { byName, byType, runStack } from "../../support/program";
import { configError, parseStack, problemLines } from "../../support/config";

const STS = "kubernetes:apps/v1:StatefulSet";
const PDB = "kubernetes:policy/v1:PodDisruptionBudget";
const NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy";

function redisResources(run: RunResult): RecordedResource[] {
    const component = run.resources.find((r) => r.type === REDIS_COMPONENT_TYPE);
    assert.ok(component, "no Redis component");
    return run.resources.filter((r) => r.parent === component.urn);
}

/** Every generated password of the run (the mock answers are deterministic and contain every special character). */
function generatedPasswords(run: RunResult): string[] {
    return byType(run, "random:index/randomPassword:RandomPassword").map((r) => String(r.outputs.result));
}

function containers(sts: RecordedResource): any[] {
    return sts.inputs.spec.template.spec.containers;
}

function assertRestricted(sts: RecordedResource): void {
    const pod = sts.inputs.spec.template.spec;
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(pod.securityContext.seccompProfile.type, "RuntimeDefault");
    assert.equal(pod.automountServiceAccountToken, false);
    for (const c of containers(sts)) {
        const sc = c.securityContext;
        assert.equal(sc.allowPrivilegeEscalation, false, `${c.name}`);
        assert.deepEqual(sc.capabilities.drop, ["ALL"], `${c.name}`);
        assert.equal(sc.runAsNonRoot, true, `${c.name}`);
        assert.equal(sc.readOnlyRootFilesystem, true, `${c.name}`);
        assert.equal(sc.seccompProfile.type, "RuntimeDefault", `${c.name}`);
        assert.ok(c.resources.limits.memory && c.resources.requests.cpu, `${c.name} has resources`);
        assert.doesNotMatch(c.image, /bitnami|:latest$/, `${c.name} image`);
        assert.match(c.image, /:[\w.-]+$/);
    }
}

describe("Redis component, dev (standalone)", () => {
    const dev = parseStack("dev");
    let run: RunResult;
    before(async () => {
        run = await runStack("dev");
    });

    it("runs one data pod, no Sentinel, no PDB, no certificate", () => {
        const mine = redisResources(run);
        const sets = mine.filter((r) => r.type === STS);
        assert.deepEqual(
            sets.map((s) => s.inputs.metadata.name),
            ["redis"],
        );
        assert.equal(sets[0].inputs.spec.replicas, 1);
        assert.equal(mine.filter((r) => r.type === PDB).length, 0);
        assert.equal(mine.filter((r) => r.type.includes("cert-manager")).length, 0);
        new StatefulSet(sets[0].inputs).validate();
        assertRestricted(sets[0]);
        assert.equal(
            sets[0].inputs.spec.template.spec.containers[0].lifecycle,
            undefined,
            "no failover to hand over to",
        );
    });

    it("puts REDIS_URL behind a ClusterIP Service of the data pod, named in the certificate when TLS is on", async () => {
        const ns = dev.cluster.platformNamespace;
        const service = byName(run, "kubernetes:core/v1:Service", "redis-standalone-svc").inputs;
        new Service(service).validate();
        assert.equal(service.metadata.name, "redis");
        assert.equal(service.spec.clusterIP, undefined, "a ClusterIP Service (not headless)");
        const sts = redisResources(run).find((r) => r.type === STS)!;
        assert.deepEqual(service.spec.selector, sts.inputs.spec.selector.matchLabels);
        assert.deepEqual(service.spec.ports, [{ name: "redis", port: 6379, targetPort: "redis" }]);
        const env = redisEnv({
            redis: dev.redis,
            layout: kubernetesLayout(dev.redis, ns),
            app: dev.apps[0],
            password: "p",
            sentinelPassword: "",
        });
        assert.equal(new URL(env.REDIS_URL).host, `redis.${ns}.svc.cluster.local:6379`);
        // Seed 001 configures its client by host and port: REDIS_URL's, in standalone mode too.
        assert.equal(`${env.REDIS_HOST}:${env.REDIS_PORT}`, `redis.${ns}.svc.cluster.local:6379`);
        const tls = await runStack("dev", {
            "data-platform:redis": { mode: "standalone", tls: true, tlsCaCert: parseStack("prod").redis.tlsCaCert },
        });
        assert.ok(
            byName(tls, "kubernetes:cert-manager.io/v1:Certificate", "redis-cert").inputs.spec.dnsNames.includes(
                `redis.${ns}.svc.cluster.local`,
            ),
        );
    });

    it("renders min-replicas-to-write only for Sentinel groups", () => {
        const conf = byName(run, "kubernetes:core/v1:ConfigMap", "redis-config").inputs.data[FILES.redisConf];
        assert.doesNotMatch(conf, /min-replicas-to-write/);
        assert.match(conf, /appendonly yes/);
        assert.match(conf, /appendfsync everysec/);
    });
});

describe("Redis component, prod (Sentinel, TLS, monitoring)", () => {
    let run: RunResult;
    const prod = parseStack("prod");
    before(async () => {
        run = await runStack("prod");
    });

    it("registers valid StatefulSets for 3 data pods and 3 Sentinels, replaceable without stopping a pod or losing a volume", () => {
        for (const [name, count] of [
            ["redis", prod.redis.replicas],
            ["redis-sentinel", prod.redis.sentinels],
        ] as const) {
            const sts = redisResources(run).find((r) => r.type === STS && r.inputs.metadata.name === name);
            assert.ok(sts, name);
            new StatefulSet(sts.inputs).validate();
            assert.equal(sts.inputs.spec.replicas, count);
            assert.equal(sts.inputs.metadata.namespace, prod.cluster.platformNamespace);
            // A larger volume replaces the StatefulSet: protect would refuse it, retainOnDelete leave the old object.
            assert.equal(sts.options.protect, undefined);
            assert.equal(sts.options.retainOnDelete, undefined);
            assert.equal(keepsPodsAndVolumes(sts.inputs), true, "its delete orphans the pods and keeps the claims");
            // Every running pod's claim, as the template has it, after the StatefulSet that makes it.
            const patches = redisResources(run).filter(
                (r) => r.type === "kubernetes:core/v1:PersistentVolumeClaimPatch" && r.dependencies.includes(sts.urn),
            );
            assert.deepEqual(
                patches.map((p) => p.inputs.metadata.name),
                Array.from({ length: count }, (_, i) => `data-${name}-${i}`),
            );
            for (const p of patches) {
                assert.deepEqual(p.inputs.spec, sts.inputs.spec.volumeClaimTemplates[0].spec);
                new PersistentVolumeClaim({ metadata: p.inputs.metadata, spec: p.inputs.spec }).validate();
            }
            assertRestricted(sts);
            const anti =
                sts.inputs.spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution;
            assert.equal(anti[0].topologyKey, "kubernetes.io/hostname");
            assert.deepEqual(anti[0].labelSelector.matchLabels, sts.inputs.spec.selector.matchLabels);
            assert.ok(sts.inputs.spec.volumeClaimTemplates[0].spec.resources.requests.storage, "state on a volume");
            assert.ok(sts.provider?.includes("cluster-k8s"), "explicit provider");
            assert.deepEqual(
                containers(sts).map((c) => c.name),
                [name === "redis" ? "redis" : "sentinel", "reload", "exporter"],
            );
            // The monitor user may not run CONFIG GET (it returns masterauth): the exporter must not send it.
            const exporter = containers(sts).find((c) => c.name === "exporter")!;
            assert.ok(
                exporter.env.some(
                    (e: { name: string; value?: string }) =>
                        e.name === "REDIS_EXPORTER_CONFIG_COMMAND" && e.value === "-",
                ),
            );
        }
    });

    it("hands over in preStop, probes replication, and gives the hand-over its time", () => {
        const sts = byName(run, STS, "redis-data");
        const redis = containers(sts)[0];
        assert.deepEqual(redis.lifecycle.preStop.exec.command, ["sh", `/etc/redis/config/${FILES.preStopRedis}`]);
        assert.deepEqual(redis.readinessProbe.exec.command, ["sh", `/etc/redis/config/${FILES.readyRedis}`]);
        assert.ok(sts.inputs.spec.template.spec.terminationGracePeriodSeconds > PRESTOP_WAIT_SECONDS);
        assert.deepEqual(
            redis.env.map((e: any) => e.name),
            ["SELF_NAME", "SELF_HOST", "SELF_PORT"],
        );
        assert.equal(
            redis.env[1].value,
            `$(SELF_NAME).redis-headless.${prod.cluster.platformNamespace}.svc.cluster.local`,
        );
    });

    it("has PodDisruptionBudgets allowing one data pod and one Sentinel down", () => {
        const pdbs = redisResources(run).filter((r) => r.type === PDB);
        assert.deepEqual(pdbs.map((p) => p.inputs.metadata.name).sort(), ["redis", "redis-sentinel"]);
        for (const pdb of pdbs) {
            new PodDisruptionBudget(pdb.inputs).validate();
            assert.equal(pdb.inputs.spec.maxUnavailable, 1);
            const sts = redisResources(run).find(
                (r) => r.type === STS && r.inputs.metadata.name === pdb.inputs.metadata.name,
            )!;
            assert.deepEqual(pdb.inputs.spec.selector.matchLabels, sts.inputs.spec.selector.matchLabels);
        }
    });

    it("admits only consumer namespaces, its own pods and Prometheus (metrics port only)", () => {
        const policies = redisResources(run).filter((r) => r.type === NETPOL);
        assert.equal(policies.length, 2);
        for (const policy of policies) {
            new NetworkPolicy(policy.inputs).validate();
            const [clients, metrics] = policy.inputs.spec.ingress;
            assert.deepEqual(clients.from[0], { namespaceSelector: { matchLabels: { [CONSUMER_LABEL]: "true" } } });
            assert.ok(
                clients.from.slice(1).every((f: any) => f.podSelector && !f.namespaceSelector),
                "other peers are own pods",
            );
            assert.deepEqual(
                clients.ports.map((p: any) => p.port),
                [policy.inputs.metadata.name === "redis" ? 6379 : 26379],
            );
            assert.deepEqual(metrics.from, [
                {
                    namespaceSelector: {
                        matchLabels: { "kubernetes.io/metadata.name": prod.redis.monitoringNamespace },
                    },
                },
            ]);
            assert.deepEqual(
                metrics.ports.map((p: any) => p.port),
                [9121],
            );
        }
    });

    it("publishes not-ready pods on headless Services (peers resolve a syncing replica)", () => {
        for (const svc of redisResources(run).filter((r) => r.type === "kubernetes:core/v1:Service")) {
            new Service(svc.inputs).validate();
            assert.equal(svc.inputs.spec.clusterIP, "None");
            assert.equal(svc.inputs.spec.publishNotReadyAddresses, true);
        }
    });

    it("keeps every password out of ConfigMaps and plain inputs; ACL files in Key Vault hold hashes only", () => {
        const passwords = generatedPasswords(run);
        assert.ok(passwords.length > 5);
        const configMap = byName(run, "kubernetes:core/v1:ConfigMap", "redis-config");
        new ConfigMap(configMap.inputs).validate();
        for (const r of redisResources(run)) {
            const text = JSON.stringify(r.inputs);
            if (r.secretPaths.length === 0) {
                assert.ok(
                    passwords.every((p) => !text.includes(p)),
                    `${r.type} ${r.name} holds a password in plain inputs`,
                );
            }
        }
        const component = run.resources.find((r) => r.type === REDIS_COMPONENT_TYPE)!;
        assert.ok(passwords.every((p) => !JSON.stringify(component.inputs).includes(p)));
        const acl = byName(run, "azure-native:keyvault:Secret", "redis-acl-data");
        assert.deepEqual(acl.secretPaths, ["properties.value"]);
        const text: string = acl.inputs.properties.value;
        assert.ok(
            passwords.every((p) => !text.includes(p)),
            "plaintext password in the ACL file",
        );
        assert.match(text, /^user default off /m);
        const billing = run.resources.find(
            (r) => r.type === "random:index/randomPassword:RandomPassword" && r.name.endsWith("redis-app-billing"),
        )!;
        assert.ok(text.includes(`user billing on #${sha256Hex(String(billing.outputs.result))} `));
    });

    it("syncs the ACL files (redis-acl) and the passwords the scripts use (redis-auth) into the platform namespace", () => {
        const keys = (secret: string) => {
            const es = byName(run, "kubernetes:external-secrets.io/v1:ExternalSecret", secret);
            assert.equal(es.inputs.metadata.namespace, prod.cluster.platformNamespace);
            return es.inputs.spec.data.map((d: any) => `${d.secretKey}<-${d.remoteRef.key}`).sort();
        };
        assert.deepEqual(keys("redis-acl"), [
            "sentinel-users.acl<-redis-sentinel-users-acl",
            "users.acl<-redis-users-acl",
        ]);
        assert.deepEqual(keys("redis-auth"), [
            "admin-password<-redis-admin",
            "monitor-password<-redis-monitor",
            "replication-password<-redis-replication",
            "sentinel-client-password<-redis-sentinel-auth",
            "sentinel-password<-redis-sentinel",
        ]);
    });

    it("pins redis-auth to the Key Vault versions of its passwords: ESO's refresh cannot hand out newer ones", () => {
        const auth = byName(run, "kubernetes:external-secrets.io/v1:ExternalSecret", "redis-auth");
        const acl = byName(run, "kubernetes:external-secrets.io/v1:ExternalSecret", "redis-acl");
        const vault = byType(run, "azure-native:keyvault:Secret");
        for (const d of auth.inputs.spec.data) {
            const stored = vault.find((v) => v.inputs.secretName === d.remoteRef.key);
            const uri = String(stored?.outputs.properties.secretUriWithVersion);
            assert.equal(uri, `${uri.slice(0, uri.lastIndexOf("/"))}/${d.remoteRef.version}`, d.secretKey);
        }
        assert.ok(
            acl.inputs.spec.data.every((d: any) => d.remoteRef.version === undefined),
            "redis-acl reads the newest",
        );
    });

    it("requests a cert-manager certificate for every pod name, and monitoring objects", () => {
        const cert = byName(run, "kubernetes:cert-manager.io/v1:Certificate", "redis-cert");
        assert.deepEqual(cert.inputs.spec.issuerRef, {
            name: prod.redis.tlsIssuerName,
            kind: prod.redis.tlsIssuerKind,
            group: "cert-manager.io",
        });
        assert.ok(
            cert.inputs.spec.dnsNames.includes(`*.redis-sentinel.${prod.cluster.platformNamespace}.svc.cluster.local`),
        );
        assert.ok(
            cert.inputs.spec.dnsNames.includes(`*.redis-headless.${prod.cluster.platformNamespace}.svc.cluster.local`),
        );
        const rules = byName(
            run,
            "kubernetes:monitoring.coreos.com/v1:PrometheusRule",
            "redis-alerts",
        ).inputs.spec.groups[0].rules.map((r: any) => r.alert);
        for (const alert of [
            "RedisNoMaster",
            "RedisTwoMasters",
            "RedisSentinelQuorumLost",
            "RedisSentinelTilt",
            "RedisMemoryHigh",
            "RedisReplicationBroken",
        ]) {
            assert.ok(rules.includes(alert), alert);
        }
        assert.ok(byName(run, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "redis-monitor"));
    });

    it("labels the ServiceMonitor and PrometheusRule for a Prometheus that selects them, and alerts on lost data paths", async () => {
        const variant = await runStack("prod", {
            "data-platform:redis": { ...rawRedis(), monitoringLabels: { release: "kube-prometheus-stack" } },
        });
        for (const [type, name] of [
            ["kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "redis-monitor"],
            ["kubernetes:monitoring.coreos.com/v1:PrometheusRule", "redis-alerts"],
        ]) {
            const object = byName(variant, type, name).inputs;
            assert.equal(object.metadata.labels.release, "kube-prometheus-stack");
            assert.equal(object.metadata.labels["app.kubernetes.io/name"], "redis");
        }
        const rules = byName(variant, "kubernetes:monitoring.coreos.com/v1:PrometheusRule", "redis-alerts").inputs.spec
            .groups[0].rules;
        const expr = (alert: string) => rules.find((r: any) => r.alert === alert)?.expr ?? "";
        // The group's own pods only: other groups share the namespace.
        assert.equal(
            expr("RedisMetricsAbsent"),
            'absent(redis_up{namespace="data-platform",pod=~"redis-([0-9]+|sentinel-[0-9]+)"})',
        );
        assert.match(expr("RedisEvictions"), /redis_evicted_keys_total/);
        assert.match(expr("RedisWritesRefusedOutOfMemory"), /redis_errors_total\{.*err="OOM"\}/);
        assert.match(expr("RedisRejectedConnections"), /redis_rejected_connections_total/);
        assert.match(
            expr("RedisAofWriteFailing"),
            /redis_aof_last_write_status.* == 0 or redis_aof_last_bgrewrite_status/,
        );
        assert.match(
            problemLines("prod", {
                "data-platform:redis": { ...rawRedis(), monitoringLabels: { "bad key!": "x" } },
            })[0],
            /^data-platform:redis\.monitoringLabels.*allowed: a Kubernetes label key/,
        );
    });

    it("uses an existing TLS Secret instead of a Certificate, and drops the exporter without monitoring", async () => {
        const variant = await runStack("prod", {
            "data-platform:redis": { ...rawRedis(), tlsSecretName: "my-redis-tls", monitoring: false },
        });
        const mine = redisResources(variant);
        assert.equal(
            mine.filter((r) => r.type.includes("cert-manager") || r.type.includes("monitoring.coreos.com")).length,
            0,
        );
        const sts = mine.find((r) => r.type === STS && r.inputs.metadata.name === "redis")!;
        assert.deepEqual(
            containers(sts).map((c) => c.name),
            ["redis", "reload"],
        );
        assert.equal(
            sts.inputs.spec.template.spec.volumes.find((v: any) => v.name === "tls").secret.secretName,
            "my-redis-tls",
        );
    });
});

function rawRedis(): Record<string, unknown> {
    return {
        mode: "sentinel",
        replicas: 3,
        sentinels: 3,
        quorum: 2,
        tls: true,
        tlsCaCert: parseStack("prod").redis.tlsCaCert,
    };
}

describe("Redis pure renderers", () => {
    const prod = parseStack("prod");
    const dev = parseStack("dev");

    it("declares the credentials of each mode", () => {
        assert.deepEqual(redisCredentialIds(dev), [
            "redis-admin",
            "redis-monitor",
            "redis-app-orders",
            "redis-app-billing",
        ]);
        assert.ok(redisCredentialIds(prod).includes("redis-sentinel-auth"));
    });

    it("gives applications the contract keys the application contract expects, with FQDNs resolvable from any namespace", () => {
        for (const config of [prod, dev]) {
            const layout = kubernetesLayout(config.redis, config.cluster.platformNamespace);
            const env = redisEnv({
                redis: config.redis,
                layout,
                app: config.apps[1],
                password: "p@ss:w/rd%",
                sentinelPassword: "s",
            });
            assert.deepEqual(
                Object.keys(env).sort(),
                redisContract
                    .keys(contractShape(config))
                    .map((k) => k.key)
                    .sort(),
            );
        }
        const layout = kubernetesLayout(prod.redis, "data-platform");
        const env = redisEnv({ redis: prod.redis, layout, app: prod.apps[0], password: "x", sentinelPassword: "s" });
        assert.equal(env.REDIS_SENTINEL_HOSTS.split(",").length, 3);
        assert.ok(
            env.REDIS_SENTINEL_HOSTS.split(",").every((h) =>
                /^redis-sentinel-\d\.redis-sentinel\.data-platform\.svc\.cluster\.local:26379$/.test(h),
            ),
        );
        assert.equal(env.REDIS_TLS, "true");
        assert.equal(redisUrl(true, "a b", "p@ss:w/rd%", "h", 6379, 2), "rediss://a%20b:p%40ss%3Aw%2Frd%25@h:6379/2");
    });

    it("limits SELECT to the application's database and keys to its patterns", () => {
        const billing = prod.apps.find((a) => a.name === "billing")!;
        assert.match(appRules(billing), / ~billing:\* ~invoices:\* /);
        assert.ok(appRules(billing).endsWith(` -select +select|${billing.redisDb}`), appRules(billing));
        // No patterns: the application's name is its key prefix (ACLs check no database argument, so keys are the boundary).
        assert.match(appRules(prod.apps[0]), /^resetchannels ~orders:\* &orders:\* /);
        assert.match(appRules(prod.apps[0]), / -copy -move -pubsub -client\|tracking /);
        assert.throws(
            () => renderDataAcl("sentinel", prod.apps, { admin: "a", monitor: "m", apps: {} }),
            /replication/,
        );
    });

    it("refuses an application named like a platform ACL user", () => {
        const error = configError("dev", {
            "data-platform:apps": [{ name: "monitor", namespace: "mon", redisDb: 3 }],
        });
        assert.match(error.message, /apps\[0\]\.name: given "monitor"/);
    });

    it("sizes maxmemory so that a fork's copy-on-write, the replica buffers and the backlog fit the memory limit", () => {
        const conf = (redis: typeof prod.redis) => renderFiles(redis, kubernetesLayout(redis, "ns"))[FILES.redisConf];
        const setting = (text: string, name: string) => new RegExp(`^${name} (.*)$`, "m").exec(text)?.[1];
        for (const config of [prod, dev]) {
            const text = conf(config.redis);
            const maxmemory = mebibytes(setting(text, "maxmemory")!);
            const replicas = config.redis.mode === "sentinel" ? config.redis.replicas - 1 : 0;
            const buffers =
                replicas * mebibytes(setting(text, "client-output-buffer-limit replica")?.split(" ")[0] ?? "0mb");
            const backlog = config.redis.mode === "sentinel" ? mebibytes(setting(text, "repl-backlog-size")!) : 0;
            assert.ok(
                2 * maxmemory + buffers + backlog <= mebibytes(config.redis.memory),
                `${config.redis.memory}: ${text}`,
            );
            assert.ok(maxmemory >= mebibytes(config.redis.memory) / 4, text);
        }
        // Client buffers are carved out of maxmemory: bounded together, per client and per argument.
        for (const config of [prod, dev]) {
            const text = conf(config.redis);
            const clients = mebibytes(setting(text, "maxmemory-clients")!);
            assert.ok(clients >= 2 && clients <= mebibytes(setting(text, "maxmemory")!) / 10, text);
            assert.equal(setting(text, "client-query-buffer-limit"), `${clients}mb`);
            assert.equal(setting(text, "client-output-buffer-limit normal"), `${clients}mb 0 0`);
            assert.ok(2 * mebibytes(setting(text, "proto-max-bulk-len")!) <= clients, text);
        }
        const sentinelConf = renderFiles(prod.redis, kubernetesLayout(prod.redis, "ns"))[FILES.sentinelConf];
        assert.ok(mebibytes(setting(sentinelConf, "maxmemory-clients")!) <= SENTINEL_MEMORY_MIB / 4, sentinelConf);
        assert.equal(setting(sentinelConf, "proto-max-bulk-len"), "1mb");
        assert.equal(setting(sentinelConf, "client-query-buffer-limit"), "1mb");
        assert.equal(setting(conf(prod.redis), "client-output-buffer-limit replica"), "256mb 64mb 60");
        assert.equal(setting(conf(dev.redis), "client-output-buffer-limit replica"), undefined);
        assert.deepEqual(
            problemLines("dev", { "data-platform:redis": { mode: "standalone", memory: "1Gi", maxmemory: "4gb" } }),
            [
                'data-platform:redis.maxmemory: given "4gb"; allowed: at most 496mb with memory 1Gi (a fork\'s copy-on-write can double the dataset); or unset it',
            ],
        );
        assert.match(
            problemLines("prod", { "data-platform:redis": { ...rawRedis(), maxmemory: "1536mb" } })[0],
            /^data-platform:redis\.maxmemory: given "1536mb"; allowed: at most 720mb with memory 2Gi .*2 replica buffers/,
        );
        assert.equal(
            conf(parseStack("dev", { "data-platform:redis": { mode: "standalone", maxmemory: "100mb" } }).redis).match(
                /^maxmemory .*$/m,
            )?.[0],
            "maxmemory 100mb",
        );
    });

    it("renders no address but the layout's, and the same scripts for every layout", () => {
        const a = renderFiles(prod.redis, kubernetesLayout(prod.redis, "ns-a"));
        const b = renderFiles(prod.redis, kubernetesLayout(prod.redis, "ns-b"));
        assert.deepEqual(Object.keys(a), Object.keys(b));
        for (const file of [FILES.startRedis, FILES.startSentinel, FILES.preStopRedis, FILES.readyRedis]) {
            assert.equal(a[file], b[file]);
        }
        assert.ok(!JSON.stringify(a).includes("ns-b"));
        assert.match(a[FILES.lib], /SENTINELS="redis-sentinel-0\.redis-sentinel\.ns-a\.svc\.cluster\.local:26379 /);
        assert.match(
            a[FILES.sentinelMasterConf],
            new RegExp(`down-after-milliseconds ${prod.redis.masterName} ${prod.redis.downAfterMilliseconds}`),
        );
        assert.match(a[FILES.redisConf], /min-replicas-to-write 1\nmin-replicas-max-lag 10/);
        assert.match(
            a[FILES.redisConf],
            new RegExp(`maxmemory ${maxmemoryMiB(prod.redis)}mb\nmaxmemory-policy ${prod.redis.maxmemoryPolicy}`),
        );
        assert.match(a[FILES.redisConf], /tls-replication yes/);
    });
});
