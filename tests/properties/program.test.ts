/**
 * Properties of the program over generated stacks (support/generated.ts). A run of the program costs a millisecond
 * or more per registration and each application adds about twenty, so the counts are weighted towards one or two
 * applications, reaching 60 rarely. A case is two runs, in worker threads (support/programPool.ts): the generated
 * stack, which every check runs on, and the stack with one more application, compared with it. Its own tier
 * (`npm run test:properties`, in `npm test`): 400 runs of the program are most of a minute of CPU.
 */
import { strict as assert } from "assert";
import * as fc from "fast-check";
import { Addition, Generated, PARAMETERS, RUNS, SEED, added, addition, overrides } from "../support/generated";
import { ProgramPool } from "../support/programPool";

/**
 * 1..59 applications for the properties that run the program: 70 % one, 20 % two, 9.5 % three to five, 0.5 % more.
 * Drawn evenly from a range mapped onto those counts, so a failing case shrinks towards one application.
 */
const runCount = fc
    .noBias(fc.integer({ min: 0, max: 99_999 }))
    .map((x) => (x < 70_000 ? 1 : x < 90_000 ? 2 : x < 99_500 ? 3 + (x % 3) : 6 + (x % 54)));

/** Runs `check`; a failure names the configurations it failed for, as the stack and the overrides each applies. */
async function forAddition(c: Addition, check: () => unknown): Promise<void> {
    try {
        await check();
    } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        const config = (g: Generated) => `stack ${g.stack} with ${JSON.stringify(overrides(g))}`;
        throw new Error(`${message}\nbefore: ${config(c.g)}\nafter: ${config(added(c))}`);
    }
}

/** A program case: a stack of 1..59 applications (most with one or two) and one more application. */
const programCase = addition(runCount.map((n) => n + 1));

describe("properties of the program over generated stack configurations (fast-check)", function () {
    // Generous: a program case is two runs, other processes share the two cores, and a failing case shrinks through
    // tens of runs more.
    this.timeout(600_000);

    let pool: ProgramPool;
    // A case's two runs: the generated stack, with every check; the stack with the application added, to compare.
    const stackRun = (c: Addition) => [c.g.stack, overrides(c.g), true] as const;
    const addedRun = (c: Addition) => [c.g.stack, overrides(added(c)), false] as const;
    before(() => {
        pool = new ProgramPool();
        // Every case fast-check will try first, so the worker threads run ahead of the assertions.
        const cases = fc.sample(programCase, { seed: SEED, numRuns: RUNS });
        cases.forEach((c) => pool.prefetch(...stackRun(c)));
        cases.forEach((c) => pool.prefetch(...addedRun(c)));
    });
    after(() => pool.close());

    it(`the program runs for generated stacks: objects valid upstream, names within limits, int32 numbers, no password in the plan or the manifests, no mandatory policy violation (${RUNS} cases)`, async () => {
        await fc.assert(
            fc.asyncProperty(programCase, (c) =>
                forAddition(c, async () => {
                    const { error, problems } = await pool.verdict(...stackRun(c));
                    assert.equal(error, undefined);
                    assert.deepEqual(problems, []);
                }),
            ),
            PARAMETERS,
        );
    });

    it(`adding an unrelated application renames, replaces or removes no stateful thing of the program (${RUNS} cases)`, async () => {
        await fc.assert(
            fc.asyncProperty(programCase, (c) =>
                forAddition(c, async () => {
                    const [earlier, later] = await Promise.all([
                        pool.verdict(...stackRun(c)),
                        pool.verdict(...addedRun(c)),
                    ]);
                    assert.equal(earlier.error ?? later.error, undefined);
                    const identities = new Map(later.identities);
                    assert.deepEqual(
                        earlier.identities
                            .filter(([urn, identity]) => identities.get(urn) !== identity)
                            .map(([urn]) => urn),
                        [],
                    );
                }),
            ),
            PARAMETERS,
        );
    });
});
