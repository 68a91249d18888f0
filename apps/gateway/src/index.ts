export { default as gatewayApp, type GatewayDeps } from "./app.ts";
export { allowedHosts, LOOPBACK_HOSTS } from "./wires/origin-guard.ts";
export { MemorySessionStore, type SessionRecord, type SessionStore } from "./state/session.store.ts";
export { smartRoutingApi, type SmartRoutingApiDeps } from "./rest/smart-routing.routes.ts";
