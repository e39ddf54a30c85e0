/**
 * Property paths as the plan shows them: `spec.data[0].remoteRef`, with keys that are not plain
 * identifiers quoted (`metadata.labels["app.kubernetes.io/name"]`), so any key round-trips.
 */
export type Segment = string | number;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

export function formatPath(segments: readonly Segment[]): string {
    let out = "";
    for (const s of segments) {
        if (typeof s === "number") {
            out += `[${s}]`;
        } else if (IDENTIFIER.test(s)) {
            out += out ? `.${s}` : s;
        } else {
            out += `[${JSON.stringify(s)}]`;
        }
    }
    return out;
}

export function parsePath(path: string): Segment[] {
    const segments: Segment[] = [];
    const token = /\.?([A-Za-z_$][A-Za-z0-9_$-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;
    let match: RegExpExecArray | null;
    while (token.lastIndex < path.length && (match = token.exec(path)) !== null) {
        segments.push(match[1] ?? (match[2] !== undefined ? Number(match[2]) : JSON.parse(match[3])));
    }
    if (token.lastIndex !== path.length) {
        throw new Error(`malformed property path ${JSON.stringify(path)}`);
    }
    return segments;
}

/**
 * A deep copy of a recorded value (what the engine decodes from the wire: plain objects, arrays and scalars), in
 * key order; several times faster than `structuredClone` on these, which the policy harness makes thousands of.
 */
export function copyRecorded<T>(value: T): T {
    if (Array.isArray(value)) {
        return value.map(copyRecorded) as T;
    }
    if (value === null || typeof value !== "object") {
        return value;
    }
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
        out[key] = copyRecorded((value as Record<string, unknown>)[key]);
    }
    return out as T;
}

/** A deep copy of `value` with the value at each path replaced by `replacement`. */
export function replaceAtPaths(value: unknown, paths: readonly string[], replacement: unknown): any {
    const copy = copyRecorded(value) as any;
    for (const p of paths) {
        const segments = parsePath(p);
        if (segments.length === 0) {
            return replacement;
        }
        let node = copy;
        for (const s of segments.slice(0, -1)) {
            node = node?.[s];
        }
        if (node !== undefined && node !== null) {
            node[segments[segments.length - 1]] = replacement;
        }
    }
    return copy;
}
