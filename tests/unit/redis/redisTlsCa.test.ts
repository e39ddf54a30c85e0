/**
 * `redis.tls` without `redis.tlsCaCert`: the servers speak TLS with a certificate of the stack's issuer, but the
 * applications are handed no CA to verify it with (REDIS_CA_CERT is absent from their contract), so a client either
 * fails verification (the issuer is private: its CA is in no trust store) or is configured to skip it. Refused.
 */
import * as assert from "assert";
import { problemLines, parseStack, sectionOverride } from "../../support/config";

/** The stack file's redis block with `changes`, the CA dropped when `withoutCa`. */
function redis(stack: string, changes: Record<string, unknown>, withoutCa: boolean) {
    const override = sectionOverride(stack, "redis", changes);
    const block = override["data-platform:redis"] as Record<string, unknown>;
    if (withoutCa) {
        delete block.tlsCaCert;
    }
    return override;
}

describe("redis.tls without redis.tlsCaCert", () => {
    it("is refused, naming the key, the missing value, the issuer whose CA to write, and the alternative", () => {
        // prod: tls true (its profile's default) and its CA; without the CA it must not pass.
        const lines = problemLines("prod", redis("prod", {}, true));
        assert.deepStrictEqual(lines, [
            "data-platform:redis.tlsCaCert: given (missing); allowed: the PEM certificate of the CA that signs the " +
                "Redis certificate (the public certificate of ClusterIssuer platform-ca's CA, e.g. kubectl -n " +
                "cert-manager get secret <its CA Secret> -o jsonpath='{.data.tls\\.crt}' | base64 -d): with redis.tls " +
                "true the applications verify the servers against it (REDIS_CA_CERT), and without it they cannot",
        ]);
        // Development may go without TLS, and says so.
        const dev = problemLines("dev", redis("dev", { tls: true }, true));
        assert.match(dev[0], /and without it they cannot; or redis\.tls: false$/);
    });

    it("names the Secret's ca.crt when the certificate is an existing Secret (redis.tlsSecretName)", () => {
        const lines = problemLines("prod", redis("prod", { tlsSecretName: "my-redis-tls" }, true));
        assert.strictEqual(lines.length, 1);
        assert.match(
            lines[0],
            /^data-platform:redis\.tlsCaCert: given \(missing\); allowed: .*ca\.crt of the Secret my-redis-tls/,
        );
    });

    it("is refused by default in a production stack (tls defaults to true there)", () => {
        const lines = problemLines("prod", { "data-platform:redis": { mode: "sentinel", replicas: 3, sentinels: 3 } });
        assert.ok(
            lines.some((l) => l.startsWith("data-platform:redis.tlsCaCert: given (missing)")),
            lines.join("\n"),
        );
    });

    it("is refused for each named group at its own key (each group has its own certificate and contract)", () => {
        // A dedicated group may go without TLS in production too (the message says so).
        const lines = problemLines(
            "prod",
            redis("prod", { groups: { caches: { mode: "standalone", dedicated: true } } }, false),
        );
        assert.strictEqual(lines.length, 1, lines.join("\n"));
        assert.match(
            lines[0],
            /^data-platform:redis\.groups\.caches\.tlsCaCert: given \(missing\); .*or redis\.groups\.caches\.tls: false$/,
        );
    });

    it("passes with the CA, and without TLS (dev, or a dedicated group in prod) needs none", () => {
        assert.ok(parseStack("prod").redis.tlsCaCert);
        const plainGroup = { groups: { legacy: { mode: "standalone", dedicated: true, tls: false } } };
        assert.strictEqual(parseStack("prod", redis("prod", plainGroup, false)).redis.groups.legacy.tls, false);
        assert.strictEqual(parseStack("dev").redis.tls, false);
    });
});
