/**
 * The leak check: no generated password in clear in the plan or the manifests, in any form the program writes one.
 * Each encoder is the program's own, so a new or changed encoding there is searched here too.
 */
import { percentEncode } from "../../components/postgres/env";
import { redisUrlEncode } from "../../components/redis/env";
import type { RunResult } from "../../offline/mockEngine";
import { isManifest, manifestOf, toPlan } from "../../offline/plan";

/**
 * Every form of `password` the program writes: raw (`DB_PASSWORD`, ACL files), `DATABASE_URL`'s strict percent-encoding,
 * `REDIS_URL`'s, JSON-escaped (the bundle, `renderBundle`) and base64 (a Kubernetes Secret's `data`). Digests (SCRAM
 * verifiers, keyed hashes) are not the password and are not searched.
 */
export function passwordForms(password: string): string[] {
    return [
        ...new Set([
            password,
            percentEncode(password),
            redisUrlEncode(password),
            JSON.stringify(password).slice(1, -1),
            Buffer.from(password).toString("base64"),
        ]),
    ];
}

/** Every string leaf of `value`. */
function* stringLeaves(value: unknown): Generator<string> {
    if (typeof value === "string") {
        yield value;
    } else if (value !== null && typeof value === "object") {
        for (const v of Object.values(value)) {
            yield* stringLeaves(v);
        }
    }
}

/** Generated passwords found in the plan or the manifests (both from the masked inputs), in any of their forms. */
export function passwordsWritten(run: RunResult): string[] {
    const passwords = run.resources.filter((r) => r.type === "random:index/randomPassword:RandomPassword");
    if (passwords.length === 0) {
        return ["no generated password in the run"];
    }
    // String leaves, not the JSON text: serialising would escape `"` and `\` once more and hide the raw form.
    const written = [...stringLeaves([toPlan(run), run.resources.filter(isManifest).map(manifestOf)])];
    return passwords
        .filter((r) => {
            const forms = passwordForms(String(r.outputs.result));
            return written.some((text) => forms.some((f) => text.includes(f)));
        })
        .map((r) => `${r.name}'s password is written`);
}
