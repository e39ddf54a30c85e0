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

/** Characters of a form indexed: no generated password is shorter (`keyVault.passwords.length` is at least 32). */
const WINDOW = 16;

/**
 * The names whose forms occur in any of `texts`: each text is read once, its windows looked up in an index of the
 * forms' first characters, so the cost grows with the text, not with texts x passwords (1,000 applications: ~3,000
 * passwords over ~20,000 objects took minutes compared one by one).
 */
function namesFound(texts: Iterable<string>, forms: ReadonlyArray<readonly [string, string]>): Set<string> {
    const byWindow = new Map<string, Array<readonly [string, string]>>();
    const short = forms.filter(([, form]) => form.length < WINDOW);
    for (const entry of forms.filter(([, form]) => form.length >= WINDOW)) {
        const key = entry[1].slice(0, WINDOW);
        byWindow.set(key, [...(byWindow.get(key) ?? []), entry]);
    }
    const shortest = Math.min(...forms.map(([, form]) => form.length));
    const found = new Set<string>();
    for (const text of texts) {
        if (text.length < shortest) {
            continue;
        }
        short.filter(([, form]) => text.includes(form)).forEach(([name]) => found.add(name));
        for (let i = 0; i + WINDOW <= text.length; i++) {
            for (const [name, form] of byWindow.get(text.slice(i, i + WINDOW)) ?? []) {
                if (text.startsWith(form, i)) {
                    found.add(name);
                }
            }
        }
    }
    return found;
}

/** Generated passwords found in the plan or the manifests (both from the masked inputs), in any of their forms. */
export function passwordsWritten(run: RunResult): string[] {
    const passwords = run.resources.filter((r) => r.type === "random:index/randomPassword:RandomPassword");
    if (passwords.length === 0) {
        return ["no generated password in the run"];
    }
    // String leaves, not the JSON text: serialising would escape `"` and `\` once more and hide the raw form.
    const written = stringLeaves([toPlan(run), run.resources.filter(isManifest).map(manifestOf)]);
    const found = namesFound(
        written,
        passwords.flatMap((r) => passwordForms(String(r.outputs.result)).map((form) => [r.urn, form] as const)),
    );
    return passwords.filter((r) => found.has(r.urn)).map((r) => `${r.name}'s password is written`);
}
