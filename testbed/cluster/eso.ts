/**
 * External Secrets: an ExternalSecret is reconciled at once when it is created or its object changes (spec or
 * metadata, e.g. an annotation), otherwise at its next `refreshInterval`; `creationPolicy: Owner` makes the Secret
 * go with it (external-secrets.io docs, "Lifecycle" and "Owner"). A reconcile whose remote secret is missing fails
 * and is retried with a short backoff: modelled as a retry when Key Vault gets it. A reconcile reads each remote
 * key's newest version, or the one `remoteRef.version` pins.
 */
import type { RecordedResource } from "../../offline/mockEngine";
import { TYPES, secretKey } from "../plan";
import { goDurationSeconds } from "../timeline";
import type { HandlerTable } from "./applier";
import { ClusterState, Obj, VaultSecret, objKey } from "./state";

/**
 * The refresh is periodic, counted from each ExternalSecret's own last refresh whatever else writes (external-secrets
 * v2.9.0 `externalsecret_controller.go`, limits-and-pitfalls §8), so it falls due at any moment after a Key Vault write:
 * modelled at the earliest, right after it (what a change in steps must survive), and then a full interval later.
 */
const EARLIEST_REFRESH_SECONDS = 1;

/**
 * What ESO would write into the target Secret from `vault` now; an error when a remote key, pinned version or property
 * is missing.
 */
export function esoData(
    vault: ReadonlyMap<string, Pick<VaultSecret, "value" | "versions">>,
    body: Obj,
): Record<string, string> {
    // Templates (apps[].env) and Merge (apps[].adoptSecret) are not modelled here: tests/support/esoOperator.ts is.
    const target = body.spec.target ?? {};
    if (target.template !== undefined || target.creationPolicy === "Merge") {
        throw new Error(
            `ExternalSecret ${body.metadata.name}: target.template and creationPolicy Merge are not simulated`,
        );
    }
    const out: Record<string, string> = {};
    for (const d of body.spec.data ?? []) {
        const remote = vault.get(d.remoteRef.key);
        if (!remote) {
            throw new Error(`Key Vault has no secret ${d.remoteRef.key}`);
        }
        const pinned = d.remoteRef.version;
        const value = pinned === undefined ? remote.value : remote.versions?.get(pinned);
        if (value === undefined) {
            throw new Error(`Key Vault secret ${d.remoteRef.key} has no version ${pinned}`);
        }
        if (d.remoteRef.property === undefined) {
            out[d.secretKey] = value;
        } else {
            const parsed = JSON.parse(value);
            if (!(d.remoteRef.property in parsed)) {
                throw new Error(`Key Vault secret ${d.remoteRef.key} has no property ${d.remoteRef.property}`);
            }
            out[d.secretKey] = String(parsed[d.remoteRef.property]);
        }
    }
    for (const d of body.spec.dataFrom ?? []) {
        const remote = vault.get(d.extract?.key);
        if (!remote) {
            throw new Error(`Key Vault has no secret ${d.extract?.key}`);
        }
        Object.assign(out, JSON.parse(remote.value));
    }
    return out;
}

/** The Key Vault secrets an ExternalSecret reads. */
export function reads(body: Obj | undefined): string[] {
    const spec = body?.spec ?? {};
    return [
        ...(spec.data ?? []).map((d: Obj) => d.remoteRef.key),
        ...(spec.dataFrom ?? []).map((d: Obj) => d.extract?.key),
    ];
}

export class ExternalSecrets {
    constructor(
        private readonly state: ClusterState,
        /** After a Secret's content changed (the kubelet's `secretChanged`). */
        private readonly onSecretChanged: (target: string) => void,
    ) {}

    handlers(): HandlerTable {
        return {
            [TYPES.externalSecret]: {
                apply: async ({ resource, verb }) => {
                    const key = objKey(resource);
                    this.state.externalSecrets.set(key, { urn: resource.urn, body: resource.inputs });
                    const event = await this.state.timeline.emit(
                        `ESO reconciles ExternalSecret ${key} (${verb}d)`,
                        async () => ({ changedKeys: this.sync(key) }),
                    );
                    return event.failures.length === 0 || !event.failures.some((f) => f.startsWith("ESO"));
                },
                remove: (r) => this.remove(r),
            },
        };
    }

