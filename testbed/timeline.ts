/**
 * Virtual time for the lifecycle harness: the delays of Kubernetes, External Secrets and cert-manager (kubelet
 * sync, refresh intervals, renewal) are modelled as an ordered queue of events, never slept. Real servers only
 * take the real time their own work needs; the clock moves only from one queued event to the next.
 */

export interface TimelineEvent {
    /** Virtual seconds since the change was applied. */
    readonly at: number;
    readonly event: string;
    /** What the event did that a reader needs (pod restarted, Secret keys changed, seconds to healthy...). */
    readonly detail?: Record<string, unknown>;
    /** Every check that failed right after the event, each saying which app or server, and which credential. */
    readonly failures: string[];
    /** Real milliseconds the event's own work and its checks took. */
    readonly realMs: number;
}

interface Queued {
    readonly at: number;
    readonly seq: number;
    readonly label: string;
    readonly run: () => Promise<Record<string, unknown> | void>;
}

/** Runs after every event; returns the failures it found. */
export type Checker = (event: string) => Promise<string[]>;

export class Timeline {
    private clock = 0;
    private seq = 0;
    private readonly queue: Queued[] = [];
    readonly events: TimelineEvent[] = [];

    constructor(
        private readonly check: Checker,
        private readonly onEvent: (e: TimelineEvent) => void = () => undefined,
    ) {}

    get now(): number {
        return this.clock;
    }

    /** Queues `run` at `now + delaySeconds`; events at the same time run in the order they were queued. */
    schedule(delaySeconds: number, label: string, run: Queued["run"]): void {
        this.queue.push({ at: this.clock + delaySeconds, seq: this.seq++, label, run });
        this.queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
    }

    /** True when an event with this label is queued (so a second identical one is not). */
    pending(label: string): boolean {
        return this.queue.some((q) => q.label === label);
    }

    /** Runs one event now (real work, no virtual delay), then every check; records and reports it. */
    async emit(label: string, run: Queued["run"]): Promise<TimelineEvent> {
        const started = Date.now();
        let detail: Record<string, unknown> | undefined;
        const failures: string[] = [];
        try {
            detail = (await run()) ?? undefined;
        } catch (err) {
            failures.push(`${label}: ${err instanceof Error ? err.message : String(err)}`);
        }
        failures.push(...(await this.check(label)));
        const event: TimelineEvent = {
            at: this.clock,
            event: label,
            ...(detail ? { detail } : {}),
            failures,
            realMs: Date.now() - started,
        };
        this.events.push(event);
        this.onEvent(event);
        return event;
    }

    /**
     * Runs queued events in time order until `done()` holds or the next event lies beyond `now + limitSeconds`
     * (then the clock stops at that limit). Without `done`, drains everything within the limit.
     * @returns whether `done()` held
     */
    async runUntil(done: () => boolean = () => false, limitSeconds = Infinity): Promise<boolean> {
        const limit = this.clock + limitSeconds;
        while (!done()) {
            const next = this.queue[0];
            if (!next || next.at > limit) {
                if (Number.isFinite(limit)) {
                    this.clock = Math.max(this.clock, limit);
                }
                return done();
            }
            this.queue.shift();
            this.clock = next.at;
            await this.emit(next.label, next.run);
        }
        return true;
    }
}

/** A Go duration (`1h`, `15m`, `1h30m`, `90s`, `2160h`) in seconds. */
export function goDurationSeconds(duration: string): number {
    const units: Record<string, number> = { h: 3600, m: 60, s: 1 };
    const parts = [...duration.matchAll(/(\d+(?:\.\d+)?)(h|m|s)/g)];
    if (parts.length === 0 || parts.map((p) => p[0]).join("") !== duration) {
        throw new Error(`not a duration: ${JSON.stringify(duration)}`);
    }
    return parts.reduce((sum, [, n, unit]) => sum + Number(n) * units[unit], 0);
}
