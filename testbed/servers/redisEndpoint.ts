/**
 * The master endpoint of a local Sentinel group: Debian's haproxy running the rendered `haproxy.cfg`
 * (components/redis/endpointConfig.ts) with loopback addresses, started the way the pod starts it (its command), the
 * monitor password in its environment as the pod's `secretKeyRef` puts it there: read from the synced Secret's file at
 * start.
 */
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import type { RedisConfig } from "../../components/config/redis";
import {
    ENDPOINT_PASSWORD_ENV,
    ENDPOINT_READY_PATH,
    endpointCommand,
    renderEndpointConfig,
} from "../../components/redis/endpointConfig";
import { AUTH_FILES } from "../../components/redis/files";
import type { RedisLayout } from "../../components/redis/layout";
import { LOOPBACK, Supervisor, requireCommands } from "./processes";

/** The loopback ports of one HAProxy process: for clients, and for its readiness check. */
export interface LocalEndpointPorts {
    readonly clients: number;
    readonly health: number;
}

/** Fails loudly (never skips) when haproxy is not installed. */
export function requireHaproxy(): void {
    requireCommands(["haproxy"], "apt-get install haproxy; the Redis master endpoint needs it (.ci/install.sh)");
}

export interface LocalEndpointArgs {
    readonly redis: Pick<RedisConfig, "tls">;
    readonly layout: Pick<RedisLayout, "dataNodes" | "dirs">;
    readonly ports: LocalEndpointPorts;
    /** Where its rendered file goes. */
    readonly dir: string;
}

/** Renders `haproxy.cfg` for loopback and starts haproxy as process `name` of `supervisor`. */
export function startLocalEndpoint(supervisor: Supervisor, name: string, args: LocalEndpointArgs): void {
    requireHaproxy();
    fs.mkdirSync(args.dir, { recursive: true });
    const file = path.join(args.dir, "haproxy.cfg");
    fs.writeFileSync(
        file,
        renderEndpointConfig(args.redis, args.layout, {
            clients: `${LOOPBACK}:${args.ports.clients}`,
            health: `${LOOPBACK}:${args.ports.health}`,
        }),
    );
    const password = fs.readFileSync(path.join(args.layout.dirs.auth, AUTH_FILES.monitor), "utf8");
    const [command, ...rest] = endpointCommand(file);
    supervisor.start(name, command, rest, { [ENDPOINT_PASSWORD_ENV]: password });
}

/** What the pod's readiness probe sees: true when the check answers 200 (a master is up). */
export function localEndpointReady(ports: LocalEndpointPorts): Promise<boolean> {
    return new Promise((resolve) => {
        const request = http.get(
            { host: LOOPBACK, port: ports.health, path: ENDPOINT_READY_PATH, timeout: 1000 },
            (response) => {
                response.resume();
                resolve(response.statusCode === 200);
            },
        );
        request.on("timeout", () => request.destroy());
        request.on("error", () => resolve(false));
    });
}