    /** The first deploy, settled: the ExternalSecret exists and its Secret is synced (no kubelet event). */
    bootstrap(r: RecordedResource): void {
        this.state.externalSecrets.set(objKey(r), { urn: r.urn, body: r.inputs });
        this.sync(objKey(r), false);
    }

    /**
     * One reconcile; returns the Secret keys that changed, or the error that failed it.
     * @param notify whether the kubelet hears of the change (not in the settled first deploy)
     */
    sync(key: string, notify = true): string[] | { syncError: string } {
        const { state } = this;
        const es = state.externalSecrets.get(key);
        if (!es) {
            return [];
        }
        const target = secretKey(es.body.metadata.namespace, es.body.spec.target?.name ?? es.body.metadata.name);
        let data: Record<string, string>;
        try {
            data = esoData(state.vault, es.body);
            state.erroring.delete(key);
        } catch (err) {
            state.erroring.add(key);
            return { syncError: (err as Error).message };
        }
        const old = state.secrets.get(target);
        const changed = Object.keys({ ...old, ...data }).filter((k) => old?.[k] !== data[k]);
        if (changed.length > 0) {
            state.secrets.set(target, data);
            if (notify) {
                this.onSecretChanged(target);
            }
        }
        return changed.sort();
    }

    /**
     * Key Vault holds a new version of `vaultSecret`: ESO reads it at each reader's next refresh (right after the write
     * at the earliest, a full interval at the latest), and at once where a reconcile failed for want of it.
     */
    async vaultSecretWritten(vaultSecret: string): Promise<void> {
        const { state } = this;
        await state.timeline.emit(`Key Vault: new version of ${vaultSecret}`, async () => {
            this.scheduleRefreshes(vaultSecret);
        });
        const retry = [...state.erroring].filter((k) =>
            reads(state.externalSecrets.get(k)?.body).includes(vaultSecret),
        );
        for (const key of retry) {
            await state.timeline.emit(
                `ESO retries ExternalSecret ${key} (its Key Vault secret exists now)`,
                async () => ({
                    changedKeys: this.sync(key),
                }),
            );
        }
    }

    private scheduleRefreshes(vaultSecret: string): void {
        for (const [key, es] of this.state.externalSecrets) {
            if (!reads(es.body).includes(vaultSecret)) {
                continue;
            }
            const interval = es.body.spec.refreshInterval ?? "1h";
            const refreshes: [number, string][] = [
                [EARLIEST_REFRESH_SECONDS, `its refreshInterval ${interval} falls due just after the write`],
                [EARLIEST_REFRESH_SECONDS + goDurationSeconds(interval), `refreshInterval ${interval} later`],
            ];
            for (const [delay, when] of refreshes) {
                const label = `ESO refreshes ExternalSecret ${key} (${when})`;
                if (!this.state.timeline.pending(label)) {
                    this.state.timeline.schedule(delay, label, async () => ({ changedKeys: this.sync(key) }));
                }
            }
        }
    }

    private async remove(r: RecordedResource): Promise<void> {
        const key = objKey(r);
        const es = this.state.externalSecrets.get(key);
        this.state.externalSecrets.delete(key);
        const policy = es?.body.spec.target?.creationPolicy ?? "Owner";
        const target = secretKey(r.inputs.metadata.namespace, es?.body.spec.target?.name ?? r.inputs.metadata.name);
        await this.state.timeline.emit(`ExternalSecret ${key} deleted (creationPolicy ${policy})`, async () => {
            if (policy === "Owner") {
                this.state.secrets.delete(target);
                // Pods that mount it optionally (a tenant stack's users file) lose its files at the kubelet's next sync.
                this.onSecretChanged(target);
                return { secretDeleted: target };
            }
            return { secretKept: target };
        });
    }
}
