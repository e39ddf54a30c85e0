/** RabbitMQ settings (stub). */
import type { z } from "zod";
import { section, text } from "../config/fields";

export function rabbitmqSchema() {
    return section({
        host: text({ pattern: /^[a-z0-9.-]+$/, allowed: "a host name" })
            .default("rabbitmq")
            .describe("Broker host."),
    });
}
export type RabbitmqConfig = z.output<ReturnType<typeof rabbitmqSchema>>;
