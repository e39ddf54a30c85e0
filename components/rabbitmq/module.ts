/** RabbitMQ (stub): measures what a third data service touches. */
import * as pulumi from "@pulumi/pulumi";
import { rabbitmqSchema } from "./config";
import { dataService } from "../serviceModule";

const rabbitmqAppCredentialId = (app: string) => `rabbitmq-app-${app}`;

export const rabbitmqModule = dataService({
    name: "rabbitmq",
    configSchema: () => rabbitmqSchema().prefault({}).describe("RabbitMQ."),
    configRules: () => undefined,
    credentials: { ids: (config) => config.apps.map((app) => rabbitmqAppCredentialId(app.name)) },
    contract: {
        shapes: [{}],
        shape: () => ({}),
        keys: () => [
            {
                key: "AMQP_URL",
                service: "rabbitmq",
                secret: true,
                description: "`amqp://user:password@host/vhost`.",
                example: "amqp://orders:p%40ss@rabbitmq/orders",
            },
        ],
        conditions: [],
    },
    create: (name, _instance, { config, credentials }, opts) => {
        const component = new pulumi.ComponentResource("data-platform:rabbitmq:RabbitMQ", name, {}, opts);
        return {
            env: (app) => ({
                AMQP_URL: credentials
                    .password(rabbitmqAppCredentialId(app.name))
                    .apply((pw) => `amqp://${app.name}:${encodeURIComponent(pw)}@${config.rabbitmq.host}/${app.name}`),
            }),
            ready: [component],
        };
    },
});
