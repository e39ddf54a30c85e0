/**
 * PostgreSQL facts the pack owns and the program imports (components/postgres/configRules.ts). The pack is published
 * alone (`pulumi policy publish` packs only this folder), so it cannot import from components/; the program, in the
 * same repository, can import from here. So the config rule that refuses a stack and the policy that judges its
 * recorded graph read one definition.
 */

/** Connections PostgreSQL keeps from applications, by `postgres.mode`. */
export const RESERVED_CONNECTIONS = {
    /** Azure's `reserved_connections` + `superuser_reserved_connections` (Microsoft's concepts-limits.md). */
    azure: 15,
    /** StackGres: `superuser_reserved_connections` plus Patroni and monitoring sessions. */
    stackgres: 10,
} as const;
