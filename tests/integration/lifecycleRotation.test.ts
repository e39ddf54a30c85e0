/**
 * Lifecycle scenarios on real servers (prod, TLS): each credential kind rotated through `keyVault.rotations`, applied
 * as `pulumi up`, ESO and the kubelet would. A rotation must never hand out a password a server does not accept yet,
 * and a pod that still holds the previous one must keep connecting.
 */
import { rotationScenarios } from "../support/lifecycle";

// The Redis rotations fail today and run from tests/lifecycle-open/ (`npm run test:lifecycle-open`).

rotationScenarios("lifecycle on real servers: credential rotation (prod)", [
    { what: "an application's PostgreSQL password", ids: ["pg-app-orders"] },
    { what: "the PostgreSQL admin password (pg-admin)", ids: ["pg-admin"] },
]);
