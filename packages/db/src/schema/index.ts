export * from "./settings-revisions.ts";
export * from "./users.ts";
export * from "./api-keys.ts";
export * from "./vector-embeddings.ts";
export * from "./audit-logs.ts";
