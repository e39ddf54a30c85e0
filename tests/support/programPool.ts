/**
 * Runs the program and its property checks (`programChecks.ts`) in worker threads, one Pulumi runtime each: the
 * runtime is process-global, so one thread runs one program at a time, and a run is CPU-bound. The property tests
 * hand over every case fast-check will try (`fc.sample` yields them in the order `fc.assert` does) before they
 * start, so the threads run ahead of the assertions; a configuration asked for again gets the same verdict.
 */
import * as os from "os";
import * as path from "path";
import { Worker, isMainThread, parentPort, workerData } from "worker_threads";
import type { Overrides } from "./config";
import type { Verdict } from "./programChecks";

const ROLE = "program-pool";

interface Request {
    readonly id: number;
    readonly stack: string;
    readonly overrides: Overrides;
    readonly checked: boolean;
}

interface Reply {
    readonly id: number;
    readonly verdict: Verdict;
}

/**
 * The worker's side: one verdict per request, in order. Without error stacks (the SDK captures one for every
 * `pulumi.output` of an object: a tenth of a run); a run that fails is run again with them, for its report.
 */
function serve(): void {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { verdictOf } = require("./programChecks") as typeof import("./programChecks");
    const stackTraceLimit = Error.stackTraceLimit;
    const withStacks = async (request: Request) => {
        Error.stackTraceLimit = stackTraceLimit;
        try {
            return await verdictOf(request.stack, request.overrides, request.checked);
        } finally {
            Error.stackTraceLimit = 0;
        }
    };
    Error.stackTraceLimit = 0;
    let queue = Promise.resolve();
    parentPort!.on("message", (request: Request) => {
        queue = queue.then(async () => {
            const verdict = await verdictOf(request.stack, request.overrides, request.checked);
            parentPort!.postMessage({ id: request.id, verdict: verdict.error ? await withStacks(request) : verdict });
        });
    });
}

export class ProgramPool {
    private readonly workers: Worker[] = [];
    private readonly verdicts = new Map<string, Promise<Verdict>>();
    private readonly waiting = new Map<number, (verdict: Verdict) => void>();
    /** Requests not yet sent, and how many each worker has in hand. */
    private readonly backlog: Request[] = [];
    private readonly inHand: number[] = [];
    private nextId = 0;

    constructor(size: number = Math.min(2, os.availableParallelism())) {
        for (let i = 0; i < size; i++) {
            const worker = new Worker(
                `require("ts-node").register({ transpileOnly: true, project: ${JSON.stringify(path.resolve(__dirname, "..", "..", "tsconfig.json"))} });
                 require(${JSON.stringify(__filename)});`,
                { eval: true, workerData: { role: ROLE } },
            );
            worker.on("message", ({ id, verdict }: Reply) => {
                this.inHand[i]--;
                this.waiting.get(id)?.(verdict);
                this.waiting.delete(id);
                this.dispatch();
            });
            worker.on("error", (err) => {
                for (const resolve of this.waiting.values()) {
                    resolve({ error: `program pool worker failed: ${err.stack ?? err}`, problems: [], identities: [] });
                }
                this.waiting.clear();
            });
            this.workers.push(worker);
            this.inHand.push(0);
        }
    }

    /**
     * The verdict on the program run for `stack` with `overrides`, its problems only when `checked` (else none);
     * computed once per configuration, before every configuration only handed over for later (`prefetch`).
     */
    verdict(stack: string, overrides: Overrides, checked: boolean): Promise<Verdict> {
        return this.request(stack, overrides, checked, false);
    }

    /** Computes a verdict in order with the other prefetched ones, for a `verdict` call to come. */
    prefetch(stack: string, overrides: Overrides, checked: boolean): void {
        void this.request(stack, overrides, checked, true);
    }

    private request(stack: string, overrides: Overrides, checked: boolean, later: boolean): Promise<Verdict> {
        const key = `${stack}\u0000${checked}\u0000${JSON.stringify(overrides)}`;
        let verdict = this.verdicts.get(key);
        if (!verdict) {
            const id = this.nextId++;
            verdict = new Promise<Verdict>((resolve) => this.waiting.set(id, resolve));
            this.verdicts.set(key, verdict);
            const request = { id, stack, overrides, checked };
            if (later) {
                this.backlog.push(request);
            } else {
                this.backlog.unshift(request);
            }
            this.dispatch();
        }
        return verdict;
    }

    /** Gives each idle worker the oldest request: one in hand at a time, so the order of asking is kept. */
    private dispatch(): void {
        for (let i = 0; i < this.workers.length && this.backlog.length > 0; i++) {
            if (this.inHand[i] === 0) {
                this.inHand[i]++;
                this.workers[i].postMessage(this.backlog.shift());
            }
        }
    }

    close(): Promise<number[]> {
        return Promise.all(this.workers.map((w) => w.terminate()));
    }
}

if (!isMainThread && workerData?.role === ROLE) {
    serve();
}
