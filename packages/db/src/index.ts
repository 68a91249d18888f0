export * from "./schema/index.ts";
export * from "./client.ts";
export * from "./audit-rows.ts";
