/**
 * Lifecycle scenario on real servers (prod, TLS): an application's Redis password rotated through `keyVault.rotations`, applied as `pulumi up`,
 * ESO and the kubelet would. A rotation must never hand out a password a server does not accept yet, and a pod that
 * still holds the previous one must keep connecting.
 */
import { rotationScenario } from "../support/lifecycle";

rotationScenario("an application's Redis password", ["redis-app-orders"]);
