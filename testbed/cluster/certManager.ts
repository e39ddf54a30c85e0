/**
 * cert-manager: a Certificate is issued at creation and re-issued `renewBefore` its expiry, with a new key
 * (`rotationPolicy: Always`), and the TLS Secret rewritten (cert-manager.io/docs/usage/certificate/#renewal).
 */
import type { IssuedCertificate } from "../issuer";
import { TYPES, secretKey } from "../plan";
import { goDurationSeconds } from "../timeline";
import type { HandlerTable } from "./applier";
import { CertificateState, ClusterState, Obj, objKey } from "./state";

/** Signs a new key valid `durationSeconds` from virtual time `now` (issuer.ts, or a double in unit tests). */
export type CertificateSigner = (now: number, durationSeconds: number) => IssuedCertificate;

export class CertManager {
    constructor(
        private readonly state: ClusterState,
        private readonly sign: CertificateSigner,
        /** After a Secret's content changed (the kubelet's `secretChanged`). */
        private readonly onSecretChanged: (target: string) => void,
    ) {}

    handlers(): HandlerTable {
        return {
            [TYPES.certificate]: {
                apply: async ({ resource, verb }) => {
                    await this.state.timeline.emit(
                        `cert-manager issues Certificate ${objKey(resource)} (${verb}d)`,
                        async () => {
                            this.issue(resource.inputs);
                        },
                    );
                    return true;
                },
            },
        };
    }

    /**
     * Issues the Certificate `body` and writes its TLS Secret.
     * @param notify whether the kubelet hears of the change (not in the settled first deploy)
     */
    issue(body: Obj, notify = true): IssuedCertificate {
        const key = secretKey(body.metadata.namespace, body.metadata.name);
        const state: CertificateState = this.state.certificates.get(key) ?? { spec: body.spec, issued: [] };
        this.state.certificates.set(key, state);
        const cert = this.sign(this.state.timeline.now, goDurationSeconds(body.spec.duration ?? "2160h"));
        state.issued.push(cert);
        const target = secretKey(body.metadata.namespace, body.spec.secretName);
        this.state.secrets.set(target, cert.files);
        if (notify) {
            this.onSecretChanged(target);
        }
        return cert;
    }

    /** Renews every Certificate `renewBefore` its expiry; the timeline then runs past the old expiry. */
    async renewAll(): Promise<void> {
        const { timeline } = this.state;
        for (const [key, state] of this.state.certificates) {
            const current = state.issued[state.issued.length - 1];
            const renewAt = current.notAfter - goDurationSeconds(state.spec.renewBefore ?? "720h");
            timeline.schedule(renewAt - timeline.now, `cert-manager renews Certificate ${key}`, async () => {
                const [namespace, name] = key.split("/");
                const cert = this.issue({ metadata: { namespace, name }, spec: state.spec });
                return { generation: cert.generation };
            });
            timeline.schedule(
                current.notAfter - timeline.now,
                `certificate ${key} generation ${current.generation} expires`,
                async () => undefined,
            );
        }
        await timeline.runUntil();
    }
}
