/**
 * The committed seed results (what `tests/servers/consumers/seeds*.test.ts` observed, which the README's seed table is
 * rendered from) name exactly the seeds, parts, stack-file keys and changes of `tests/support/seeds.ts`: an edit of
 * the seeds' data that the results file does not follow fails here too, without servers.
 */
import { strict as assert } from "assert";
import { SEED_STACKS, readSeedResults } from "../../../cli/seedTable";
import { SEEDS, stackKeysOf } from "../../support/seeds";

describe("seedResults.json and the seeds' data", () => {
    const results = readSeedResults();

    it("has one row per seed and stack, in the seeds' order", () => {
        assert.deepEqual(
            results.map((r) => `${r.seed}/${r.stack}`),
            SEEDS.flatMap((seed) => SEED_STACKS.map((stack) => `${seed.id}/${stack}`)),
        );
    });

    for (const seed of SEEDS) {
        for (const stack of SEED_STACKS) {
            it(`seed ${seed.id}, ${stack}: its title, stack-file keys, parts and changes`, () => {
                const row = results.find((r) => r.seed === seed.id && r.stack === stack);
                assert.ok(row);
                assert.equal(row.title, seed.title);
                assert.deepEqual(row.stackKeys, stackKeysOf(seed, stack));
                assert.equal(row.note, seed.note);
                assert.deepEqual(
                    row.parts.map((p) => p.name),
                    seed.parts.map((p) => p.name),
                );
                for (const part of row.parts) {
                    const known = seed.parts.find((p) => p.name === part.name)?.changes?.[stack]?.what;
                    assert.ok(part.unmodified || known !== undefined, `${part.name}: no change is known for it`);
                    assert.equal(part.change, part.unmodified ? undefined : known, part.name);
                }
            });
        }
    }
});
