/**
 * cert-manager's part for the lifecycle harness: one CA (the cluster issuer) and, per Certificate, a TLS Secret
 * (`tls.crt`, `tls.key`, `ca.crt`) issued at creation and re-issued at renewal with a new key
 * (`privateKey.rotationPolicy: Always`), for 127.0.0.1 so loopback clients verify it. Validity is virtual: the
 * harness tracks each certificate's `notAfter` in timeline seconds (the real files are valid for two days).
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { makeCa, signNewKey } from "../../testbed/servers/certificates";

export interface IssuedCertificate {
    /** Counts issues of this Certificate: 1 at creation, 2 after the first renewal... */
    readonly generation: number;
    readonly files: Record<"tls.crt" | "tls.key" | "ca.crt", string>;
    /** SHA-256 of the DER certificate, as a TLS client sees it (`getPeerCertificate().fingerprint256`). */
    readonly fingerprint: string;
    /** Virtual seconds at which it was issued and at which it expires. */
    readonly notBefore: number;
    readonly notAfter: number;
}

export class Issuer {
    private issued = 0;
    private readonly ca: { cert: string; key: string };

    constructor(private readonly dir: string) {
        fs.mkdirSync(dir, { recursive: true });
        this.ca = { cert: path.join(dir, "ca.crt"), key: path.join(dir, "ca.key") };
        makeCa(this.ca);
    }

    get caFile(): string {
        return this.ca.cert;
    }

    /** A new key and certificate valid `durationSeconds` from virtual time `now`. */
    issue(now: number, durationSeconds: number): IssuedCertificate {
        const generation = ++this.issued;
        const f = (name: string) => path.join(this.dir, `${generation}-${name}`);
        signNewKey(this.ca, { key: f("tls.key"), cert: f("tls.crt") }, "serverAuth,clientAuth");
        const pem = fs.readFileSync(f("tls.crt"), "utf8");
        return {
            generation,
            files: {
                "tls.crt": pem,
                "tls.key": fs.readFileSync(f("tls.key"), "utf8"),
                "ca.crt": fs.readFileSync(this.caFile, "utf8"),
            },
            fingerprint: new crypto.X509Certificate(pem).fingerprint256,
            notBefore: now,
            notAfter: now + durationSeconds,
        };
    }
}
