/**
 * Lifecycle scenario on real servers (prod): cert-manager renews the Redis certificate. Data nodes reload it live;
 * each Sentinel restarts (it cannot reload TLS), one at a time under a lock, and the kubelet starts it again.
 */
import { assertNoFailures, baseline, scenario, withLifecycle } from "../support/lifecycle";

scenario(
    "lifecycle on real servers: Redis certificate renewal (prod)",
    "a renewed Redis certificate is served by every data node and Sentinel before the old one expires",
    async () => {
        const l = await withLifecycle("prod", baseline("prod"), (lifecycle) => lifecycle.renewCertificates());
        assertNoFailures(l, "cert-manager renewing redis-tls");
    },
);
