/**
 * A value too large for one Key Vault secret kept in parts: Key Vault refuses a secret value over 25 KB ("25k bytes",
 * MicrosoftDocs/azure-security-docs key-vault/secrets/about-secrets.md). The parts are planned from each item's size at
 * its longest, so how many there are, and their secrets, are known before any password is.
 */

/** What one part may hold, in bytes: below Key Vault's 25 KB with room for the items' real encoding. */
export const KEY_VAULT_PART_MAX_BYTES = 20_000;

/** Consecutive items per part, in order, each part's items together at most `KEY_VAULT_PART_MAX_BYTES`. */
export function partCounts(sizes: readonly number[]): number[] {
    const counts: number[] = [];
    let bytes = Infinity;
    for (const size of sizes) {
        if (bytes + size > KEY_VAULT_PART_MAX_BYTES) {
            counts.push(0);
            bytes = 0;
        }
        counts[counts.length - 1]++;
        bytes += size;
    }
    return counts;
}

/** Splits `items` as `partCounts` planned. */
export function splitInto<T>(items: readonly T[], counts: readonly number[]): T[][] {
    let next = 0;
    return counts.map((count) => items.slice(next, (next += count)));
}

/** The Key Vault secret of part `index` of the value kept as `base` (the first part keeps the single secret's name). */
export function partSecretName(base: string, index: number): string {
    return index === 0 ? base : `${base}-${index}`;
}
