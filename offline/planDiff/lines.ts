/** A line diff of two texts (longest common subsequence), for multi-line values such as redis.conf or scripts. */

export interface LineChange {
    readonly mark: "-" | "+";
    readonly text: string;
}

/** The removed and added lines turning `a` into `b`, in order; unchanged lines are left out. */
export function lineDiff(a: string, b: string): LineChange[] {
    const x = a.split("\n");
    const y = b.split("\n");
    // common[i][j]: length of the longest common subsequence of x[i..] and y[j..].
    const common = Array.from({ length: x.length + 1 }, () => new Array<number>(y.length + 1).fill(0));
    for (let i = x.length - 1; i >= 0; i--) {
        for (let j = y.length - 1; j >= 0; j--) {
            common[i][j] = x[i] === y[j] ? common[i + 1][j + 1] + 1 : Math.max(common[i + 1][j], common[i][j + 1]);
        }
    }
    // Within a run of changed lines, removals come before additions, as in a unified diff.
    const out: LineChange[] = [];
    let added: LineChange[] = [];
    let i = 0;
    let j = 0;
    while (i < x.length || j < y.length) {
        if (i < x.length && j < y.length && x[i] === y[j]) {
            out.push(...added);
            added = [];
            i++;
            j++;
        } else if (j < y.length && (i === x.length || common[i][j + 1] >= common[i + 1][j])) {
            added.push({ mark: "+", text: y[j++] });
        } else {
            out.push({ mark: "-", text: x[i++] });
        }
    }
    out.push(...added);
    return out;
}
