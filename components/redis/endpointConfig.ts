/**
 * The master endpoint's `haproxy.cfg` (pure): in Sentinel mode, clients that do not speak Sentinel (`REDIS_URL`,
 * `REDIS_HOST`/`REDIS_PORT`) connect to HAProxy, which forwards each TCP connection to the one data node that answers
 * `ROLE` as master. TLS stays end to end (HAProxy does not terminate it), so the client still verifies the data node's
 * certificate and authenticates as its own ACL user. The same text runs in the cluster (official image) and in the tests
 * (Debian's haproxy in front of a real Sentinel group); only addresses differ.
 *
 * No password in the file: the health check's `AUTH` takes the monitor user's from the environment (the synced Secret),
 * which HAProxy expands inside double quotes while it reads its configuration (HAProxy configuration.txt, 2.3
 * "Environment variables"; the value is copied as is, `src/tools.c` `parse_line`).
 */
import type { RedisConfig } from "../config/redis";
import { USERS } from "./acl";
import { TLS_FILES } from "./files";
import type { Endpoint, RedisLayout } from "./layout";

/** The environment variable holding the monitor user's password (from `redis-auth`, key `monitor-password`). */
export const ENDPOINT_PASSWORD_ENV = "REDIS_MONITOR_PASSWORD";
/** The HAProxy backend of the data nodes (its name is what the readiness check counts servers of). */
const BACKEND = "master";
/** What the readiness probe asks (`monitor-uri`): 200 while a master is up, 503 otherwise. */
export const ENDPOINT_READY_PATH = "/ready";

/**
 * Health checks (HAProxy configuration.txt, "inter", "rise", "fall"): every data node is asked every `inter` (a new
 * connection each time: with TLS, ten handshakes a second per node and HAProxy pod, a fraction of a millisecond each),
 * so a master takes connections at most that long after it qualifies, and a replaced one holds them at most `fall`
 * times that; two failed checks in a row, so that one slow answer (a fork, a busy script) does not cut every client.
 * `rise 1`: one passing answer is conclusive.
 */
export const ENDPOINT_CHECK = { interMs: 100, rise: 1, fall: 2 } as const;

/** Client connections one HAProxy process (one pod) accepts; more wait in the kernel's backlog. */
export const ENDPOINT_MAX_CONNECTIONS = 4000;

/** How HAProxy runs, in the pod and in the tests: in the foreground, one process (a new file or password rolls pods). */
export function endpointCommand(configFile: string): string[] {
    return ["haproxy", "-db", "-f", configFile];
}

/** Where one HAProxy process listens: for clients, and for its readiness probe. */
export interface EndpointListen {
    /** HAProxy `bind` address of the clients' port (`:6379` in the pod). */
    readonly clients: string;
    /** `bind` address of the readiness probe's port. */
    readonly health: string;
}

/** One step of the health check: a command, and the reply that passes (a string, or a regular expression). */
export interface CheckStep {
    readonly send: string;
    readonly expect: { readonly string: string } | { readonly rstring: string };
    /** The reply's least length: the check concludes once that much arrived (`min-recv`). */
    readonly minLength: number;
}

/**
 * The commands of the health check and the reply each must get, in Redis' inline protocol (one line, arguments split
 * at spaces: generated passwords hold none, keyVault.ts SAFE_SPECIAL_CHARACTERS). The monitor user may run `ROLE`
 * (acl.ts MONITOR_DATA_RULES); `AUTH` needs no right.
 *
 * A master passes with at least one replica online: `ROLE` answers `master`, its offset, then the array of its
 * replicas in state online only (redis src/replication.c `roleCommand`; a replica's reply starts `*5`, `slave`). Without one it refuses writes anyway
 * (`min-replicas-to-write 1`), and a master that no longer has its replicas is one the Sentinels have replaced: a node
 * handing over in preStop still says `master`, with writes paused, until it stops, but Sentinel has moved its replicas.
 */
export const ENDPOINT_CHECK_COMMANDS: readonly CheckStep[] = [
    { send: `AUTH ${USERS.monitor} \${${ENDPOINT_PASSWORD_ENV}}`, expect: { string: "+OK\r\n" }, minLength: 5 },
    {
        send: "ROLE",
        expect: { rstring: "^\\*3\r\n\\$6\r\nmaster\r\n:[0-9]+\r\n\\*[1-9]" },
        // `*3 $6 master :0 *0`, the shortest master's reply.
        minLength: "*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n".length,
    },
];

