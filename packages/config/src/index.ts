export * from "./env.ts";
export * from "./expand.ts";
export * from "./settings.ts";
export * from "./settings-file.ts";
export * from "./stdio-env.ts";
