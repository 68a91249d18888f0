export { default as supervisorApp, type SupervisorDeps } from "./app.ts";
export { SupervisorService, type SupervisorOptions } from "./supervisor.service.ts";
export { SettingsService, type CurrentSettings } from "./settings.service.ts";
export { SettingsRepository } from "./settings.repository.ts";
export { internalRoutes } from "./internal.routes.ts";
