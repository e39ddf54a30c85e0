/** Lifecycle scenario on real servers (prod): PostgreSQL's max_connections changed, applied as `pulumi up` would. */
import { assertNoFailures, baseline, change, scenario, stackVariant } from "../support/lifecycle";

scenario(
    "lifecycle on real servers: settings changed (prod)",
    "changing PostgreSQL max_connections keeps every application connected",
    async () => {
        const l = await change(
            "prod",
            baseline("prod"),
            stackVariant("prod", (c) => {
                c["data-platform:postgres"].maxConnections = 900;
            }),
        );
        assertNoFailures(l, "changing postgres.maxConnections");
    },
);
