export * from "./upstream.ts";
export * from "./catalog.ts";
export * from "./call.ts";
export * from "./supervisor-port.ts";
export * from "./events.ts";
export * from "./internal-api.ts";
export * from "./errors.ts";
export * from "./router-api.ts";
