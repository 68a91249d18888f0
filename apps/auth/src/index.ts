export { default as authApp, authServerOptions, type AuthDeps } from "./app.ts";
export { authEnvSchema, resolveJwtSecret, type AuthEnv } from "./config.ts";
export { createAuthRuntime, type AuthRuntime, type AuthRuntimeOptions } from "./runtime.ts";
export { AuthenticationService } from "./authn.service.ts";
export { AuditProducer, DirectAuditSink, AUDIT_STREAM } from "./audit.producer.ts";
export { AuditConsumer } from "./audit.consumer.ts";
export { auditEventSchema, type AuditEvent, type AuditEventInput, type AuditSink } from "./audit-event.ts";
export * from "@mcphub/contracts";
