export { default as gatewayApp, type GatewayDeps } from "./app.ts";
export { LOOPBACK_HOSTS } from "./origin-guard.ts";
export { MemorySessionStore, type SessionRecord, type SessionStore } from "./session.store.ts";
export { smartRoutingApi, type SmartRoutingApiDeps } from "./smart-routing.routes.ts";
