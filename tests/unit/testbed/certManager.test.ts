/** cert-manager in the testbed (testbed/cluster/certManager.ts): issue and renewal on virtual time, with a fake signer. */
import { strict as assert } from "assert";
import { CertManager } from "../../../testbed/cluster/certManager";
import type { IssuedCertificate } from "../../../testbed/issuer";
import { TYPES } from "../../../testbed/plan";
import { NAMESPACE, clusterState, eventLabels, resource } from "../../support/testbed";

const DAY = 86_400;

function setup() {
    const state = clusterState();
    const changed: string[] = [];
    let generation = 0;
    const sign = (now: number, seconds: number): IssuedCertificate => {
        generation++;
        return {
            generation,
            files: { "tls.crt": `cert ${generation}`, "tls.key": `key ${generation}`, "ca.crt": "ca" },
            fingerprint: `fp${generation}`,
            notBefore: now,
            notAfter: now + seconds,
        };
    };
    return { state, changed, certManager: new CertManager(state, sign, (t) => changed.push(t)) };
}

const certificate = resource(TYPES.certificate, "redis-tls", {
    metadata: { namespace: NAMESPACE, name: "redis-tls" },
    spec: { secretName: "redis-tls", duration: "2160h", renewBefore: "720h" },
});

describe("testbed cert-manager controller (cert-manager.io: renewal, rotationPolicy Always)", () => {
    it("issues a Certificate into its TLS Secret, and tells the kubelet except in the settled first deploy", async () => {
        const { state, changed, certManager } = setup();
        const first = certManager.issue(certificate.inputs, false);
        assert.equal(first.notAfter, 90 * DAY);
        assert.deepEqual(changed, []);
        await certManager.handlers()[TYPES.certificate].apply!({
            resource: certificate,
            verb: "update",
            name: "redis-tls",
            plan: state.plan,
        });
        assert.equal(state.secrets.get(`${NAMESPACE}/redis-tls`)?.["tls.key"], "key 2", "a new key each time");
        assert.deepEqual(changed, [`${NAMESPACE}/redis-tls`]);
        assert.equal(state.certificates.get(`${NAMESPACE}/redis-tls`)?.issued.length, 2);
    });

    it("renews renewBefore the expiry, then lets the old certificate expire", async () => {
        const { state, certManager } = setup();
        certManager.issue(certificate.inputs, false);
        await certManager.renewAll();
        assert.deepEqual(eventLabels(state), [
            `+${60 * DAY}s cert-manager renews Certificate ${NAMESPACE}/redis-tls`,
            `+${90 * DAY}s certificate ${NAMESPACE}/redis-tls generation 1 expires`,
        ]);
        assert.deepEqual(state.timeline.events[0].detail, { generation: 2 });
        assert.equal(state.secrets.get(`${NAMESPACE}/redis-tls`)?.["tls.crt"], "cert 2");
    });
});
