export * from "./remote-catalog.ts";
export * from "./remote-supervisor.ts";
