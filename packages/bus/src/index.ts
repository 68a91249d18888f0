export * from "./bus.ts";
export * from "./memory-bus.ts";
export * from "./redis-bus.ts";
export * from "./audit-stream.ts";
