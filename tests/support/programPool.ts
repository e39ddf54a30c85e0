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

/** A run's cost, roughly: its registrations, about eighty for the platform and twenty per application. */
function estimatedCost(overrides: Overrides): number {
    const apps = overrides["data-platform:apps"];
    return 4 + (Array.isArray(apps) ? apps.length : 1);
}

export class ProgramPool {
    private readonly workers: Worker[] = [];
    private readonly verdicts = new Map<string, Promise<Verdict>>();
    private readonly waiting = new Map<number, { resolve: (verdict: Verdict) => void; worker: number; cost: number }>();
    /** The estimated cost of the requests each worker has in hand. */
    private readonly inHand: number[] = [];
    private nextId = 0;

    constructor(size: number = Math.min(2, os.availableParallelism())) {
        for (let i = 0; i < size; i++) {
            const worker = new Worker(
                `require(${JSON.stringify(path.join(__dirname, "register.cjs"))});
                 require(${JSON.stringify(__filename)});`,
                // A run allocates about a megabyte per registration, nearly all of it garbage once the run ends: a
                // young generation that holds a run's worth scavenges it instead of promoting it (a fifth of a run).
                { eval: true, workerData: { role: ROLE }, resourceLimits: { maxYoungGenerationSizeMb: 768 } },
            );
            worker.on("message", ({ id, verdict }: Reply) => {
                const request = this.waiting.get(id);
                this.waiting.delete(id);
                if (request) {
                    this.inHand[request.worker] -= request.cost;
                    request.resolve(verdict);
                }
            });
            worker.on("error", (err) => {
                for (const { resolve } of this.waiting.values()) {
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
     * computed once per configuration, in the order asked.
     */
    verdict(stack: string, overrides: Overrides, checked: boolean): Promise<Verdict> {
        const key = `${stack}\u0000${checked}\u0000${JSON.stringify(overrides)}`;
        let verdict = this.verdicts.get(key);
        if (!verdict) {
            verdict = this.send({ id: this.nextId++, stack, overrides, checked });
            this.verdicts.set(key, verdict);
        }
        return verdict;
    }

    /** Asks for a verdict now, for a `verdict` call to come. */
    prefetch(stack: string, overrides: Overrides, checked: boolean): void {
        void this.verdict(stack, overrides, checked);
    }

    /**
     * Hands the request at once to the worker with the least work in hand: each worker queues its own, so a thread
     * never waits for this one (busy with a synchronous property) to give it the next.
     */
    private send(request: Request): Promise<Verdict> {
        const worker = this.inHand.indexOf(Math.min(...this.inHand));
        const cost = estimatedCost(request.overrides);
        this.inHand[worker] += cost;
        this.workers[worker].postMessage(request);
        return new Promise<Verdict>((resolve) => this.waiting.set(request.id, { resolve, worker, cost }));
    }

    close(): Promise<number[]> {
        return Promise.all(this.workers.map((w) => w.terminate()));
    }
}

if (!isMainThread && workerData?.role === ROLE) {
    serve();
}
