/**
 * SCRAM-SHA-256 verifiers as PostgreSQL stores them in `pg_authid.rolpassword` and accepts in `ALTER ROLE ... PASSWORD`
 * (RFC 5802, RFC 7677; PostgreSQL src/common/scram-common.c `scram_build_secret`). Pure.
 *
 * The login Job sends these, never a password: a failing statement is logged with its text
 * (`log_min_error_statement = error`, the default; on Azure also pgaudit and statement logging into Log Analytics).
 * They are computed here, not in the Job: the Job's image (`postgres.clientImage`, `postgres:*-alpine` by default)
 * has no PBKDF2/HMAC tool to count on (busybox has none; libpq's is reached only through psql's interactive
 * `\password`), and the program already holds every password.
 */
import * as crypto from "crypto";

/** PostgreSQL's `scram_iterations` default (SCRAM_SHA_256_DEFAULT_ITERATIONS). */
export const SCRAM_ITERATIONS = 4096;
/** PostgreSQL's salt length (SCRAM_DEFAULT_SALT_LEN). */
export const SCRAM_SALT_BYTES = 16;

function hmac(key: Buffer, text: string): Buffer {
    return crypto.createHmac("sha256", key).update(text, "utf8").digest();
}

/**
 * `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (base64) of `password` with `salt`.
 * ASCII passwords only: SASLprep (which PostgreSQL applies first) leaves those unchanged; the generator emits nothing else.
 */
export function scramVerifier(password: string, salt: Buffer, iterations = SCRAM_ITERATIONS): string {
    if ([...password].some((c) => c.charCodeAt(0) > 0x7f)) {
        throw new Error("a SCRAM verifier is computed here only for ASCII passwords (SASLprep would change others)");
    }
    const salted = crypto.pbkdf2Sync(password, salt, iterations, 32, "sha256");
    const storedKey = crypto.createHash("sha256").update(hmac(salted, "Client Key")).digest();
    const serverKey = hmac(salted, "Server Key");
    const b64 = (b: Buffer) => b.toString("base64");
    return `SCRAM-SHA-256$${iterations}:${b64(salt)}$${b64(storedKey)}:${b64(serverKey)}`;
}

/**
 * The verifier of a login's password with a salt that is the same at every run (a random one would change the
 * verifier, and so re-run the login Job, at every `pulumi up`) and differs per login and password: HMAC-SHA-256 keyed by
 * the admin password of the login's name and password, which reveals nothing to whoever lacks the admin password.
 */
export function loginVerifier(adminPassword: string, login: string, password: string): string {
    const salt = crypto
        .createHmac("sha256", adminPassword)
        .update(`scram-salt\n${login}\n${password}`, "utf8")
        .digest()
        .subarray(0, SCRAM_SALT_BYTES);
    return scramVerifier(password, salt);
}