/** A string as HAProxy reads it inside double quotes: `\r`, `\n` written as escapes, `"` and `\` escaped (2.2). */
function quoted(text: string, expandEnv = false): string {
    const escaped = text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\r/g, "\\r").replace(/\n/g, "\\n");
    // `$` starts an environment variable inside double quotes; only the password's is meant as one.
    return `"${expandEnv ? escaped : escaped.replace(/\$/g, "\\$")}"`;
}

/** One data node as a `server` line: its address, and with TLS the name its certificate must carry. */
function serverLine(node: Endpoint, ordinal: number, tls: boolean): string {
    const verify = tls ? ` verifyhost ${node.tlsName ?? node.host}` : "";
    return `    server data-${ordinal} ${node.host}:${node.port}${verify}`;
}

/** `haproxy.cfg` of the master endpoint of a Sentinel group. */
export function renderEndpointConfig(
    redis: Pick<RedisConfig, "tls">,
    layout: Pick<RedisLayout, "dataNodes" | "dirs">,
    listen: EndpointListen,
): string {
    const c = ENDPOINT_CHECK;
    // The check connects as the server line says (`connect default`): with TLS, verified against the group's CA and
    // the node's own name, so no other holder of a certificate from that CA gets the monitor password.
    const tls = redis.tls ? ` check-ssl verify required ca-file ${layout.dirs.tls}/${TLS_FILES.ca}` : "";
    return (
        [
            "# Rendered by data-platform: the master endpoint of a Redis Sentinel group. Each client connection goes to the",
            "# data node whose ROLE is master; TLS passes through (the client verifies the node and logs in as itself).",
            "global",
            `    maxconn ${ENDPOINT_MAX_CONNECTIONS}`,
            "    # One thread: what the pod's CPU limit gives it, whatever the node's core count (HAProxy's default).",
            "    nbthread 1",
            "defaults",
            "    mode tcp",
            "    # Every change of a check's result on stderr (HAProxy in the foreground prints its warnings there).",
            "    option log-health-checks",
            "    option clitcpka",
            "    option srvtcpka",
            "    timeout connect 1s",
            "    timeout check 2s",
            "    timeout client 30s",
            "    timeout server 30s",
            "    timeout client-fin 30s",
            "    # Redis connections idle for long (subscribers, blocking pops): cut only after a day without traffic.",
            "    timeout tunnel 24h",
            "# Pods get new addresses when they restart: their names are resolved again, through the pod's resolver.",
            "resolvers cluster",
            "    parse-resolv-conf",
            "frontend health",
            "    mode http",
            `    bind ${listen.health}`,
            `    monitor-uri ${ENDPOINT_READY_PATH}`,
            `    monitor fail if { nbsrv(${BACKEND}) lt 1 }`,
            "frontend clients",
            `    bind ${listen.clients}`,
            `    default_backend ${BACKEND}`,
            `backend ${BACKEND}`,
            "    option tcp-check",
            "    tcp-check connect default",
            ...ENDPOINT_CHECK_COMMANDS.flatMap(({ send, expect, minLength }) => [
                `    tcp-check send ${quoted(`${send}\r\n`, true)}`,
                // Conclusive once that much arrived (HAProxy waits for more data on a mismatch otherwise, until
                // `timeout check`: a replica's check would take that long; src/tcpcheck.c `min_recv`).
                "string" in expect
                    ? `    tcp-check expect min-recv ${minLength} string ${quoted(expect.string)}`
                    : `    tcp-check expect min-recv ${minLength} rstring ${quoted(expect.rstring)}`,
            ]),
            "    # A master that stops answering as one loses its connections at once (they would get READONLY).",
            `    default-server check inter ${c.interMs}ms rise ${c.rise} fall ${c.fall} on-marked-down shutdown-sessions resolvers cluster init-addr libc,none${tls}`,
            ...layout.dataNodes.map((node, i) => serverLine(node, i, redis.tls)),
        ].join("\n") + "\n"
    );
}
