/** Test certificates for the loopback servers (the role cert-manager or Azure's public CA plays in production). */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

/**
 * A new P-256 key for `openssl req`: what cert-manager issues here (`privateKey.algorithm: ECDSA`, size 256), and
 * made in milliseconds where an RSA-2048 key takes about half a CPU second (four per lifecycle scenario).
 */
export const NEW_EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];

export interface CertificateFiles {
    readonly ca: string;
    readonly cert: string;
    readonly key: string;
}

/**
 * A self-signed CA and a server certificate for 127.0.0.1/localhost made with openssl, as `dir/<files.*>`. With
 * `keepCa`, the CA already in `dir` (its certificate and `ca.key`) signs a new key: a renewal by the same issuer.
 */
export function makeCertificates(dir: string, files: CertificateFiles, keepCa = false): CertificateFiles {
    fs.mkdirSync(dir, { recursive: true });
    const f = (name: string) => path.join(dir, name);
    const ssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
    if (!keepCa) {
        makeCa(ssl, f, files);
    }
    ssl("req", ...NEW_EC_KEY, "-nodes", "-subj", "/CN=localhost", "-keyout", f(files.key), "-out", f("server.csr"));
    fs.writeFileSync(f("server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
    ssl(
        "x509",
        "-req",
        "-in",
        f("server.csr"),
        "-CA",
        f(files.ca),
        "-CAkey",
        f("ca.key"),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        f("server.ext"),
        "-out",
        f(files.cert),
    );
    return { ca: f(files.ca), cert: f(files.cert), key: f(files.key) };
}

function makeCa(ssl: (...args: string[]) => Buffer, f: (name: string) => string, files: CertificateFiles): void {
    ssl(
        "req",
        "-x509",
        ...NEW_EC_KEY,
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=data-platform test CA",
        "-keyout",
        f("ca.key"),
        "-out",
        f(files.ca),
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    );
}
