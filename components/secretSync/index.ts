/** External Secrets: the operator, the stores, and one ExternalSecret per synced Secret. */
export * from "./secretSync";
export * from "./spec";
