/** Test certificates for the loopback servers (the role cert-manager or Azure's public CA plays in production). */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

/**
 * A new P-256 key for `openssl req`: what cert-manager issues here (`privateKey.algorithm: ECDSA`, size 256), and
 * made in milliseconds where an RSA-2048 key takes about half a CPU second (four per lifecycle scenario).
 */
const NEW_EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];

export interface CertificateFiles {
    readonly ca: string;
    readonly cert: string;
    readonly key: string;
}

const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });

/**
 * A self-signed CA and a server certificate for 127.0.0.1/localhost made with openssl, as `dir/<files.*>`. With
 * `keepCa`, the CA already in `dir` (its certificate and `ca.key`) signs a new key: a renewal by the same issuer.
 */
export function makeCertificates(dir: string, files: CertificateFiles, keepCa = false): CertificateFiles {
    fs.mkdirSync(dir, { recursive: true });
    const f = (name: string) => path.join(dir, name);
    const ca = { cert: f(files.ca), key: f("ca.key") };
    if (!keepCa) {
        makeCa(ca);
    }
    signNewKey(ca, { key: f(files.key), cert: f(files.cert) });
    return { ca: ca.cert, cert: f(files.cert), key: f(files.key) };
}

/** A self-signed CA, valid two days: its certificate and key at the given paths. */
export function makeCa(ca: { cert: string; key: string }): void {
    openssl(
        "req",
        "-x509",
        ...NEW_EC_KEY,
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=data-platform test CA",
        "-keyout",
        ca.key,
        "-out",
        ca.cert,
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    );
}

/**
 * A new key and a certificate for 127.0.0.1/localhost signed by `ca`, valid two days, for `extendedKeyUsage`; its
 * request and extensions are written beside the certificate.
 */
export function signNewKey(
    ca: { cert: string; key: string },
    out: { key: string; cert: string },
    extendedKeyUsage = "serverAuth",
): void {
    openssl("req", ...NEW_EC_KEY, "-nodes", "-subj", "/CN=localhost", "-keyout", out.key, "-out", `${out.cert}.csr`);
    fs.writeFileSync(
        `${out.cert}.ext`,
        `subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=${extendedKeyUsage}\n`,
    );
    openssl(
        "x509",
        "-req",
        "-in",
        `${out.cert}.csr`,
        "-CA",
        ca.cert,
        "-CAkey",
        ca.key,
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        `${out.cert}.ext`,
        "-out",
        out.cert,
    );
}
