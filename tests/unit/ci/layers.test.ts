/**
 * The layout by audience keeps its direction: `cli/` (entry points) may use everything below it, `testbed/` (real
 * servers and the simulated cluster) the offline engine and the program, `offline/` (mock engine, plan, plan diff)
 * the program, and the program (`index.ts`, `components/`) only itself and the policy pack's shared facts.
 */
import { strict as assert } from "assert";
import * as path from "path";
import madge from "madge";

const ROOT = path.resolve(__dirname, "..", "..", "..");

/** Layers from the bottom: a file may import its own layer's files and lower ones. */
const LAYERS = [["policy/"], ["components/", "index.ts", "lib.ts"], ["offline/"], ["testbed/"], ["cli/"]] as const;

function layerOf(file: string): number {
    const layer = LAYERS.findIndex((prefixes) => prefixes.some((p) => file === p || file.startsWith(p)));
    if (layer < 0) {
        throw new Error(`${file} is in no layer`);
    }
    return layer;
}

/** Every import that points up a layer, as `from -> to`. */
export function upwardImports(graph: Readonly<Record<string, readonly string[]>>): string[] {
    return Object.entries(graph).flatMap(([from, tos]) =>
        tos.filter((to) => layerOf(to) > layerOf(from)).map((to) => `${from} -> ${to}`),
    );
}

describe("layout by audience", () => {
    it("finds an import that points up a layer", () => {
        assert.deepEqual(
            upwardImports({
                "components/a.ts": ["offline/plan.ts", "components/b.ts"],
                "testbed/x.ts": ["offline/plan.ts"],
            }),
            ["components/a.ts -> offline/plan.ts"],
        );
    });

    it("has no import pointing up: cli -> testbed -> offline -> components -> policy", async () => {
        const result = await madge(
            ["index.ts", "lib.ts", "components", "offline", "testbed", "cli", "policy/lib", "policy/rules"].map((p) =>
                path.join(ROOT, p),
            ),
            { baseDir: ROOT, fileExtensions: ["ts"], tsConfig: path.join(ROOT, "tsconfig.json") },
        );
        const graph = result.obj();
        assert.ok(Object.keys(graph).length > 100, `madge read ${Object.keys(graph).length} files`);
        assert.deepEqual(upwardImports(graph), []);
    });
});
