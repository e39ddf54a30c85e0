/**
 * Names the pack shares with the program. The pack is published alone (`pulumi policy publish` packs only this
 * folder), so it cannot import them from components/; tests/policy.test.ts asserts each equals the program's.
 */

/** Namespace annotation with the PostgreSQL connections an application may open (components/labels.ts). */
export const CONNECTION_DEMAND_ANNOTATION = "data-platform.io/connection-demand";
