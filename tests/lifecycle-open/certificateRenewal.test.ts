/**
 * Open (issue 11): cert-manager renews the Redis certificate (prod). Data nodes reload it; a Sentinel restarted by its
 * reload sidecar refuses connections for a moment while the harness checks (ECONNREFUSED on redis-sentinel-0), whether
 * from the restart itself or the harness's wait is not yet known. Run with `npm run test:lifecycle-open`.
 */
import { assertNoFailures, baseline, withLifecycle } from "../support/lifecycle";

describe("open: lifecycle on real servers, Redis certificate renewal (prod)", function () {
    this.timeout(240_000);

    it("a renewed Redis certificate is served by every data node and Sentinel before the old one expires", async () => {
        const l = await withLifecycle("prod", baseline("prod"), (lifecycle) => lifecycle.renewCertificates());
        assertNoFailures(l, "cert-manager renewing redis-tls");
    });
});
