export * from "./remote-catalog.ts";
export * from "./remote-supervisor.ts";
export * from "./remote-authenticator.ts";
export * from "./caching-authenticator.ts";
export * from "./admin-check.ts";
export * from "./remote-router.ts";
