export { default as supervisorApp, type SupervisorDeps } from "./app.ts";
export { SupervisorService, type SupervisorOptions } from "./supervisor.service.ts";
export { SettingsWatcher } from "./settings-watcher.ts";
export { internalRoutes } from "./internal.routes.ts";
