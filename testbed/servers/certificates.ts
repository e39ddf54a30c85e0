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

/** The DNS name test server certificates carry unless told otherwise: what a client checking names by DNS verifies. */
export const LOOPBACK_HOST_NAME = "localhost";
/** The names a test server certificate is for unless told otherwise: the loopback address and localhost. */
export const LOOPBACK_NAMES: readonly string[] = ["127.0.0.1", LOOPBACK_HOST_NAME];

/**
 * A self-signed CA and a server certificate for `names` (default `LOOPBACK_NAMES`) made with openssl, as
 * `dir/<files.*>`. With `keepCa`, the CA already in `dir` (its certificate and `ca.key`) signs a new key: a renewal by
 * the same issuer.
 */
export function makeCertificates(
    dir: string,
    files: CertificateFiles,
    keepCa = false,
    names: readonly string[] = LOOPBACK_NAMES,
): CertificateFiles {
    fs.mkdirSync(dir, { recursive: true });
    const f = (name: string) => path.join(dir, name);
    const ca = { cert: f(files.ca), key: f("ca.key") };
    if (!keepCa) {
        makeCa(ca);
    }
    signNewKey(ca, { key: f(files.key), cert: f(files.cert) }, "serverAuth", names);
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
 * A new key and a certificate for `names` (IP addresses and DNS names, default `LOOPBACK_NAMES`) signed by `ca`,
 * valid two days, for `extendedKeyUsage`; its request and extensions are written beside the certificate.
 */
export function signNewKey(
    ca: { cert: string; key: string },
    out: { key: string; cert: string },
    extendedKeyUsage = "serverAuth",
    names: readonly string[] = LOOPBACK_NAMES,
): void {
    const isIp = (name: string) => /^[\d.]+$/.test(name);
    const cn = names.find((n) => !isIp(n)) ?? names[0];
    openssl("req", ...NEW_EC_KEY, "-nodes", "-subj", `/CN=${cn}`, "-keyout", out.key, "-out", `${out.cert}.csr`);
    const altNames = names.map((n) => (isIp(n) ? `IP:${n}` : `DNS:${n}`)).join(",");
    fs.writeFileSync(`${out.cert}.ext`, `subjectAltName=${altNames}\nextendedKeyUsage=${extendedKeyUsage}\n`);
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
