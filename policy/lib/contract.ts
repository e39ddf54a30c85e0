/**
 * Names the pack shares with the program. The pack is published alone (`pulumi policy publish` packs only this
 * folder), so it cannot import them from components/; tests/unit/policy/policy.test.ts asserts each equals the program's.
 */

/** Namespace annotation with the PostgreSQL connections an application may open (components/labels.ts). */
export const CONNECTION_DEMAND_ANNOTATION = "data-platform.io/connection-demand";

/** The login Job's Secret (the PostgreSQL admin's password and every login's) and its service account
 *  (components/postgres/loginJobSpec.ts `LOGIN_JOB`). */
export const LOGIN_JOB_SECRET = "postgres-logins";
export const LOGIN_JOB_SERVICE_ACCOUNT = "postgres-logins";
