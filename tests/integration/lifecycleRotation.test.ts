/**
 * Lifecycle scenarios on real servers (prod, TLS): each credential kind rotated through `keyVault.rotations`, applied
 * as `pulumi up`, ESO and the kubelet would. A rotation must never hand out a password a server does not accept yet,
 * and a pod that still holds the previous one must keep connecting.
 */
import { rotationScenarios } from "../support/lifecycle";

// The platform's Redis credentials: lifecycleRotationRedis.test.ts (one file each, so mocha runs them in parallel).

rotationScenarios("lifecycle on real servers: credential rotation (prod)", [
    { what: "an application's PostgreSQL password", ids: ["pg-app-orders"] },
    { what: "the PostgreSQL admin password (pg-admin)", ids: ["pg-admin"] },
    { what: "an application's Redis password", ids: ["redis-app-orders"] },
]);
